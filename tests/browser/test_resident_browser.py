"""The resident's whole path in a real browser on a phone-sized screen: the invitation email read
back from the SMTP server, the link, the form with two files, the receipt, and the status page."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from resolver.extensions import db
from resolver.mail import send_pending
from resolver.models import LinkUse, Submission

from ..conftest import Inbox
from ..test_resident_support import evidence_link, pdf, photo
from .screen import fits_the_screen

pytestmark = pytest.mark.browser


UNLABELLED = """() => Array.from(document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button')).filter(el =>
    !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
    && !(el.tagName === 'BUTTON' && el.textContent.trim())).map(el => el.name || el.id)"""


def link_in(message) -> str:
    match = re.search(r"https?://\S+/r/e/\S+", Inbox.text_of(message))
    assert match, Inbox.text_of(message)
    return match.group(0)


@pytest.fixture
def invited(make_dispute, smtp):
    dispute = make_dispute("awaiting_evidence", items=[
        {"description": "Carpet cleaning", "amount_cents": 15000, "company_reason": "Pet stains in the bedroom."},
    ])
    db.session.commit()
    send_pending()
    [invitation] = smtp.to(dispute.resident.email)
    return dispute, link_in(invitation)


def test_the_resident_sends_their_side_from_the_email_and_sees_the_receipt_and_status(
    page, invited, smtp, screenshot
):
    dispute, link = invited
    smtp.clear()
    page.goto(link)
    expect(page.get_by_text(f"This page is for Tammy Rivera, unit {dispute.unit.label}.")).to_be_visible()
    expect(page.locator("#deadline")).to_contain_text("Send your side by 11:59 PM on Saturday 14 March 2026")
    expect(page.get_by_text("carpet-cleaning charge on the deposit is unfair")).to_be_visible()

    page.get_by_label("What happened, in your own words").fill("I steam-cleaned the carpet the day I left.")
    page.get_by_label("Your response about “Carpet cleaning”").fill("There were no pet stains; see the photo.")
    page.get_by_label("What would put this right for you?").fill("Refund the cleaning charge.")
    page.get_by_label("Amount you are asking for, if any (optional)").fill("150")
    page.get_by_label("Photos and documents (optional)").set_input_files([
        {"name": "bedroom.jpg", "mimeType": "image/jpeg", "buffer": photo()},
        {"name": "cleaning-receipt.pdf", "mimeType": "application/pdf", "buffer": pdf("Steam clean, $89")},
    ])
    expect(page.locator("#chosen-files")).to_contain_text("bedroom.jpg")
    assert fits_the_screen(page)
    assert page.evaluate(UNLABELLED) == []  # every control says what it is to a screen reader
    screenshot("form")
    page.get_by_role("button", name="Send my side").dblclick()  # an anxious double-click

    expect(page.get_by_role("heading", name="Thank you, we have your side")).to_be_visible()
    expect(page.locator("#reply-due")).to_contain_text("We will answer you in writing by 11:59 PM on Monday 16 March 2026")
    db.session.expire_all()
    # the live database is shared by the session's browser tests: look at this dispute only
    submission = db.session.scalars(db.select(Submission).where(Submission.dispute_id == dispute.id)).one()
    files = submission.files
    assert [f.original_name for f in files] == ["bedroom.jpg", "cleaning-receipt.pdf"]
    for stored in files:
        expect(page.get_by_text(stored.sha256)).to_be_visible()
    assert submission.suggested_amount_cents == 15000
    assert fits_the_screen(page)  # long fingerprints wrap on a phone
    screenshot("receipt")

    send_pending()
    [receipt] = smtp.to(dispute.resident.email)
    text = Inbox.text_of(receipt)
    assert "bedroom.jpg" in text and files[0].sha256 in text and files[1].sha256 in text
    assert "We will answer you in writing by 11:59 PM on Monday 16 March 2026" in text
    assert receipt["Subject"] == "We have your side: our written answer by Monday 16 March 2026"
    assert smtp.to(dispute.manager.email), "the manager is alerted at once"

    page.get_by_role("link", name="See where things stand").click()
    expect(page.get_by_role("heading", name="Where things stand")).to_be_visible()
    expect(page.locator("#stage")).to_contain_text("We have your side")
    expect(page.locator("#reply-due")).to_contain_text("11:59 PM on Monday 16 March 2026")
    assert fits_the_screen(page)
    assert page.evaluate(UNLABELLED) == []
    screenshot("status")


def test_the_form_works_without_javascript(browser, invited, app):
    dispute, link = invited
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(link)
        page.get_by_label("What happened, in your own words").fill("Sent from an old phone.")
        page.get_by_label("Photos and documents (optional)").set_input_files([
            {"name": "hall.png", "mimeType": "image/png", "buffer": photo(fmt="PNG")},
        ])
        page.get_by_role("button", name="Send my side").click()
        expect(page.get_by_role("heading", name="Thank you, we have your side")).to_be_visible()
        expect(page.get_by_text("hall.png")).to_be_visible()
    finally:
        context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_wrong_amount_is_explained_beside_it_on_a_phone_and_nothing_is_sent(browser, invited, javascript):
    dispute, link = invited
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(link)
        page.get_by_label("What happened, in your own words").fill("Typed on the bus, with a typo below.")
        page.get_by_label("Amount you are asking for, if any (optional)").fill("1e9")
        page.get_by_role("button", name="Send my side").click()
        message = "The amount you are asking for should be written like 150 or 150.00 (dollars and cents)."
        expect(page.get_by_role("heading", name="Your side has not been sent yet")).to_be_visible()
        expect(page.locator("#suggested_amount-error")).to_have_text(message)
        amount = page.get_by_label("Amount you are asking for, if any (optional)")
        expect(amount).to_have_value("1e9")
        expect(amount).to_have_attribute("aria-invalid", "true")
        expect(page.get_by_label("What happened, in your own words")).to_have_value("Typed on the bus, with a typo below.")
        if javascript:  # the summary takes the focus, so a screen reader reads it first
            expect(page.locator("#problem")).to_be_focused()
        page.locator("#problem").get_by_role("link", name=message).click()  # the summary leads to the field
        assert fits_the_screen(page)
        assert page.evaluate(UNLABELLED) == []
    finally:
        context.close()
    assert db.session.query(Submission).filter_by(dispute_id=dispute.id).count() == 0


def test_what_was_typed_survives_a_reload_before_sending(page, invited):
    _, link = invited
    page.goto(link)
    page.get_by_label("What happened, in your own words").fill("Half-written on the bus")
    page.reload()
    expect(page.get_by_label("What happened, in your own words")).to_have_value("Half-written on the bus")


@pytest.mark.viewport({"width": 1280, "height": 800})
def test_a_file_too_large_is_caught_before_it_is_uploaded(page, invited, screenshot, tmp_path):
    dispute, link = invited
    huge = tmp_path / "huge.pdf"  # given by its path: the browser reads it from disk, as a phone would
    huge.write_bytes(b"%PDF-1.4\n" + b"0" * (11 * 1024 * 1024))
    page.goto(link)
    page.get_by_label("What happened, in your own words").fill("Here is the video still.")
    page.get_by_label("Photos and documents (optional)").set_input_files(huge)
    expect(page.locator("#chosen-files")).to_contain_text("each file can be at most 10.0 MB")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Send my side").click()
    expect(page.get_by_role("heading", name="Send your side")).to_be_visible()  # still here, nothing sent
    assert db.session.query(Submission).filter_by(dispute_id=dispute.id).count() == 0
    link_row = evidence_link(dispute)
    assert "POST" not in {u.method for u in db.session.scalars(db.select(LinkUse).where(LinkUse.link_id == link_row.id))}
    screenshot("too-big")


def test_after_the_deadline_the_link_explains_what_can_still_be_done(page, invited, screenshot):
    from datetime import timedelta

    from resolver import clock

    dispute, link = invited
    clock.advance(dispute.evidence_due_dt - clock.now_utc() + timedelta(hours=1))
    page.goto(link)
    expect(page.get_by_role("heading", name="The time to send your side has ended")).to_be_visible()
    expect(page.get_by_role("heading", name="What you can still do")).to_be_visible()
    expect(page.get_by_role("link", name="303-555-0123")).to_be_visible()
    assert page.get_by_label("What happened, in your own words").count() == 0
    assert fits_the_screen(page)
    screenshot("closed")


def test_asking_for_more_time_works_on_a_phone_without_javascript(browser, invited, smtp):
    dispute, link = invited
    smtp.clear()
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(link)
        page.get_by_role("link", name="Ask for more time").click()
        page.get_by_label("How many more days do you need?").select_option("5")
        page.get_by_label("Why? (optional)").fill("My photos are on my sister's phone.")
        page.get_by_role("button", name="Ask for more time").click()
        expect(page.get_by_text("Your request for 5 more days was sent")).to_be_visible()
        expect(page.locator("#more-time")).to_contain_text("you asked for 5 more days")
        assert fits_the_screen(page)
    finally:
        context.close()
    send_pending()
    [asked] = smtp.to(dispute.manager.email)
    assert "sister's phone" in Inbox.text_of(asked)
