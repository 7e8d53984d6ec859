"""The resolution team in a real browser: members open the invitation emails the SMTP server
received, read the packet, and vote; the team decides (or splits, and its chair decides); mail
scanners opening every link, with and without JavaScript, change nothing."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from resolver.actors import Actor
from resolver.extensions import db
from resolver.mail import send_pending
from resolver.models import AuditEvent, Dispute, OutboxEmail, PanelSeat, Vote, VoteRevision
from resolver.services import panel

from ..conftest import Inbox
from .screen import fits_the_screen

ITEMS = [
    {"description": "Carpet cleaning", "amount_cents": 15000, "company_reason": "Stains in the living room."},
    {"description": "Blind replacement", "amount_cents": 6000, "company_reason": "Two slats broken."},
]


def invite(smtp, dispute, members, manager, chair=None) -> dict[str, str]:
    """Seat and send; deliver the invitations; return each member's link, read from their email."""
    panel.seat_panel(Actor.staff(manager), dispute, [m.id for m in members],
                     chair_id=chair.id if chair is not None else None)
    panel.send_to_panel(Actor.staff(manager), dispute)
    db.session.commit()
    send_pending()
    return {m.email: link_in(smtp, m.email) for m in members}


def link_in(smtp, address: str) -> str:
    """The vote link in the newest email ``address`` received."""
    messages = smtp.to(address)
    assert messages, f"no email arrived for {address}"
    return re.search(r"http://127\.0\.0\.1:\d+/p/v/\S+", Inbox.text_of(messages[-1])).group(0)


def vote_in_browser(page, url: str, name: str, choice: str, reason: str, token: str = "", concession: str = "",
                    items: dict[str, str] | None = None) -> None:
    page.goto(url)
    page.get_by_text(f"Voting as {name}").wait_for()
    page.locator(f'input[name="choice"][value="{choice}"]').check()
    page.fill("#reason", reason)
    for label, value in (items or {}).items():
        page.get_by_label(label).select_option(value)
    if token:
        page.fill("#token_kind", "coffee-shop gift card")
        page.fill("#token_amount", token)
    if concession:
        page.fill("#concession_amount", concession)
    page.get_by_role("button", name=re.compile("(Record|Change) my vote")).click()
    page.get_by_text(f"Thank you, {name}. Your vote is recorded").wait_for()


def fresh(dispute_id: int) -> Dispute:
    db.session.expire_all()
    return db.session.get(Dispute, dispute_id)


@pytest.mark.viewport({"width": 1280, "height": 900})
def test_five_members_vote_from_their_emails_and_the_team_decides(app, page, smtp, make_dispute, make_panel,
                                                                  manager, resident, screenshot):
    dispute = make_dispute("evidence_received", items=ITEMS)
    members = make_panel(dispute.company, size=5)
    links = invite(smtp, dispute, members, manager)
    invitation = smtp.to(members[0].email)[0]
    assert "Your view on a resident dispute" in invitation["Subject"]

    page.goto(links[members[0].email])
    assert "The carpet needed professional cleaning." in page.content()
    assert resident.email not in page.content() and resident.name not in page.content()
    screenshot("packet")
    # A vote without a reason is refused, and nothing is lost.
    page.locator('input[name="choice"][value="compromise"]').check()
    page.fill("#token_amount", "20")
    page.locator("#reason").evaluate("element => element.removeAttribute('required')")
    page.get_by_role("button", name=re.compile("Record my vote")).click()
    # Said in the summary (which takes the focus, for a keyboard or a screen reader) and beside the field.
    page.locator("#problem").get_by_text("Please give your reason").wait_for()
    page.locator("#reason-error").get_by_text("Please give your reason").wait_for()
    expect(page.locator("#problem")).to_be_focused()
    assert page.get_attribute("#reason", "aria-invalid") == "true"
    assert page.input_value("#token_amount") == "20"
    assert page.is_checked('input[name="choice"][value="compromise"]')
    assert db.session.scalar(select(func.count()).select_from(Vote).where(Vote.dispute_id == dispute.id)) == 0

    vote_in_browser(page, links[members[0].email], members[0].name, "compromise",
                    "The charge was never itemised for the resident; meet them partway.", token="20",
                    concession="50")
    vote_in_browser(page, links[members[1].email], members[1].name, "uphold",
                    "The photos show real stains; the company is right on the carpet.")
    vote_in_browser(page, links[members[2].email], members[2].name, "compromise",
                    "Fair to charge the blinds, not the full carpet.", token="30", concession="75",
                    items={"Blind replacement ($60)": "uphold", "Carpet cleaning ($150)": "resident"})
    # Changing a vote keeps the old one on record.
    vote_in_browser(page, links[members[1].email], members[1].name, "compromise",
                    "On a second look at the move-in report, a compromise is fairer.", token="25",
                    concession="100")
    assert fresh(dispute.id).state == "panel_review"
    vote_in_browser(page, links[members[3].email], members[3].name, "resident",
                    "The company waited three weeks to raise the charge.")
    # The last vote completes the team: it closes at once, without waiting for its deadline.
    vote_in_browser(page, links[members[4].email], members[4].name, "compromise",
                    "Both sides have a point.", token="25", concession="60")
    page.get_by_role("heading", name="The team's review is complete").wait_for()
    screenshot("voted")

    closed = fresh(dispute.id)
    assert closed.state == "decided" and closed.decision == "compromise" and closed.decided_by == "panel"
    result = panel.tally(closed)
    assert result.counts == {"uphold": 0, "resident": 1, "compromise": 4}
    # The median of the winning side: tokens 20, 25, 25, 30 -> 25; concessions 50, 60, 75, 100 -> 67.50.
    assert result.token_cents == 2500 and result.concession_cents == 6750
    carpet, blinds = closed.items
    assert carpet.decision == "compromise" and blinds.decision == "compromise"
    revisions = select(func.count()).select_from(VoteRevision).join(Vote).where(Vote.dispute_id == dispute.id)
    assert db.session.scalar(revisions) == 6, "five votes and one change of mind, each kept"
    # Every state change is in the history.
    moves = [(e.action, e.to_state) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.dispute_id == dispute.id).order_by(AuditEvent.id)) if e.is_state_change]
    assert moves[-2:] == [("send_to_panel", "panel_review"), ("decide", "decided")]

    # The manager hears at once; a member's link now shows their vote and the team's result.
    send_pending()
    news = smtp.to(manager.email)[-1]
    assert "The team decided: a compromise" in news["Subject"]
    assert "$25" in Inbox.text_of(news) and "$67.50" in Inbox.text_of(news)
    response = page.goto(links[members[0].email])
    assert response.status == 200
    page.get_by_role("heading", name="The team's review is complete").wait_for()
    page.get_by_text("Your vote: a compromise is fairer.").wait_for()


