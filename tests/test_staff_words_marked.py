"""The staff, panel and Mailbox pages are ready for translating: every word they show is marked.

Each page is rendered with a pseudo-language installed, whose every string is the English wrapped in
⟦…⟧. Whatever is left outside the marks, once the test's own data is taken out (names, the company's
name, what the dispute says, dates and amounts), is a word nobody could translate. The pages below
are the ones fully marked; a page added here must be marked to pass. Not yet listed: Settings, and
the panel's pages that show the verbs' own sentences (the vote's choice, the team's
result, a link's problem), which resolver/services writes.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from babel.support import NullTranslations
from flask_babel import get_babel
from sqlalchemy import select

from resolver.actors import Actor
from resolver.extensions import db
from resolver.languages import LANGUAGES
from resolver.links import PUBLIC_ADDRESS
from resolver.mail import send_pending
from resolver.mailcatcher import list_messages, read_message, start_mail_catcher
from resolver.models import PanelSeat, Property, Resident, StaffUser, Submission, Unit
from resolver.services import panel, portfolio_csv
from resolver.services.categories import categories_of, phrases_of
from resolver.services.company_evidence import company_side_problem
from resolver.workflow.engine import dispute_engine

from .conftest import free_port
from .dispute_checks import emails

_MARKED = re.compile(r"⟦[^⟦⟧]*⟧")
_WORD = re.compile(r"[A-Za-z]{2,}")
# Days and moments, which resolver.workdays writes in each language's own way ("Friday 14 March 2026",
# "3 March"; "Thu 3 Dec, 3:04 AM" is the Mailbox's, in Babel's words), and the time left to a deadline,
# which resolver.presentation writes (its words are not the staff pages' own: they are marked with it).
_MONTH = "(?:January|February|March|April|May|June|July|August|September|October|November|December)"
_MOMENTS = re.compile(
    r"\b[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2}, \d{1,2}:\d\d [AP]M\b"
    r"|\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday) \d{1,2} " + _MONTH + r" \d{4}\b"
    r"|\b\d{1,2} " + _MONTH + r"\b"
    r"|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}\b"  # a month under a report's chart
    r"|\b(?:due in|overdue by) \d+ (?:hours?|days?)\b"
    r"|\b\d+(?:\.\d)? (?:MB|KB|bytes)\b"  # a file's size, as resolver.uploads writes it
)


class Pseudo(NullTranslations):
    """A language that is English in ⟦…⟧: what a page shows outside the marks was never translated."""

    def gettext(self, message):
        return f"⟦{message}⟧"

    def ngettext(self, singular, plural, n):
        return f"⟦{singular if n == 1 else plural}⟧"

    def pgettext(self, context, message):
        return self.gettext(message)

    def npgettext(self, context, singular, plural, n):
        return self.ngettext(singular, plural, n)

    ugettext, ungettext, upgettext, unpgettext = gettext, ngettext, pgettext, npgettext


class MainText(HTMLParser):
    """The text nodes inside <main>, as a reader sees them (no scripts, no styles)."""

    def __init__(self):
        super().__init__()
        self.depth = 0
        self.skipping = 0
        self.pieces: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "main":
            self.depth += 1
        elif tag in ("script", "style"):
            self.skipping += 1

    def handle_endtag(self, tag):
        if tag == "main":
            self.depth -= 1
        elif tag in ("script", "style"):
            self.skipping -= 1

    def handle_data(self, data):
        if self.depth and not self.skipping:
            self.pieces.append(data)


def unmarked_words(html: str, data: list[str]) -> list[str]:
    """The words of <main> outside every ⟦…⟧ and not the test's own ``data``."""
    parser = MainText()
    parser.feed(html)
    text = "\n".join(parser.pieces)
    assert "⟦" in text, "the pseudo-language was not installed"
    while _MARKED.search(text):
        text = _MARKED.sub(" ", text)
    for value in sorted(filter(None, data), key=len, reverse=True):
        text = text.replace(value, " ")
    text = _MOMENTS.sub(" ", text)
    return [line.strip() for line in text.splitlines() if _WORD.search(line)]


