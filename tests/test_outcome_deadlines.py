"""The 7-day reply from the letter's side, on a movable clock: reminders and escalation before it,
a breach recorded and never hidden when the letter is late, and a letter that says sorry for it."""
from __future__ import annotations

import io
from datetime import datetime, timedelta

import pypdf
import pytest

from resolver import clock
from resolver.actors import Actor
from resolver.deadlines import sweep_deadlines
from resolver.extensions import db
from resolver.mail import send_pending
from resolver.services import outcome
from resolver.workdays import format_day

from .dispute_checks import actions, emails, history, pending


def move_to(moment: datetime) -> None:
    clock.advance(moment - clock.now_utc())


@pytest.fixture
def staff(manager):
    return Actor.staff(manager)


@pytest.fixture
def decided(make_dispute):
    dispute = make_dispute("decided", votes=("uphold", "resident", "resident"))
    db.session.commit()
    return dispute


def test_a_late_letter_is_reminded_escalated_recorded_and_says_sorry_for_the_delay(decided, staff, manager, company,
                                                                                  smtp):
    dispute = decided
    due = dispute.reply_due_dt
    assert set(pending(dispute)) >= {"reply:remind:0", "reply:remind:1", "reply:due"}

    move_to(due - timedelta(days=3))
    sweep_deadlines()
    assert [e.to_addr for e in emails(dispute, "reply_reminder")] == [manager.email]
    move_to(due - timedelta(days=1))
    sweep_deadlines()
    (at_risk,) = emails(dispute, "reply_at_risk")
    assert at_risk.to_addr == company.supervisor_email
    assert "What is holding it up: the team has decided, but the letter has not been drafted yet." in at_risk.body_text
    move_to(due + timedelta(hours=1))
    sweep_deadlines()
    db.session.expire_all()
    assert dispute.reply_breached_dt == due + timedelta(hours=1)
    assert sorted(e.to_addr for e in emails(dispute, "reply_breached")) == sorted([manager.email,
                                                                                  company.supervisor_email])

    # The manager writes the letter a day late: the draft says sorry for the delay, and must.
    move_to(due + timedelta(days=1))
    letter = outcome.draft_outcome(staff, dispute)
    assert "I'm also sorry this reply comes later than the 7 days we promised you." in letter.body_text
    assert f"We owed it to you by {format_day(due, company)}. That delay is ours, not yours." in letter.body_text
    without_apology = letter.body_text.replace(
        "I'm also sorry this reply comes later than the 7 days we promised you. We owed it to you by "
        f"{format_day(due, company)}. That delay is ours, not yours.", "")
    outcome.edit_letter(staff, letter, body_text=without_apology)
    with pytest.raises(outcome.ToneCheckFailed) as refused:
        outcome.approve_letter(staff, letter)
    assert [flag.code for flag in refused.value.flags] == ["late_without_apology"]
    db.session.rollback()
    letter = outcome.draft_outcome(staff, dispute)
    outcome.approve_letter(staff, letter)
    outcome.send_outcome(staff, dispute)
    db.session.commit()

    # The breach stays on the record, once; the send says it was late.
    assert dispute.reply_breached_dt == due + timedelta(hours=1)
    assert actions(dispute).count("reply_breached") == 1
    sent = [e for e in history(dispute) if e.action == "send_outcome"][0]
    assert sent.data["late"] is True
    assert not any(kind.startswith("reply:") for kind in pending(dispute))

    send_pending()
    (message,) = [m for m in smtp.to(dispute.resident.email)
                  if m["Subject"] == "Our written reply about the deductions from your security deposit"]
    assert "later than the 7 days we promised you" in smtp.text_of(message)
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    pdf = pypdf.PdfReader(io.BytesIO(attachment.get_content()))
    assert "later than the 7 days we promised you" in " ".join(pdf.pages[0].extract_text().split())


