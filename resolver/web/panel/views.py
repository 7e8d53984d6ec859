"""The panel member's pages behind their personal vote link (/p/v/<token>...): the frozen case packet
with a vote form ("voting as <name>"), stepping aside, the evidence files, and, when the team is
split, the chair's form to decide.

Members have no account: the link is the key. It is checked, and its use logged, before anything
else runs. It keeps working after the review closes, to show the member their vote and the team's
result; a vote, step or decision that arrives too late gets that page, kindly, with nothing changed.
Mail scanners open links seconds after delivery, so GET and HEAD only read; only a POST from the
page, carrying its CSRF token, records a vote. A forwarded link still votes as the person
it was sent to, and the page says who that is.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ...actors import Actor
from ...clock import now_utc
from ...errors import DeadlinePassed, DomainError, InvalidInput, LinkError, WrongState
from ...extensions import db
from ...links import TooManySends
from ...models import COMPANY_SIDE, RESIDENT_SIDE, AccessLink, CasePacket, Dispute, EvidenceFile, PanelSeat, Unit, Vote
from ...services import panel as panels
from ...uploads import served_name
from ...workdays import format_moment
from ...workflow.engine import dispute_engine
from ..downloads import send_stored
from ..fields import PageForm
from ..link_pages import check_link, too_many_sends_page
from ..unit_of_work import unit_of_work
from . import blueprint
from .forms import ITEM_OPTIONS, DecideForm, StepAsideForm, VoteForm

WORKFLOW = dispute_engine.definition

ENDPOINTS = frozenset(f"panel.{name}" for name in ("vote_page", "cast_vote", "step_aside", "evidence_file", "decide"))


# The link, checked before anything else --------------------------------------------------------

@blueprint.url_value_preprocessor
def _resolve_vote_link(endpoint: str | None, values: dict | None) -> None:
    # Runs before every before_request, CSRF's included, so a dead link never reaches a form. The use
    # is logged (in its own transaction) whatever happens next, the vote's fate included.
    check_link(endpoint, values, endpoints=ENDPOINTS, purpose="vote", holder_problem=_not_a_seat)


def _not_a_seat(link: AccessLink) -> LinkError | None:
    if link.seat_id is None:
        return LinkError(_("This link is not a team member's link."), reason="wrong-person")
    return None


@blueprint.before_request
def _refuse_unusable_link():
    if request.endpoint in ENDPOINTS and g.get("link_problem") is not None:
        return _link_problem_page(g.link_problem)
    return None


@blueprint.after_request
def _keep_out_of_search_engines(response):
    # A member's page is theirs alone (caching, framing and Referer: resolver.web.security_headers).
    if request.endpoint in ENDPOINTS:
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _link_problem_page(problem: LinkError):
    link: AccessLink | None = getattr(problem, "link", None)
    dispute = db.session.get(Dispute, link.dispute_id) if link is not None else None
    seat = db.session.get(PanelSeat, link.seat_id) if link is not None and link.seat_id else None
    if isinstance(problem, TooManySends):
        vote = db.session.scalars(select(Vote).where(Vote.seat_id == seat.id)).first()
        return too_many_sends_page("panel/too_many_votes.html", problem, dispute=dispute, company=dispute.company,
                                   seat=seat, member=seat.member, vote=vote)
    status = 410 if problem.reason in ("expired", "revoked") else 403 if dispute else 404
    return render_template(
        "panel/link_problem.html", problem=problem, dispute=dispute, seat=seat, link=link,
        company=dispute.company if dispute else None, correction_over=_correction_over(problem, link, dispute),
    ), status


def _correction_over(problem: LinkError, link: AccessLink | None, dispute: Dispute | None) -> panels.CallRecord | None:
    """The call's record, when ``link`` is a link to correct it whose time has passed (a link that
    lived only as long as a correction may; an invitation's lives until after the review)."""
    if problem.reason != "expired" or link is None or link.seat_id is None:
        return None
    if link.expires_dt - link.created_dt > WORKFLOW.panel.call_correction_time:
        return None
    return panels.call_records(dispute).get(link.seat_id)


@blueprint.errorhandler(CSRFError)
def _form_expired(error: CSRFError):
    """The page's security token was missing or stale: show the page again with what was typed."""
    if request.endpoint not in ENDPOINTS:
        return error
    if g.get("link_problem") is not None:
        return _link_problem_page(g.link_problem)
    message = _("For your safety, this page needs to be sent again. Nothing was saved yet. What you wrote is "
                "still below; please check it and press the button once more.")
    return _shown_again(InvalidInput(message), **request.view_args, status=400)


# What the page shows -----------------------------------------------------------------------------

