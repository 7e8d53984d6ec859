"""A team that decided on a call, in a real browser: the manager records who attended and each
one's vote from the dispute page; the review closes as it would by link, each member's email
(read from the SMTP server) opens their vote as recorded, and the letter can be drafted."""
from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from resolver import clock
from resolver.actors import Actor
from resolver.extensions import db
from resolver.mail import send_pending
from resolver.models import Dispute, Vote
from resolver.services import panel
from resolver.workdays import local

from ..conftest import Inbox

VOTES = {
    0: ("compromise", "Both sides have a point about the carpet; half the charge seems fair."),
    1: ("compromise", "The stains were there, but the photos show a fairly clean room: meet partway."),
    2: ("uphold", "Professional cleaning was needed; the charge is in line with the lease."),
}


def test_the_manager_records_a_calls_votes_and_the_case_is_decided(
    app, page, login, manager, make_dispute, make_panel, smtp, record_call_in_browser, screenshot
):
    dispute = make_dispute("evidence_received")
    members = make_panel(dispute.company, size=3)
    panel.seat_panel(Actor.staff(manager), dispute, [m.id for m in members])
    panel.send_to_panel(Actor.staff(manager), dispute)
    db.session.commit()
    send_pending()
    smtp.clear()
    login(page, manager)
    today = local(clock.now_utc(), dispute.company).date()
    page.goto(f"{app.config['LIVE_URL']}/disputes/{dispute.id}/call")
    expect(page.get_by_role("heading", name="Record the team's call")).to_be_visible()
    screenshot("call-page")

    record_call_in_browser(page, dispute, today, {members[i].name: VOTES[i] for i in VOTES})
    expect(page.get_by_text("With them the team's review is complete")).to_be_visible()
    expect(page.get_by_test_id("state")).to_have_text("decided")
    expect(page.get_by_test_id("from-call")).to_have_count(3)
    expect(page.get_by_test_id("from-call").first).to_contain_text(f"Recorded by {manager.name} from a call on")
    expect(page.get_by_text(f"{manager.name} recorded the team's call on")).to_be_visible()
    screenshot("recorded")

    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).decision == "compromise"
    assert {v.call_on for v in db.session.scalars(select(Vote).where(Vote.dispute_id == dispute.id))} == {today}

    # Each member's email opens what was recorded for them.
    send_pending()
    message = next(m for m in smtp.to(members[2].email) if "from our call" in m["Subject"])
    link = re.search(r"http://127\.0\.0\.1:\d+/p/v/\S+", Inbox.text_of(message)).group(0)
    member_page = page.context.new_page()
    member_page.goto(link)
    expect(member_page.get_by_text(f"It was recorded by {manager.name} from a call on")).to_be_visible()
    member_page.close()

    # The next step is the letter, as after votes by link.
    page.get_by_role("button", name="Draft the letter").click()
    expect(page.get_by_text("A draft letter is ready below")).to_be_visible()
    screenshot("letter")