def test_a_letter_sent_late_before_any_sweep_still_records_the_breach(decided, staff, company):
    dispute = decided
    letter = outcome.draft_outcome(staff, dispute)
    outcome.approve_letter(staff, letter)
    db.session.commit()
    move_to(dispute.reply_due_dt + timedelta(minutes=10))  # the worker was down: no sweep ran
    outcome.send_outcome(staff, dispute)
    db.session.commit()
    assert dispute.reply_breached_dt == clock.now_utc()
    assert actions(dispute)[-2:] == ["reply_breached", "send_outcome"]
    assert company.supervisor_email in [e.to_addr for e in emails(dispute, "reply_breached")]
    sweep_deadlines()  # the reply timers were cancelled with the send: nothing more happens
    assert actions(dispute).count("reply_breached") == 1


def test_a_letter_sent_in_time_stops_the_reminders_and_there_is_no_breach(decided, staff):
    dispute = decided
    letter = outcome.draft_outcome(staff, dispute)
    outcome.approve_letter(staff, letter)
    outcome.send_outcome(staff, dispute)
    db.session.commit()
    move_to(dispute.reply_due_dt + timedelta(days=1))
    sweep_deadlines()
    db.session.expire_all()
    assert dispute.reply_breached_dt is None
    assert emails(dispute, "reply_reminder") == [] and emails(dispute, "reply_breached") == []
    assert [e for e in history(dispute) if e.action == "send_outcome"][0].data["late"] is False


def test_a_letter_approved_after_the_deadline_is_checked_for_an_apology(decided, staff):
    dispute = decided
    letter = outcome.draft_outcome(staff, dispute)  # drafted in time: no apology for lateness in it
    move_to(dispute.reply_due_dt + timedelta(hours=3))
    assert [flag.code for flag in outcome.tone_flags(letter)] == ["late_without_apology"]
    outcome.approve_letter(staff, letter, override_reason="I called the resident to apologise in person.")
    assert letter.tone_override_reason == "I called the resident to apologise in person."


@pytest.mark.parametrize(("state", "holdup"), [
    ("evidence_received", "the case has not gone to the resolution team yet"),
    ("deadlocked", "the team did not reach a decision, and it is waiting for Morgan Manager to decide"),
    ("outcome_draft", "the letter is drafted but has not been approved and sent"),
])
def test_at_risk_says_what_holds_the_reply_up(make_dispute, company, state, holdup):
    dispute = make_dispute(state, votes=("uphold", "resident", "compromise"))
    db.session.commit()
    move_to(dispute.reply_due_dt - timedelta(days=1))
    sweep_deadlines()
    (at_risk,) = emails(dispute, "reply_at_risk")
    assert f"What is holding it up: {holdup}." in at_risk.body_text
    assert f"What is holding it up: {holdup}." in at_risk.body_html


def test_a_letter_nobody_confirms_gets_one_last_follow_up_by_email_with_a_calendar_reminder(decided, staff, manager,
                                                                                            smtp):
    dispute = decided
    letter = outcome.draft_outcome(staff, dispute)
    outcome.approve_letter(staff, letter)
    outcome.send_outcome(staff, dispute)
    db.session.commit()
    send_pending()
    smtp.clear()

    move_to(dispute.follow_up_due_dt - timedelta(minutes=1))
    assert sweep_deadlines() == 0  # not yet
    move_to(dispute.follow_up_due_dt)
    assert sweep_deadlines() == 1
    move_to(dispute.follow_up_due_dt + timedelta(days=7))
    sweep_deadlines()  # one last follow-up, never a second
    send_pending()

    (to_resident,) = smtp.to(dispute.resident.email)
    assert to_resident["Subject"] == "Did our letter reach you?"
    assert "/r/o/" in smtp.text_of(to_resident)
    (pdf,) = list(to_resident.iter_attachments())
    assert pdf.get_content_type() == "application/pdf" and pdf.get_content().startswith(b"%PDF")
    (to_manager,) = smtp.to(manager.email)
    (ics,) = list(to_manager.iter_attachments())
    assert ics.get_content_type() == "text/calendar" and ics.get_filename() == "follow-up-reminder.ics"
    calendar = ics.get_content()
    calendar = calendar.decode() if isinstance(calendar, bytes) else calendar
    assert "BEGIN:VEVENT" in calendar and f"SUMMARY:Call {dispute.resident.name} about the letter" in calendar
    (task,) = outcome.open_tasks(dispute, "follow_up")
    assert task.assignee_id == manager.id