@dataclass
class MemberView:
    """One member's view of one case, through their own link."""

    link: AccessLink
    seat: PanelSeat
    dispute: Dispute
    packet: CasePacket | None
    vote: Vote | None
    now: datetime

    @classmethod
    def load(cls) -> MemberView:
        """The member's seat and case."""
        seat = _seat()
        # The company, the manager, the resident and the property in the same query: the page and the
        # conflict-of-interest check read them all.
        dispute = db.session.get(Dispute, seat.dispute_id, options=[
            joinedload(Dispute.company), joinedload(Dispute.manager), joinedload(Dispute.resident),
            joinedload(Dispute.unit).joinedload(Unit.property),
        ])
        vote = db.session.scalars(select(Vote).where(Vote.seat_id == seat.id)).first()
        return cls(g.link, seat, dispute, panels.current_packet(dispute), vote, now_utc())

    @property
    def member(self):
        return self.seat.member

    @property
    def company(self):
        return self.dispute.company

    @property
    def is_reviewing(self) -> bool:
        """Whether the team is still reviewing the case (the workflow lets it be decided by the count)."""
        return WORKFLOW.can("decide", self.dispute.state)

    @property
    def is_open(self) -> bool:
        due = self.dispute.panel_due_dt
        return self.is_reviewing and self.seat.recused_dt is None and (due is None or self.now <= due)

    @property
    def is_over(self) -> bool:
        """Whether the team's review has ended: closed, or past its deadline before the sweep closed it."""
        due = self.dispute.panel_due_dt
        return self.dispute.panel_closed_dt is not None or (self.is_reviewing and due is not None and self.now > due)

    @property
    def call_record(self) -> panels.CallRecord | None:
        """How the member's vote came from a team call (None for a vote of their own)."""
        return panels.call_records(self.dispute).get(self.seat.id)

    @property
    def changes_until(self) -> str:
        """How long the member may change their vote, as the invitation promised it."""
        return until_the_review_closes(self.dispute)

    @property
    def team_result(self) -> str:
        """What the team's review came to, in a sentence, for a member who comes back after it ended."""
        dispute = self.dispute
        if dispute.decision and dispute.decided_by == "panel":
            result = panels.tally(dispute)
            return _("The team decided that %(decision)s (%(count)s of %(voted)s votes).",
                     decision=panels.CHOICE_LABELS[dispute.decision], count=result.counts[dispute.decision],
                     voted=result.voted)
        if dispute.decision:
            if dispute.decided_by == "chair":
                return _("The team was split, so the team's chair decided that %(decision)s.",
                         decision=panels.CHOICE_LABELS[dispute.decision])
            return _("The team was split, so %(manager)s decided that %(decision)s.",
                     manager=dispute.manager.name, decision=panels.CHOICE_LABELS[dispute.decision])
        manager = dispute.manager.name
        if dispute.panel_closed_dt is not None:
            chair = db.session.scalars(select(PanelSeat).where(
                PanelSeat.dispute_id == dispute.id, PanelSeat.is_chair.is_(True), PanelSeat.recused_dt.is_(None))).first()
            if chair is not None:
                return _("The team was split, so the team's chair will decide; %(manager)s will write to the resident.",
                         manager=manager)
            return _("The team was split, so %(manager)s will decide; %(manager)s will write to the resident.",
                     manager=manager)
        return _("The votes are being counted; %(manager)s will be told the team's result.", manager=manager)

    @property
    def is_chair_deciding(self) -> bool:
        return (WORKFLOW.can("manager_decides", self.dispute.state) and self.seat.is_chair
                and self.seat.recused_dt is None)

    @property
    def item_ids(self) -> list[int]:
        """The disputed items as the packet lists them (what the member reads and votes on)."""
        return [item["id"] for item in (self.packet.content.get("items") or [])] if self.packet else []

    def vote_form(self) -> VoteForm:
        """The vote form as the vote stands (empty before the first vote)."""
        vote = self.vote
        if vote is None:
            return VoteForm.for_items(self.item_ids, formdata=None)
        items = vote.item_choices or {}
        return VoteForm.for_items(self.item_ids, formdata=None, data={
            "choice": vote.choice, "reason": vote.reason, "token_kind": vote.token_kind,
            "token_amount": vote.token_cents, "concession_amount": vote.concession_cents,
            **{f"item-{item_id}": items.get(str(item_id), "") for item_id in self.item_ids},
        })

    @property
    def conflicts(self) -> list[str]:
        return panels.conflicts_for(self.dispute, self.member)

    def at(self, iso: str | None) -> str:
        """A moment the packet stores as text, in the company's time zone."""
        return format_moment(datetime.fromisoformat(iso), self.company) if iso else ""

    def context(self, **extra) -> dict:
        content = self.packet.content if self.packet else {}
        return {
            "view": self, "dispute": self.dispute, "company": self.company, "member": self.member,
            "seat": self.seat, "packet": self.packet, "case": content, "vote": self.vote,
            "token": request.view_args["token"], "choices": panels.CHOICE_LABELS, "item_options": ITEM_OPTIONS,
            "at": self.at, "company_files": panels.files_on(content, COMPANY_SIDE),
            "resident_files": panels.files_on(content, RESIDENT_SIDE), **extra,
        }


def until_the_review_closes(dispute: Dispute) -> str:
    """The sentence that says until when a vote can be changed (the invitation says the same)."""
    due = format_moment(dispute.panel_due_dt, dispute.company) if dispute.panel_due_dt else _("its deadline")
    if dispute.company.is_panel_closing_early:
        return _("You can change it until the review closes: at %(due)s at the latest, or sooner, as soon as the "
                 "team's result is clear.", due=due)
    return _("You can change it until the review closes: at %(due)s, or sooner once everyone on the team has voted.",
             due=due)


