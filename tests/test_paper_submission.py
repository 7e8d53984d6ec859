"""A resident's letter that came by post, typed in by staff from the dispute page: it counts from the
day it arrived, it is marked as entered from a letter wherever the side is shown, and a resident
without email gets a receipt the office prints and posts."""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone
from html import unescape

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from resolver.actors import Actor
from resolver.extensions import db
from resolver.links import PUBLIC_ADDRESS
from resolver.mail import send_pending
from resolver.models import AuditEvent, Dispute, OutboxEmail, Submission, Timer
from resolver.services import outcome, panel

from .conftest import START
from .test_resident_support import ResidentForm, counts, dispute_snapshot, evidence_path, hidden

MARK = "entered by Dana Whitfield from a letter received on Tuesday 10 March 2026"
# Opened Monday 9 March (Denver); the resident's side is due by the end of Saturday 14 March.
# A letter received on Tuesday 10 March is answered by the end of Tuesday 17 March (Denver, UTC-6).
REPLY_DUE = datetime(2026, 3, 18, 5, 59, 59, tzinfo=timezone.utc)
PDF_PAGE = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def dana(company, make_staff):
    return make_staff(company, "manager", name="Dana Whitfield")


@pytest.fixture
def desk(signed_in_client, dana):
    """Dana at her desk, signed in when she sits down (the clock has moved to the typing day)."""
    return lambda: signed_in_client(dana)


def page_of(staff, dispute) -> str:
    return staff.get(f"/disputes/{dispute.id}").get_data(as_text=True)


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def enter_letter(staff, dispute, *, received_on="2026-03-10", files=(), **fields):
    """Type the letter in through the dispute page's form, as it is drawn (its key and version)."""
    page = page_of(staff, dispute)
    data = {
        "csrf_token": hidden(page, "csrf_token"), "expected_version": hidden(page, "expected_version"),
        "form_key": hidden(page, "form_key"), "received_on": received_on,
        "details": "The carpet was spotless when I moved out. My photos are enclosed.",
        "suggested_resolution": "Refund the $150 cleaning charge.", "suggested_amount": "150",
        **fields,
    }
    data["files"] = [(io.BytesIO(body), name) for name, body in files]
    return staff.client.post(f"/disputes/{dispute.id}/letters-by-post", data=data,
                             content_type="multipart/form-data")


def emails(dispute, template) -> list[OutboxEmail]:
    return list(db.session.scalars(select(OutboxEmail).where(OutboxEmail.dispute_id == dispute.id,
                                                             OutboxEmail.template == template)))


def the_submission(dispute) -> Submission:
    return db.session.scalars(select(Submission).where(Submission.dispute_id == dispute.id)
                              .order_by(Submission.id.desc())).first()


# The clock runs from the day the letter arrived ---------------------------------------------------

def test_the_reply_is_due_seven_days_from_the_day_the_letter_arrived_not_the_typing(
        app, frozen_clock, desk, waiting, manager, smtp):
    frozen_clock.move_to(START + timedelta(days=3))  # typed in on Thursday 12 March
    staff = desk()
    response = enter_letter(staff, waiting, files=[("page-1.pdf", PDF_PAGE)])
    assert response.status_code == 303, text_of(response.get_data(as_text=True))
    db.session.expire_all()
    dispute = db.session.get(Dispute, waiting.id)
    assert dispute.state == "evidence_received"
    assert dispute.reply_due_dt == dispute.reply_promised_dt == REPLY_DUE
    submission = the_submission(dispute)
    assert submission.entered_by.name == "Dana Whitfield" and submission.entered_dt == START + timedelta(days=3)
    assert submission.suggested_amount_cents == 15000 and [f.original_name for f in submission.files] == ["page-1.pdf"]
    due = db.session.scalars(select(Timer).where(Timer.dispute_id == dispute.id, Timer.kind == "reply:due")).one()
    assert due.due_dt == REPLY_DUE

    send_pending()
    [receipt] = [m for m in smtp.to(dispute.resident.email) if m["Subject"].startswith("We have your side")]
    text = " ".join(smtp.text_of(receipt).split())
    assert receipt["Subject"] == "We have your side: our written answer by Tuesday 17 March 2026"
    assert MARK in text and "We will answer you in writing by 11:59 PM on Tuesday 17 March 2026" in text
    [arrived] = [m for m in smtp.to(manager.email) if "sent their side" in m["Subject"]]  # Dana typed it in
    assert f"by post ({MARK})" in " ".join(smtp.text_of(arrived).split())

    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.dispute_id == dispute.id,
                                                          AuditEvent.action == "submit_evidence"))
    assert event.actor_label == "Dana Whitfield" and event.data["by_post"] == "2026-03-10"
    assert event.occurred_dt == START + timedelta(days=3)  # the history says when it was typed in


