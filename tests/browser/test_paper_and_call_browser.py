"""A letter by post and a team's call, then the written reply, in a real browser.

Dana types in Tammy's letter two days after it arrived, sends the case to the team, records the
team's call and sends the letter that follows. The letter, on the page, in the email as the SMTP
server received it (text and HTML) and in its PDF, names both as Tammy would know them: her letter by
the day it reached us (not who typed it in, or when), and the team's call by its day. It goes out on
Wednesday 18 March, so it is late by the seven days counted from the day her letter arrived (Tuesday
17 March), though not by seven days from the typing (Thursday 19 March): it says sorry, and names the
day it was owed.
"""
from __future__ import annotations

import io
import re
from datetime import timedelta
from html import unescape

import pypdf
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from resolver.extensions import db
from resolver.mail import send_pending
from resolver.models import Dispute, PanelMember

from ..conftest import START, Inbox

DESKTOP = pytest.mark.viewport({"width": 1280, "height": 900})
SUBJECT = "Our written reply about the deductions from your security deposit"
REASONS = (
    "The photos show a fairly clean carpet, but the inspection found stains: meet partway.",
    "Both sides have a point about the carpet; part of the charge back seems fair.",
    "Some cleaning was needed, not all of it: return part of the charge.",
)
# What Tammy should read, each in the letter's own words.
HER_LETTER = "Thank you for your letter giving us your side of this, which we received on Tuesday 10 March 2026, " \
             "and for the one enclosure that came with it."
THE_CALL = "We went through it together on a call on Friday 13 March 2026. All three gave their view."
OWED = "I'm also sorry this reply comes later than the 7 days we promised you. " \
       "We owed it to you by Tuesday 17 March 2026. That delay is ours, not yours."
# What is ours to know, not hers: who typed her letter in, and the day they did.
STAFF_ONLY = ("Dana Whitfield", "entered by", "Thursday 12 March")


def words(text: str) -> str:
    """Text as a reader sees it: tags gone, entities read, all whitespace one space."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", text)).split())


def names_both_as_she_knows_them(text: str) -> None:
    text = words(text)
    for sentence in (HER_LETTER, THE_CALL, OWED):
        assert sentence in text
    for internal in STAFF_ONLY:
        assert internal not in text


@DESKTOP
def test_a_letter_by_post_and_a_teams_call_are_named_in_the_reply_as_the_resident_knows_them(
        app, page, browser, login, company, make_staff, make_dispute, frozen_clock, smtp, record_call_in_browser,
        screenshot):
    dispute = make_dispute("awaiting_evidence")  # opened Monday 9 March, for Morgan Manager
    dana = make_staff(company, "manager", name="Dana Whitfield")
    db.session.commit()
    dispute_url = f"{app.config['LIVE_URL']}/disputes/{dispute.id}"

    # Thursday 12 March: Dana types in the letter that arrived on Tuesday, and sends the case to the team.
    frozen_clock.move_to(START + timedelta(days=3))
    login(page, dana)
    page.goto(dispute_url)
    page.get_by_text("Enter a letter that came by post").click()
    page.get_by_label("Received on").fill("2026-03-10")
    page.get_by_label("What the letter says").fill("The carpet was spotless when I moved out.")
    page.get_by_label("What the resident suggests would put it right").fill("Refund the cleaning charge.")
    page.get_by_label("Amount asked for, if any").fill("150")
    page.get_by_label("Scanned pages and enclosures").set_input_files(
        files=[{"name": "letter-page-1.pdf", "mimeType": "application/pdf",
                "buffer": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"}])
    page.get_by_role("button", name="Record the letter").click()
    expect(page.get_by_text("The written reply is due by 11:59 PM on Tuesday 17 March 2026").first).to_be_visible()
    page.get_by_role("button", name="Seat this team").click()
    expect(page.get_by_text("The team is chosen")).to_be_visible()
    page.get_by_role("button", name="Send the case to the team").click()
    expect(page.get_by_text("The case went to the resolution team.")).to_be_visible()

    # Friday 13 March: the team talks it over on a call; each meets Tammy partway, with an amount.
    frozen_clock.move_to(START + timedelta(days=4))
    login(page, dana)  # a new working day, a new sign-in
    members = db.session.scalars(select(PanelMember).where(PanelMember.company_id == company.id)
                                 .order_by(PanelMember.id)).all()
    votes = {member.name: ("compromise", reason, amount) for member, reason, amount in zip(members, REASONS,
                                                                                            ("50", "60", "70"))}
    record_call_in_browser(page, dispute, START.date() + timedelta(days=4), votes)
    expect(page.get_by_test_id("state")).to_have_text("decided")
    expect(page.get_by_test_id("from-call")).to_have_count(3)

    # Wednesday 18 March: Dana drafts the letter, approves it and sends it.
    frozen_clock.move_to(START + timedelta(days=9))
    login(page, dana)
    page.goto(dispute_url)
    page.get_by_role("button", name="Draft the letter").click()
    expect(page.get_by_text("A draft letter is ready below")).to_be_visible()
    card = page.get_by_role("region", name="The letter")
    names_both_as_she_knows_them(card.get_by_label("Letter").input_value())
    expect(card.get_by_label(re.compile(r"^Concession"))).to_have_value("60.00")  # the team's middle amount
    expect(card.get_by_text("Tone check")).to_have_count(0)
    card.get_by_role("button", name="Approve the letter").click()
    expect(page.get_by_text("The letter is approved. Send it when ready.")).to_be_visible()
    page.get_by_role("button", name="Send the letter to Tammy Rivera").click()
    expect(page.get_by_text("The letter is on its way to Tammy Rivera, with the PDF attached.")).to_be_visible()
    names_both_as_she_knows_them(page.get_by_role("region", name="The letter").locator(".letter").inner_text())
    screenshot("sent")
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).reply_breached_dt is not None  # late, and on the record

    # The email as the SMTP server received it: its text, its HTML and its PDF.
    send_pending()
    [message] = [m for m in smtp.to(dispute.resident.email) if m["Subject"] == SUBJECT]
    names_both_as_she_knows_them(Inbox.text_of(message))
    html = Inbox.html_of(message)
    names_both_as_she_knows_them(html)
    [attachment] = list(message.iter_attachments())
    pdf = pypdf.PdfReader(io.BytesIO(attachment.get_content()))
    names_both_as_she_knows_them(" ".join(p.extract_text() for p in pdf.pages).replace("’", "'"))

    # Tammy's own page, from the link in her email.
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        resident = phone.new_page()
        resident.set_content(html)
        resident.get_by_role("link", name="Confirm you received it and answer our offer").click()
        expect(resident.get_by_text("This page is for Tammy Rivera")).to_be_visible()
        names_both_as_she_knows_them(resident.locator(".letter").inner_text())
    finally:
        phone.close()