def test_a_split_team_deadlocks_and_its_chair_decides_from_the_email(app, page, smtp, make_dispute, make_panel,
                                                                     manager, screenshot):
    dispute = make_dispute("evidence_received")
    members = make_panel(dispute.company, size=3)
    links = invite(smtp, dispute, members, manager, chair=members[0])
    for member, choice in zip(members, ("uphold", "resident", "compromise")):
        vote_in_browser(page, links[member.email], member.name, choice, f"My view: {choice}.")
    assert fresh(dispute.id).state == "deadlocked"
    send_pending()
    assert "The team is split" in smtp.to(manager.email)[-1]["Subject"]
    chair_email = smtp.to(members[0].email)[-1]
    assert "as chair, please decide" in chair_email["Subject"]
    page.goto(link_in(smtp, members[0].email))
    page.get_by_text("As its chair, please decide below").wait_for()
    page.locator('input[name="decision"][value="compromise"]').check()
    page.fill("#note", "Two of us saw merit on the resident's side; meet halfway.")
    page.get_by_role("button", name=re.compile("Decide as")).click()
    page.get_by_text("Your decision is recorded").wait_for()
    screenshot("chair-decided")
    decided = fresh(dispute.id)
    assert decided.state == "decided" and decided.decision == "compromise" and decided.decided_by == "chair"
    # The other members' links show the review complete, their vote, and the chair's decision.
    response = page.goto(links[members[1].email])
    assert response.status == 200
    page.get_by_role("heading", name="The team's review is complete").wait_for()
    page.get_by_text("Your vote: the resident's suggested resolution is granted.").wait_for()
    page.get_by_text("The team was split, so the team's chair decided that a compromise is fairer.").wait_for()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_mail_scanners_opening_every_link_change_nothing(app, browser, smtp, make_dispute, make_panel, manager,
                                                         javascript):
    dispute = make_dispute("evidence_received")
    members = make_panel(dispute.company, size=3)
    links = invite(smtp, dispute, members, manager)
    count = lambda model: db.session.scalar(select(func.count()).select_from(model))  # noqa: E731

    def state():
        d = fresh(dispute.id)
        return (d.state, d.version, count(Vote), count(VoteRevision), count(AuditEvent), count(OutboxEmail),
                [s.recused_dt for s in db.session.scalars(select(PanelSeat))])

    before = state()
    scanner = browser.new_context(java_script_enabled=javascript, user_agent="Mozilla/5.0 (Safe Links scanner)")
    try:
        for url in links.values():
            for _ in range(3):
                tab = scanner.new_page()
                response = tab.goto(url)
                assert response.status == 200
                for link in tab.locator("a[href]").all():  # follows what a crawler would, never a form
                    href = link.get_attribute("href")
                    if href and href.startswith("/p/"):
                        assert scanner.request.get(app.config["LIVE_URL"] + href).status == 200
                assert scanner.request.head(url).status == 200
                tab.close()
    finally:
        scanner.close()
    assert state() == before


UNLABELLED = """() => Array.from(document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button')).filter(el =>
    !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
    && !(el.tagName === 'BUTTON' && el.textContent.trim())).map(el => el.name || el.id)"""


def test_a_member_reads_the_case_and_votes_on_a_phone(app, page, smtp, make_dispute, make_panel, manager, screenshot):
    dispute = make_dispute("evidence_received", items=ITEMS)
    members = make_panel(dispute.company, size=3)
    links = invite(smtp, dispute, members, manager)
    page.goto(links[members[0].email])
    page.get_by_text(f"Voting as {members[0].name}").wait_for()
    screenshot("phone")
    # Nothing wider than the screen (the evidence fingerprints and the items table included).
    assert fits_the_screen(page)
    # Every control says what it is to a screen reader.
    assert page.evaluate(UNLABELLED) == []
    vote_in_browser(page, links[members[0].email], members[0].name, "compromise", "Meet them partway.",
                    token="20", items={"Carpet cleaning ($150)": "resident"})
    assert fits_the_screen(page)