@pytest.fixture
def pseudo_language(app):
    """Every English string the pages ask for comes back as ⟦English⟧ (Python's and the templates')."""
    domain = get_babel(app).instance.domain_instance
    with app.app_context():
        domain.cache[("en", domain.domain[0])] = Pseudo()
    yield
    domain.cache.pop(("en", domain.domain[0]), None)


def _workflow_words() -> list[str]:
    """The workflow's names for its states (workflows/dispute.yaml: data the pages show, not their words)."""
    definition = dispute_engine.definition
    return [*(state.label for state in definition.states.values()),
            *(name.replace("_", " ") for name in definition.transitions)]


def _people_and_case(dispute) -> list[str]:
    """What a page may show of the test's own data: people, company, property, the case's words, and
    the words the workflow and the company's categories give it."""
    resident, company = dispute.resident, dispute.company
    values = [*_workflow_words(), phrases_of(dispute).label, company.name, dispute.manager.name,
              dispute.manager.email, resident.name, resident.email, company.contact_phone or "", dispute.issue or "",
              dispute.what_was_fixed or "", dispute.company_position or "", dispute.category or ""]
    if dispute.unit is not None:
        values += [dispute.unit.label, dispute.unit.property.name]
    values += db.session.scalars(select(Property.name).where(Property.company_id == company.id)).all()
    values += db.session.scalars(select(StaffUser.name).where(StaffUser.company_id == company.id)).all()
    for item in dispute.items:
        values += [item.description, item.company_reason]
    for submission in db.session.scalars(select(Submission).where(Submission.dispute_id == dispute.id)):
        values += [submission.details, submission.suggested_resolution,
                   *map(str, submission.item_responses.values())]
        values += [file.original_name for file in submission.files]
    return values


# The pages: each builds its case and returns (a client that may read it, the page's path, its data) ----

PAGES = {}


def page(name: str):
    def register(build):
        PAGES[name] = build
        return build
    return register


@page("panel: vote")
def _vote_page(request):
    client, manager = request.getfixturevalue("client"), request.getfixturevalue("manager")
    dispute = request.getfixturevalue("make_dispute")("evidence_received")
    members = request.getfixturevalue("make_panel")(dispute.company, size=3)
    panel.seat_panel(Actor.staff(manager), dispute, [m.id for m in members])
    panel.send_to_panel(Actor.staff(manager), dispute)
    db.session.commit()
    invitation = emails(dispute, "panel_invitation")[0]
    path = re.search(re.escape(PUBLIC_ADDRESS) + r"(/p/v/\S+)", invitation.body_text).group(1)
    member = next(m for m in members if m.email == invitation.to_addr)
    return client, path, _people_and_case(dispute) + [member.name, member.organisation]


def _caught_mail(request):
    """A signed-in manager and one email of theirs, caught by the Mailbox."""
    app, manager = request.getfixturevalue("app"), request.getfixturevalue("manager")
    app.config["LOCAL_MAIL_PORT"] = free_port()
    catcher = start_mail_catcher(app)
    request.addfinalizer(catcher.stop)
    dispute = request.getfixturevalue("make_dispute")("awaiting_evidence")
    db.session.commit()
    assert send_pending() >= 1
    [caught, *_] = list_messages(company_id=manager.company_id)
    staff = request.getfixturevalue("signed_in_client")(manager)
    message = read_message(caught.id)
    data = _people_and_case(dispute) + [manager.name, message.subject, message.to, message.sender,
                                        message.reply_to or "", message.message_id]
    # The email's own words, which the page shows with each link made a link.
    for line in message.text.splitlines():
        data += [*re.split(r"(https?://[^\s<>\"']+)", line)]
    return staff, caught, data


@page("mailbox: inbox")
def _inbox(request):
    staff, _caught, data = _caught_mail(request)
    return staff, "/mailbox/", data


@page("mailbox: an email")
def _email(request):
    staff, caught, data = _caught_mail(request)
    return staff, f"/mailbox/{caught.id}", data


def _staff(request, role: str = "manager"):
    user = request.getfixturevalue(role)
    return request.getfixturevalue("signed_in_client")(user), user


@page("staff: sign in")
def _sign_in(request):
    return request.getfixturevalue("client"), "/login", []


def _dashboard(request, state: str = "awaiting_evidence", role: str = "manager"):
    dispute = request.getfixturevalue("make_dispute")(state)
    db.session.commit()
    staff, user = _staff(request, role)
    return staff, "/", _people_and_case(dispute) + [user.name, dispute.company.time_zone]


