"""The written outcome in a real browser, from a decided dispute to a closed one: the manager reviews,
edits and sends the letter on the dispute page; the resident reads the email (HTML, text and PDF) as
the SMTP server received it, follows its personal link on a phone, confirms receipt and accepts the
offer; the manager marks the fulfilment done and the dispute closes."""
from __future__ import annotations

import io
import re

import pypdf
import pytest
from playwright.sync_api import expect

from resolver.actors import Actor
from resolver.extensions import db
from resolver.files import read_bytes
from resolver.mail import send_pending
from resolver.models import AuditEvent, Dispute, Letter
from resolver.services import panel

from ..conftest import Inbox
from .conftest import ARTIFACTS
from .screen import fits_the_screen

pytestmark = pytest.mark.browser
SUBJECT = "Our written reply about the deductions from your security deposit"
DETAILS = "The carpet was clean when I left; I have photos."
PERSONAL = "I have also asked our cleaning contractor to send you their report."


@pytest.fixture
def decided(make_dispute, manager):
    # The live database is shared by every browser test, and some count the votes in it: this
    # dispute has none. Nobody on the team voted in time, so the manager decided.
    dispute = make_dispute("panel_review")
    panel.close_panel(Actor.system(), dispute)
    panel.decide_deadlock(Actor.staff(manager), dispute, decision="compromise",
                          note="The photos and the inspection report each tell part of the story.")
    db.session.commit()
    return dispute


