"""The written outcome in a real browser on a phone: the letter email read back from the SMTP
server, its personal link, confirming receipt and accepting the offer; then the manager's task."""
from __future__ import annotations

import io
import re

import pypdf
import pytest
from playwright.sync_api import expect

from resolver.actors import Actor
from resolver.extensions import db
from resolver.mail import send_pending
from resolver.models import Dispute
from resolver.services import outcome, panel

from ..conftest import Inbox

pytestmark = pytest.mark.browser
SUBJECT = "Our written reply about your security deposit"


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.fixture
def letter_email(make_dispute, smtp, manager):
    # The live database is shared by every browser test, and some count the votes in it: this
    # dispute has none. Nobody on the team voted in time, so the manager decided and set the offer.
    staff = Actor.staff(manager)
    dispute = make_dispute("panel_review")
    panel.close_panel(Actor.system(), dispute)
    panel.decide_deadlock(staff, dispute, decision="compromise", note="The photos and the inspection report "
                          "each tell part of the story.")
    letter = outcome.draft_outcome(staff, dispute)
    outcome.edit_letter(staff, letter, token_kind="coffee-shop gift card", token_cents=2500, concession_cents=5000)
    outcome.approve_letter(staff, letter)
    outcome.send_outcome(staff, dispute)
    db.session.commit()
    send_pending()
    [message] = [m for m in smtp.to(dispute.resident.email) if m["Subject"] == SUBJECT]
    return dispute, message


def test_the_resident_confirms_receipt_and_accepts_the_offer_from_the_email(page, letter_email, smtp, screenshot,
                                                                             manager):
    dispute, message = letter_email
    text = Inbox.text_of(message)
    assert "The carpet was clean when I left; I have photos." in text
    [attachment] = list(message.iter_attachments())
    pdf = pypdf.PdfReader(io.BytesIO(attachment.get_content()))
    assert "Our offer to you" in " ".join(p.extract_text() for p in pdf.pages)
    link = re.search(r"https?://\S+/r/o/\S+", text).group(0)
    assert link in Inbox.html_of(message)

    page.goto(link)
    expect(page.get_by_text("This page is for Tammy Rivera")).to_be_visible()
    expect(page.get_by_role("heading", name="Our written reply")).to_be_visible()
    expect(page.locator(".letter")).to_contain_text("The carpet was clean when I left; I have photos.")
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

    db.session.expire_all()
    dispute = db.session.get(Dispute, dispute.id)
    assert dispute.state == "acknowledged"
    [task] = outcome.open_tasks(dispute)
    assert task.kind == "fulfil_offer"

    smtp.clear()
    send_pending()
    subjects = sorted(m["Subject"] for m in smtp.to(manager.email))
    assert subjects == [f"Tammy Rivera accepted the offer (dispute #{dispute.id}): a task for you by Saturday 14 March 2026",
                        f"Tammy Rivera received the letter (dispute #{dispute.id})"]
    [to_resident] = smtp.to(dispute.resident.email)
    assert "Thank you for accepting our offer" in Inbox.text_of(to_resident)

    # The manager marks the gift card sent and the deposit adjusted: the dispute closes.
    outcome.complete_task(Actor.staff(manager), task)
    db.session.commit()
    page.reload()
    expect(page.get_by_text("This matter is closed")).to_be_visible()