page("staff: dashboard")(_dashboard)
page("staff: dashboard, a team reviewing")(lambda request: _dashboard(request, "panel_review"))
page("staff: dashboard, as supervisor")(lambda request: _dashboard(request, role="supervisor"))


def _dispute_page(request, state: str):
    dispute = request.getfixturevalue("make_dispute")(state, items=[{"description": "Carpet cleaning", "amount_cents": 15000, "company_reason": "Stains in the bedroom"}])
    db.session.commit()
    staff, user = _staff(request)
    members = [seat.member for seat in db.session.scalars(select(PanelSeat).where(PanelSeat.dispute_id == dispute.id))]
    data = [user.name, *(m.name for m in members), *(m.organisation for m in members)]
    data += [text for email in emails(dispute) for text in (email.subject, email.to_name, email.to_addr)]
    # Sentences the verbs write (resolver.services: marked there, collected with what residents read).
    data.append(company_side_problem(dispute) or "")
    return staff, f"/disputes/{dispute.id}", _people_and_case(dispute) + data


@page("staff: dispute, waiting for the resident")
def _dispute_waiting(request):
    return _dispute_page(request, "awaiting_evidence")


@page("staff: dispute, with the team")
def _dispute_with_team(request):
    return _dispute_page(request, "panel_review")


def _company_data(company) -> list[str]:
    """Everything of the company's own a list or a form may show: its people, places and categories,
    and the languages a resident may prefer (resolver.languages names them)."""
    values = [company.name, company.time_zone, *LANGUAGES.values(), *(c.label for c in categories_of(company))]
    for prop in db.session.scalars(select(Property).where(Property.company_id == company.id)):
        values += [prop.name, prop.address, prop.portfolio, prop.external_id or ""]
        values += [unit.label for unit in db.session.scalars(select(Unit).where(Unit.property_id == prop.id))]
    for person in db.session.scalars(select(Resident).where(Resident.company_id == company.id)):
        values += [person.name, person.email or "", person.phone or "", person.external_id or ""]
    values += db.session.scalars(select(StaffUser.name).where(StaffUser.company_id == company.id)).all()
    return [value for value in values if value]


def _portfolio_page(request, path):
    """A staff page about the company's properties and residents, with one dispute on file."""
    dispute = request.getfixturevalue("make_dispute")("awaiting_evidence")
    db.session.commit()
    staff, _user = _staff(request)
    where = {"resident": dispute.resident_id, "property": dispute.unit.property_id}
    return staff, path.format(**where), _company_data(dispute.company) + _people_and_case(dispute) + _csv_names()


def _csv_names() -> list[str]:
    """The import's column names and the other names it reads them from: the file's words, not the page's."""
    names = [*portfolio_csv.COLUMNS]
    for column, aliases in portfolio_csv.ALIASES.items():
        names += [alias.title().replace(" Id", " ID") for alias in aliases]
    return sorted(names, key=len, reverse=True)


for _name, _path in {
    "staff: residents": "/residents", "staff: a resident": "/residents/{resident}",
    "staff: properties": "/properties", "staff: a property": "/properties/{property}",
    "staff: add a property": "/properties/new", "staff: open a dispute": "/disputes/new",
    "staff: import": "/import", "staff: add a resident": "/residents/new",
    "staff: erase a resident": "/residents/{resident}/erase", "staff: unmatched mail": "/mail/unmatched",
}.items():
    page(_name)(lambda request, path=_path: _portfolio_page(request, path))


@page("staff: reports")
def _reports(request):
    dispute = request.getfixturevalue("make_dispute")("awaiting_evidence")
    db.session.commit()
    staff, user = _staff(request)
    return staff, "/reports", _people_and_case(dispute) + [user.name]


@page("staff: forgot password")
def _forgot_password(request):
    return request.getfixturevalue("client"), "/forgot-password", []


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_word_on_the_page_is_marked_for_translating(name, request):
    client, path, data = PAGES[name](request)
    request.getfixturevalue("pseudo_language")
    response = client.get(path)
    assert response.status_code == 200
    assert unmarked_words(response.get_data(as_text=True), data) == []
