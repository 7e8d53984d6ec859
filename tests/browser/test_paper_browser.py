"""A letter by post, in a real browser: Dana opens the dispute, types in the resident's letter with the
day it arrived and a scanned page, and the page shows it marked as entered from that letter, with the
written reply due seven days from the day it arrived."""
from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from resolver.extensions import db
from resolver.models import Dispute

from ..conftest import START

DESKTOP = pytest.mark.viewport({"width": 1280, "height": 900})
MARK = "entered by Dana Whitfield from a letter received on Tuesday 10 March 2026"


@DESKTOP
def test_a_manager_records_a_letter_that_came_by_post(app, page, login, company, make_staff, make_dispute,
                                                      frozen_clock, screenshot):
    dispute = make_dispute("awaiting_evidence")  # opened Monday 9 March
    dana = make_staff(company, "manager", name="Dana Whitfield")
    db.session.commit()
    frozen_clock.move_to(START + timedelta(days=3))  # the letter is typed in on Thursday 12 March

    login(page, dana)
    page.goto(f"{app.config['LIVE_URL']}/disputes/{dispute.id}")
    page.get_by_text("Enter a letter that came by post").click()
    page.get_by_label("Received on").fill("2026-03-10")
    page.get_by_label("What the letter says").fill("The carpet was spotless when I moved out.")
    page.get_by_label("What the resident suggests would put it right").fill("Refund the cleaning charge.")
    page.get_by_label("Amount asked for, if any").fill("150")
    page.get_by_label("Scanned pages and enclosures").set_input_files(
        files=[{"name": "letter-page-1.pdf", "mimeType": "application/pdf",
                "buffer": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"}])
    screenshot("typed")
    page.get_by_role("button", name="Record the letter").click()

    expect(page.get_by_text("The letter is recorded as the resident's side")).to_be_visible()
    expect(page.get_by_text("The written reply is due by 11:59 PM on Tuesday 17 March 2026").first).to_be_visible()
    expect(page.get_by_test_id("state")).to_have_text("resident's side received")
    expect(page.get_by_test_id("by-post")).to_contain_text(MARK)
    expect(page.get_by_role("link", name="Printable receipt (PDF)")).to_be_visible()
    expect(page.get_by_text(f"Tammy Rivera's side came by post (1 file), {MARK}.")).to_be_visible()
    expect(page.get_by_text("Download letter-page-1.pdf")).to_be_visible()
    screenshot("recorded")

    db.session.expire_all()
    recorded = db.session.get(Dispute, dispute.id)
    assert recorded.evidence_received_dt.date().isoformat() == "2026-03-10"
    assert recorded.reply_due_dt.isoformat() == "2026-03-18T05:59:59+00:00"