@pytest.fixture
def desk(browser):
    """The manager's own browser, on a desk: a context of its own, so the two sign-ins never mix."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def letter_card(desk):
    return desk.get_by_role("region", name="The letter")


def test_from_the_decision_to_a_closed_dispute(app, page, desk, login, decided, smtp, manager, screenshot, request):
    dispute = decided
    dispute_url = f"{app.config['LIVE_URL']}/disputes/{dispute.id}"

    # The manager drafts the letter from the decision and reads it.
    login(desk, manager)
    desk.goto(dispute_url)
    desk.get_by_role("button", name="Draft the letter").click()
    expect(desk.get_by_text("A draft letter is ready below.")).to_be_visible()
    body = letter_card(desk).get_by_label("Letter")
    expect(body).to_contain_text(f"> {DETAILS}")
    expect(body).to_contain_text("Not enough of the team could give a view in time, so the decision fell to me.")

    # An edit with a phrase the practice notes warn against is flagged before anything goes.
    draft = body.input_value()
    body.fill(draft.replace("Thank you for bringing this to us", "Please calm down. Thank you for bringing this to us"))
    letter_card(desk).get_by_role("button", name="Save the letter").click()
    expect(desk.get_by_text("The letter is saved.")).to_be_visible()
    expect(letter_card(desk).get_by_text("“Calm down” always escalates.")).to_be_visible()

    # The manager takes it out, adds a sentence of their own and sets the offer within the caps.
    card = letter_card(desk)
    # The draft left the compromise's amount for the manager to fill in: the offer box says it.
    assert "We would like to meet you partway: [amount to fill in]." in draft
    card.get_by_label("Letter").fill(
        draft.replace("What happens next:", f"{PERSONAL}\n\nWhat happens next:")
        .replace("We would like to meet you partway: [amount to fill in].",
                 "We would like to meet you partway; our offer is set out below."))
    card.get_by_label("Token", exact=True).fill("coffee-shop gift card")
    card.get_by_label(re.compile(r"^Token amount")).fill("25")
    card.get_by_label(re.compile(r"^Concession")).fill("50")
    card.get_by_role("button", name="Save the letter").click()
    expect(desk.get_by_text("The letter is saved.")).to_be_visible()
    expect(letter_card(desk).get_by_text("Tone check")).to_have_count(0)
    letter_card(desk).get_by_text("Preview: the letter as Tammy Rivera will read it").click()
    preview = letter_card(desk).locator(".letter-preview .letter")
    expect(preview.locator(".offer")).to_contain_text("a $25 coffee-shop gift card")
    expect(preview.locator(".offer")).to_contain_text("$50 back from your security deposit")
    expect(preview).to_contain_text(PERSONAL)
    expect(preview.locator(".ladder")).to_contain_text("Front Range Tenant-Landlord Mediation")
    desk.screenshot(path=str(ARTIFACTS / f"{request.node.name}-manager-review.png"), full_page=True)

    letter_card(desk).get_by_role("button", name="Approve the letter").click()
    expect(desk.get_by_text("The letter is approved. Send it when ready.")).to_be_visible()
    desk.get_by_role("button", name="Send the letter to Tammy Rivera").click()
    expect(desk.get_by_text("The letter is on its way to Tammy Rivera, with the PDF attached.")).to_be_visible()
    expect(desk.get_by_test_id("state")).to_have_text("letter sent")
    db.session.expire_all()
    letter = db.session.query(Letter).filter_by(dispute_id=dispute.id, status="sent").one()
    assert [e.action for e in db.session.query(AuditEvent).filter_by(dispute_id=dispute.id)
            .order_by(AuditEvent.id)][-4:] == ["letter_edited", "letter_edited", "letter_approved", "send_outcome"]

    # The resident's email, as the SMTP server received it: HTML, text and the PDF, all the same letter.
    send_pending()
    [message] = [m for m in smtp.to(dispute.resident.email) if m["Subject"] == SUBJECT]
    text, html = Inbox.text_of(message), Inbox.html_of(message)
    for part in (text, html):
        assert DETAILS in part and PERSONAL in part and "a $25 coffee-shop gift card" in part
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == read_bytes(letter.pdf_sha256)  # the PDF kept on the dispute
    pdf_text = " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(attachment.get_content()))
                                 .pages).split())
    assert DETAILS in pdf_text and PERSONAL in pdf_text and "Our offer to you" in pdf_text

    # On a phone, the resident opens the email's HTML and follows the button in it.
    page.set_content(html)
    expect(page.locator(".letter")).to_contain_text(DETAILS)
    page.get_by_role("link", name="Confirm you received it and answer our offer").click()
    expect(page.get_by_text("This page is for Tammy Rivera")).to_be_visible()
    expect(page.get_by_role("heading", name="Our written reply")).to_be_visible()
    expect(page.locator(".letter")).to_contain_text(PERSONAL)
    expect(page.locator(".letter .offer")).to_contain_text("a $25 coffee-shop gift card")
    assert fits_the_screen(page)
    screenshot("letter")
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).state == "outcome_sent"  # opening the page changed nothing

    page.get_by_role("button", name="Yes, I received this letter").click()
    expect(page.get_by_text("Thank you for letting us know the letter arrived.")).to_be_visible()
    expect(page.get_by_text("You confirmed you received it on Monday 9 March 2026.")).to_be_visible()

    page.get_by_role("button", name="Accept the offer").click()
    expect(page.get_by_text("You accepted this offer on Monday 9 March 2026.")).to_be_visible()
    expect(page.get_by_role("button", name="Accept the offer")).to_have_count(0)
    assert fits_the_screen(page)
    screenshot("accepted")

    smtp.clear()
    send_pending()
    subjects = sorted(m["Subject"] for m in smtp.to(manager.email))
    assert subjects == [f"Tammy Rivera accepted the offer (dispute #{dispute.id}): a task for you by Saturday 14 March 2026",
                        f"Tammy Rivera received the letter (dispute #{dispute.id})"]
    [to_resident] = smtp.to(dispute.resident.email)
    assert "Thank you for accepting our offer" in Inbox.text_of(to_resident)

    # The manager sends the gift card, adjusts the deposit and marks the task done: the dispute closes.
    desk.goto(dispute_url)
    tasks = desk.get_by_role("region", name="Tasks")
    expect(tasks).to_contain_text("Send a $25 coffee-shop gift card and Return $50 from the security deposit")
    tasks.get_by_role("button", name="Mark done").click()
    expect(desk.get_by_test_id("state")).to_have_text("closed")
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).close_reason == "The accepted offer was carried out."
    page.reload()
    expect(page.get_by_text("This matter is closed")).to_be_visible()
    expect(page.get_by_text("It has been carried out.")).to_be_visible()