def test_a_letter_that_arrived_in_time_counts_even_after_the_window_lapsed(app, frozen_clock, desk, make_dispute):
    dispute = make_dispute("lapsed")  # nothing came through the form by Saturday 14 March
    db.session.commit()
    frozen_clock.move_to(START + timedelta(days=7))  # Monday 16 March: the post from Friday is opened
    staff = desk()
    response = enter_letter(staff, dispute, received_on="2026-03-13")
    assert response.status_code == 303, text_of(response.get_data(as_text=True))
    db.session.expire_all()
    dispute = db.session.get(Dispute, dispute.id)
    assert dispute.state == "evidence_received" and dispute.lapsed_dt is None
    # Friday 13 March + 7 days: the end of Friday 20 March in Denver.
    assert dispute.reply_due_dt == datetime(2026, 3, 21, 5, 59, 59, tzinfo=timezone.utc)


# Marked wherever the side is shown -----------------------------------------------------------------

def test_the_letter_is_marked_on_every_page_and_in_the_letter(app, frozen_clock, desk, waiting, client, manager,
                                                                make_panel, smtp):
    frozen_clock.move_to(START + timedelta(days=3))
    staff = desk()
    assert enter_letter(staff, waiting).status_code == 303

    staff_page = text_of(page_of(staff, waiting))
    assert f"By post: {MARK}" in staff_page
    assert f"Tammy Rivera's side came by post, {MARK}." in staff_page  # the history, as the page tells it

    status = text_of(client.get(evidence_path(waiting, "/status")).get_data(as_text=True))
    assert f"your letter, {MARK}" in status
    form = text_of(client.get(evidence_path(waiting)).get_data(as_text=True))  # they may still add more
    assert f"We already have your letter, {MARK}" in form
    receipt_page = client.get(evidence_path(waiting, f"/receipt/{the_submission(waiting).id}"))
    assert MARK in text_of(receipt_page.get_data(as_text=True))

    actor = Actor.staff(manager)
    members = make_panel(waiting.company, size=3)
    seats = panel.seat_panel(actor, waiting, [m.id for m in members])
    panel.send_to_panel(actor, waiting)
    db.session.commit()
    invitation = emails(waiting, "panel_invitation")[0]
    vote_path = re.search(re.escape(PUBLIC_ADDRESS) + r"(/p/v/\S+)", invitation.body_text).group(1)
    assert f"By post: {MARK}." in text_of(client.get(vote_path).get_data(as_text=True))

    for seat in seats:
        panel.record_vote(Actor.panel(seat.member), seat, choice="uphold",
                          reason="The move-out photos show the carpet needed cleaning.")
    panel.close_panel(Actor.system(), waiting)
    letter = outcome.draft_outcome(actor, waiting)
    # The resident knows their letter by the day it reached us, not by who typed it in.
    assert "Thank you for your letter giving us your side of this, which we received on Tuesday 10 March 2026." \
        in letter.body_text
    assert "Dana Whitfield" not in letter.body_text


# A resident without email: the office posts a printed receipt --------------------------------------

def test_without_an_email_address_the_manager_is_told_to_post_the_printable_receipt(
        app, frozen_clock, desk, waiting):
    waiting.resident.email = ""
    db.session.commit()
    frozen_clock.move_to(START + timedelta(days=3))
    staff = desk()
    response = enter_letter(staff, waiting, files=[("enclosure.pdf", PDF_PAGE)])
    assert response.status_code == 303
    page = staff.get(f"/disputes/{waiting.id}")
    text = text_of(page.get_data(as_text=True))
    assert "Tammy Rivera has no email address, so please print the receipt" in text
    assert "the resident has no email address, so please post it to them" in text
    assert emails(waiting, "evidence_receipt") == []

    submission = the_submission(waiting)
    link = f"/disputes/{waiting.id}/submissions/{submission.id}/receipt.pdf"
    assert link in page.get_data(as_text=True)
    pdf = staff.get(link)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    receipt = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages).split())
    assert "Dear Tammy Rivera" in receipt
    assert MARK in receipt
    assert "We will answer you in writing by 11:59 PM on Tuesday 17 March 2026" in receipt
    assert "The carpet was spotless when I moved out." in receipt
    assert "Refund the $150 cleaning charge." in receipt and "Amount asked for: $150" in receipt
    assert "enclosure.pdf" in receipt
    assert waiting.company.name in receipt and waiting.manager.name in receipt


# Refused, changing nothing ----------------------------------------------------------------------------

