"""Up the ladder in a real browser: on a phone, the resident finds "Ask the supervisor to look again"
among their choices, says what they want looked at and sends it; the supervisor, at a desk, finds it
on their dashboard and answers; the resident's page shows the answer."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from resolver.extensions import db
from resolver.links import PUBLIC_ADDRESS, current_link, link_url

from .conftest import ARTIFACTS
from .screen import fits_the_screen

pytestmark = pytest.mark.browser
MESSAGE = "Please look at my move-out photos of the bedroom carpet."
ANSWER = "I looked at your photos; we will refund the whole cleaning charge."


@pytest.fixture
def sent(make_dispute, supervisor):
    dispute = make_dispute("outcome_sent", votes=("uphold", "compromise", "compromise"))
    db.session.commit()
    return dispute


def test_the_resident_asks_the_supervisor_on_a_phone_and_reads_the_answer(
    app, page, browser, login, sent, supervisor, screenshot
):
    link = app.config["LIVE_URL"] + link_url(current_link(sent.id, "outcome", resident_id=sent.resident_id)) \
        .removeprefix(PUBLIC_ADDRESS)
    page.goto(link)
    choices = page.get_by_role("navigation", name="Your choices")
    expect(choices).to_be_visible()
    choices.get_by_role("link", name="Ask the supervisor to look again").click()
    ladder = page.get_by_role("region", name="Ask someone above Morgan Manager to look again")
    expect(ladder).to_be_in_viewport()
    expect(ladder).to_contain_text("Sam Supervisor, who is above Morgan Manager, will look at our decision again")
    ladder.get_by_label("What would you like looked at again? (optional)").fill(MESSAGE)
    button = ladder.get_by_role("button", name="Ask the supervisor to look again")
    box = button.bounding_box()
    assert box["height"] >= 40 and box["width"] <= 390  # a thumb-sized button that fits the phone
    screenshot("asking")
    button.click()
    expect(page.get_by_text("Sam Supervisor will look at it again and write to you by Thursday 12 March 2026."))\
        .to_be_visible()
    expect(ladder).to_contain_text("You asked on Monday 9 March 2026")
    expect(ladder.get_by_role("button")).to_have_count(0)
    # Asking changed nothing else: the other choices are still there.
    expect(page.get_by_role("button", name="Yes, I received this letter")).to_be_visible()
    expect(page.get_by_role("button", name="Accept the offer")).to_be_visible()
    assert fits_the_screen(page)
    screenshot("asked")

    desk = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    try:
        login(desk, supervisor)
        desk.goto(app.config["LIVE_URL"] + "/")
        waiting = desk.locator(f'[data-escalation="ladder"][data-escalated-dispute="{sent.id}"]')
        expect(waiting).to_contain_text(MESSAGE)
        waiting.get_by_label("What you decided, for Tammy Rivera").fill(ANSWER)
        desk.screenshot(path=str(ARTIFACTS / "ladder-supervisor-dashboard.png"), full_page=True)
        waiting.get_by_role("button", name="Send to Tammy Rivera and mark done").click()
        expect(desk.get_by_text("Your answer is on its way to Tammy Rivera, and the request is done.")).to_be_visible()
        expect(desk.locator('[data-escalation="ladder"]')).to_have_count(0)
    finally:
        desk.context.close()

    page.reload()
    expect(page.get_by_role("region", name="Ask someone above Morgan Manager to look again")).to_contain_text(ANSWER)