def _seat() -> PanelSeat:
    return g.link.seat  # loaded with the link, its member too


def _page(view: MemberView, *, problem: DomainError | None = None, sent: tuple[str, PageForm] | None = None,
          too_late: DomainError | None = None, status: int = 200):
    """The page with its forms; ``sent`` (the form's name on the page, and the form) is the one that
    came back refused, showing what was typed and, beside each field, what is wrong. ``too_late``: a
    vote, step or decision that arrived after the review ended, said kindly above the result."""
    forms = {"vote_form": view.vote_form(), "aside_form": StepAsideForm(formdata=None),
             "decide_form": DecideForm(formdata=None), "sent_form": None, "too_late": too_late}
    if sent is not None:
        name, form = sent
        if problem is not None:
            form.explain(problem)
        forms.update({name: form, "sent_form": form})
    return render_template("panel/vote.html", **view.context(**forms)), status


# The form each POST address reads, and its name on the page.
POSTED_FORMS = {
    "panel.cast_vote": ("vote_form", lambda: VoteForm.posted(request.form)),
    "panel.step_aside": ("aside_form", StepAsideForm),
    "panel.decide": ("decide_form", DecideForm),
}


def _read(build) -> PageForm:
    """The POSTed form, kept for showing it again if refused; a form with a problem is the refusal."""
    g.form = form = build()
    if not form.validate():
        raise form.refusal()
    return form


# Pages -------------------------------------------------------------------------------------------

@blueprint.get("/v/<token>")
def vote_page(token: str):
    return _page(MemberView.load())


def _shown_again(problem: DomainError, token: str, *, status: int | None = None, **_):
    """A refused vote, step or decision: the page again, with the message and what was typed."""
    view = MemberView.load()
    if view.is_over and isinstance(problem, (WrongState, DeadlinePassed)):
        # Not the member's mistake: the page says the review is complete, what stands, and that
        # nothing was changed.
        return _page(view, too_late=problem)
    name, build = POSTED_FORMS[request.endpoint]
    form = g.get("form")
    form = form if form is not None else build()
    return _page(view, problem=problem, sent=(name, form), status=status or problem.status_code)


@blueprint.post("/v/<token>")
@unit_of_work(refused=_shown_again)
def cast_vote(token: str):
    # Only the seat is read here: the vote's own checks read the dispute, under its lock. When the
    # same member's other tab got there first, the retry finds its vote and changes it.
    seat = _seat()
    form = _read(POSTED_FORMS["panel.cast_vote"][1])
    # One select per disputed item, named item-<id>; the vote checks each id is this dispute's.
    vote = panels.record_vote(Actor.panel(seat.member), seat, **form.for_verb())
    dispute = vote.dispute  # as the vote left it (closed, if it closed the panel)
    if WORKFLOW.can("decide", dispute.state):  # the team is still reviewing
        flash(_("Thank you, %(name)s. Your vote is recorded. %(until)s", name=seat.member.name,
                until=until_the_review_closes(dispute)), "success")
    else:
        flash(_("Thank you, %(name)s. Your vote is recorded, and with it the team's review is complete.",
                name=seat.member.name), "success")
    return redirect(url_for(".vote_page", token=token), code=303)


@blueprint.post("/v/<token>/step-aside")
@unit_of_work(refused=_shown_again)
def step_aside(token: str):
    form = _read(StepAsideForm)
    view = MemberView.load()
    panels.recuse(Actor.panel(view.member), view.seat, reason=form.recusal_reason.data)
    return render_template("panel/stepped_aside.html", **view.context())


@blueprint.post("/v/<token>/decide")
@unit_of_work(refused=_shown_again)
def decide(token: str):
    form = _read(DecideForm)
    view = MemberView.load()
    panels.decide_deadlock(Actor.panel(view.member), view.dispute, decision=form.decision.data,
                           note=form.note.data)
    return render_template("panel/decided.html", **MemberView.load().context())


@blueprint.get("/v/<token>/files/<int:file_id>")
def evidence_file(token: str, file_id: int):
    """A file from the packet's evidence list, always as a download of the copy the packet names."""
    view = MemberView.load()
    if not (view.is_open or view.is_chair_deciding):
        abort(404)  # the files are for reviewing; once the review is over the page no longer offers them
    listed = {e["id"]: e for e in (view.packet.content.get("evidence", []) if view.packet else [])}
    evidence = db.session.get(EvidenceFile, file_id)
    if (evidence is None or evidence.dispute_id != view.dispute.id or file_id not in listed
            or listed[file_id]["sha256"] != evidence.sha256):
        abort(404)
    # Under the packet's name for it (no resident's name in it), with the extension its content has.
    response = send_stored(evidence.sha256, mimetype=evidence.content_type, as_attachment=True,
                           download_name=served_name(listed[file_id]["name"], evidence.content_type),
                           max_age=0, conditional=False, etag=False)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