@pytest.mark.parametrize(("received_on", "says"), [
    ("2026-03-13", "The letter cannot have arrived after today (Thursday 12 March 2026)"),
    ("2026-03-08", "The dispute was opened on Monday 9 March 2026"),
    ("next Tuesday", "Pick a date (for example 2026-03-20)."),
    ("", "Pick a date (for example 2026-03-20)."),
])
def test_a_day_that_cannot_be_is_refused_and_nothing_changes(app, frozen_clock, desk, waiting, received_on, says):
    frozen_clock.move_to(START + timedelta(days=3))
    staff = desk()
    before, rows = dispute_snapshot(waiting.id), counts()
    response = enter_letter(staff, waiting, received_on=received_on, files=[("page-1.pdf", PDF_PAGE)])
    assert response.status_code == 422
    text = text_of(response.get_data(as_text=True))
    assert says in text and "Nothing was changed." in text
    assert "The carpet was spotless when I moved out." in text  # what was typed is still there
    assert dispute_snapshot(waiting.id) == before and counts() == rows


def test_a_letter_that_arrived_after_the_window_is_refused(app, frozen_clock, desk, waiting):
    frozen_clock.move_to(START + timedelta(days=8))  # Tuesday 17 March; the sweep has not lapsed it yet
    staff = desk()
    before, rows = dispute_snapshot(waiting.id), counts()
    response = enter_letter(staff, waiting, received_on="2026-03-16")
    assert response.status_code == 422
    assert "The letter arrived after the resident's time to send their side ended" in text_of(
        response.get_data(as_text=True))
    assert dispute_snapshot(waiting.id) == before and counts() == rows


@pytest.mark.parametrize("state", ["draft", "panel_review"])
def test_a_letter_cannot_be_entered_when_the_side_can_no_longer_be_received(
        app, frozen_clock, signed_in_client, manager, make_dispute, state):
    dispute = make_dispute(state)
    db.session.commit()
    staff = signed_in_client(manager)
    page = page_of(staff, dispute)
    assert "Enter a letter that came by post" not in page
    before, rows = dispute_snapshot(dispute.id), counts()
    response = staff.post(f"/disputes/{dispute.id}/letters-by-post", data={
        "expected_version": str(dispute.version), "form_key": "k" * 24, "received_on": "2026-03-09",
        "details": "A letter."})
    assert response.status_code == 409
    assert "A letter from the resident can be entered only while their side can be received" in text_of(
        response.get_data(as_text=True))
    assert dispute_snapshot(dispute.id) == before and counts() == rows


# A second letter, like a second send through the form ----------------------------------------------------

def test_a_second_letter_follows_the_rules_of_a_second_send(app, frozen_clock, desk, waiting, client):
    frozen_clock.move_to(START + timedelta(days=3))
    staff = desk()
    assert enter_letter(staff, waiting).status_code == 303
    db.session.expire_all()
    first = dispute_snapshot(waiting.id)

    frozen_clock.move_to(START + timedelta(days=4))
    staff = desk()
    response = enter_letter(staff, waiting, received_on="2026-03-13", details="One more photo, of the hallway.")
    assert response.status_code == 303
    db.session.expire_all()
    dispute = db.session.get(Dispute, waiting.id)
    # The side was already received: its clock does not start again, as for a second send by the form.
    assert (dispute.evidence_received_dt, dispute.reply_due_dt) == (first[3], first[4]) and dispute.reply_due_dt == REPLY_DUE
    assert len(db.session.scalars(select(Submission).where(Submission.dispute_id == dispute.id)).all()) == 2

    # Once the window has ended, neither a letter nor the form (drawn before it ended) can add more.
    form = ResidentForm(client, waiting)
    form.open()
    frozen_clock.move_to(START + timedelta(days=8))
    staff = desk()
    before, rows = dispute_snapshot(waiting.id), counts()
    assert enter_letter(staff, waiting, received_on="2026-03-16").status_code == 422
    assert form.send(details="And another thing.").status_code == 409
    assert dispute_snapshot(waiting.id) == before and counts() == rows


def test_the_same_entry_sent_twice_records_the_letter_once(app, frozen_clock, desk, waiting):
    frozen_clock.move_to(START + timedelta(days=3))
    staff = desk()
    page = page_of(staff, waiting)
    data = {"csrf_token": hidden(page, "csrf_token"), "expected_version": hidden(page, "expected_version"),
            "form_key": hidden(page, "form_key"), "received_on": "2026-03-10", "details": "My letter."}
    assert staff.client.post(f"/disputes/{waiting.id}/letters-by-post", data=dict(data)).status_code == 303
    assert staff.client.post(f"/disputes/{waiting.id}/letters-by-post", data=dict(data)).status_code == 303
    assert len(db.session.scalars(select(Submission).where(Submission.dispute_id == waiting.id)).all()) == 1
    assert len(emails(waiting, "evidence_receipt")) == 1
