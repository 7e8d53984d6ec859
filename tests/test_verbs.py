"""One test group per verb in services/disputes.py and services/evidence.py: who may call it, in
which state, until when, and what it leaves in the history and the outbox."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from resolver import clock
from resolver.actors import Actor
from resolver.errors import DeadlinePassed, GuardFailed, InvalidInput, NotAllowed, StaleDispute, WrongState
from resolver.extensions import db
from resolver.links import PUBLIC_ADDRESS
from resolver.models import AccessLink, ExtensionRequest, Submission
from resolver.services import disputes, evidence, ladder
from resolver.workflow.definition import load_definition

from .conftest import START
from .dispute_checks import actions, emails, history, pending, refused, templates, timers

DENVER = ZoneInfo("America/Denver")
# Opened Monday 9 March 2026: five calendar days end at midnight on Saturday 14 March, Denver time.
EVIDENCE_DUE = datetime(2026, 3, 14, 23, 59, 59, tzinfo=DENVER).astimezone(timezone.utc)


@pytest.fixture
def staff(manager):
    return Actor.staff(manager)


@pytest.fixture
def as_resident(resident):
    return Actor.resident(resident)


def submit(actor, dispute, **fields):
    return evidence.submit_evidence(
        actor, dispute,
        form_key=fields.pop("form_key", uuid.uuid4().hex),
        details=fields.pop("details", "The carpet was clean when I moved out; photos attached."),
        suggested_resolution=fields.pop("suggested_resolution", "Refund the $150 cleaning charge."),
        **fields,
    )


# create ----------------------------------------------------------------------------------------

def test_create_makes_a_draft_with_its_items_and_one_history_line(staff, resident):
    dispute = disputes.create_dispute(
        staff, resident=resident, issue="  The cleaning charge is unfair.  ",
        items=[{"description": "Carpet cleaning", "amount_cents": 15000, "company_reason": "Stains"},
               {"description": "Blinds", "amount_cents": "4000"}],
    )
    assert dispute.state == "draft"
    assert dispute.issue == "The cleaning charge is unfair."
    assert [(i.description, i.amount_cents) for i in dispute.items] == [("Carpet cleaning", 15000), ("Blinds", 4000)]
    assert [(e.action, e.from_state, e.to_state) for e in history(dispute)] == [("create", None, "draft")]
    assert emails(dispute) == [] and timers(dispute) == []


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"issue": "   "}, "issue"),
        ({"items": [{"description": "", "amount_cents": 100}]}, "items"),
        ({"items": [{"description": "Blinds", "amount_cents": -5}]}, "items"),
        ({"items": [{"description": "Blinds", "amount_cents": "lots"}]}, "items"),
    ],
)
def test_create_refuses_bad_input_naming_the_field(staff, resident, fields, field):
    with pytest.raises(InvalidInput) as caught:
        disputes.create_dispute(staff, resident=resident, **{"issue": "The charge is unfair.", **fields})
    assert caught.value.field == field


def test_create_refuses_a_resident_of_another_company(staff, make_company, make_resident):
    stranger = make_resident(make_company())
    with pytest.raises(InvalidInput, match="another company"):
        disputes.create_dispute(staff, resident=stranger, issue="Noise")


# open ------------------------------------------------------------------------------------------

def test_open_invites_the_resident_and_starts_the_evidence_window(make_dispute, staff, resident):
    dispute = make_dispute("draft")
    disputes.open_dispute(staff, dispute)
    db.session.commit()

    assert dispute.state == "awaiting_evidence"
    assert dispute.opened_dt == START
    assert dispute.evidence_due_dt == EVIDENCE_DUE
    assert pending(dispute) == {"evidence:remind:0": EVIDENCE_DUE - timedelta(days=2), "evidence:due": EVIDENCE_DUE}
    opened = history(dispute)[-1]
    assert (opened.action, opened.from_state, opened.to_state, opened.actor_kind, opened.actor_label) == (
        "open", "draft", "awaiting_evidence", "staff", "Morgan Manager")
    [invitation] = emails(dispute)
    assert (invitation.template, invitation.to_addr) == ("evidence_invitation", resident.email)
    link = db.session.scalars(db.select(AccessLink).where(AccessLink.dispute_id == dispute.id)).one()
    assert link.purpose == "evidence" and link.resident_id == resident.id
    assert link.expires_dt > dispute.evidence_due_dt
    assert f"{PUBLIC_ADDRESS}/r/e/" in invitation.body_text and invitation.has_links


def test_a_supervisor_may_open_too(make_dispute, company, make_staff):
    dispute = make_dispute("draft")
    disputes.open_dispute(Actor.staff(make_staff(company, "supervisor")), dispute)
    assert dispute.state == "awaiting_evidence"


def test_open_by_someone_else_is_refused_and_changes_nothing(make_dispute, make_company, make_staff, as_resident):
    dispute = make_dispute("draft")
    outsider = Actor.staff(make_staff(make_company()))
    refused(NotAllowed, dispute, lambda: disputes.open_dispute(outsider, dispute), "company's own staff")
    refused(NotAllowed, dispute, lambda: disputes.open_dispute(as_resident, dispute))


def test_open_twice_says_what_is_allowed_now(make_dispute, staff):
    dispute = make_dispute("awaiting_evidence")
    error = refused(WrongState, dispute, lambda: disputes.open_dispute(staff, dispute))
    assert "waiting for the resident's side cannot open" in error.message
    assert "Allowed now: submit evidence, lapse, withdraw" in error.message
    assert error.allowed == ["submit_evidence", "lapse", "withdraw"]


def test_open_without_the_resident_email_is_refused(make_dispute, staff, resident):
    dispute = make_dispute("draft")
    resident.email = ""
    error = refused(GuardFailed, dispute, lambda: disputes.open_dispute(staff, dispute))
    assert "no email address" in error.message


def test_open_from_a_stale_page_is_refused(make_dispute, staff):
    dispute = make_dispute("draft")
    drawn_from = dispute.version - 1
    error = refused(StaleDispute, dispute, lambda: disputes.open_dispute(staff, dispute, expected_version=drawn_from))
    assert "changed while you were looking at it" in error.message


def test_every_change_bumps_the_version(make_dispute, staff):
    dispute = make_dispute("draft")
    db.session.commit()
    before = dispute.version
    disputes.open_dispute(staff, dispute, expected_version=before)
    db.session.commit()
    assert dispute.version == before + 1


# submit_evidence -------------------------------------------------------------------------------

def test_submission_starts_the_reply_window_and_tells_both_sides(make_dispute, as_resident, resident, manager):
    dispute = make_dispute("awaiting_evidence")
    clock.advance(timedelta(days=2))
    submission = submit(as_resident, dispute, suggested_amount_cents=15000)
    db.session.commit()

    received = START + timedelta(days=2)
    reply_due = datetime(2026, 3, 18, 23, 59, 59, tzinfo=DENVER).astimezone(timezone.utc)
    assert dispute.state == "evidence_received"
    assert (dispute.evidence_received_dt, dispute.reply_due_dt) == (received, reply_due)
    assert submission.received_dt == received and submission.suggested_amount_cents == 15000
    assert pending(dispute) == {
        "reply:remind:0": reply_due - timedelta(days=3),
        "reply:remind:1": reply_due - timedelta(days=1),
        "reply:remind:2": reply_due - timedelta(days=1),
        "reply:due": reply_due,
    }
    assert {t.kind for t in timers(dispute, "cancelled")} == {"evidence:due", "evidence:remind:0"}
    event = history(dispute)[-1]
    assert (event.action, event.actor_kind, event.from_state, event.to_state) == (
        "submit_evidence", "resident", "awaiting_evidence", "evidence_received")
    receipt, arrived = emails(dispute)[-2:]
    assert (receipt.template, receipt.to_addr) == ("evidence_receipt", resident.email)
    assert (arrived.template, arrived.to_addr) == ("evidence_arrived", manager.email)


def test_a_double_click_saves_one_submission(make_dispute, as_resident):
    dispute = make_dispute("awaiting_evidence")
    first = submit(as_resident, dispute, form_key="same-key")
    again = submit(as_resident, dispute, form_key="same-key")
    assert again.id == first.id
    assert actions(dispute).count("submit_evidence") == 1
    assert templates(dispute).count("evidence_receipt") == 1


def test_a_second_submission_keeps_the_reply_deadline_of_the_first(make_dispute, as_resident):
    dispute = make_dispute("evidence_received")
    due, received = dispute.reply_due_dt, dispute.evidence_received_dt
    clock.advance(timedelta(hours=3))
    submit(as_resident, dispute, details="One more photo of the hallway.")
    assert (dispute.state, dispute.reply_due_dt, dispute.evidence_received_dt) == ("evidence_received", due, received)
    assert [t.kind for t in timers(dispute, "pending")].count("reply:due") == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(Submission)) == 2


def test_only_the_resident_of_the_dispute_may_submit(make_dispute, make_resident, company, staff):
    dispute = make_dispute("awaiting_evidence")
    neighbour = Actor.resident(make_resident(company, name="Nina Neighbour"))
    refused(NotAllowed, dispute, lambda: submit(neighbour, dispute), "Only the resident")
    refused(NotAllowed, dispute, lambda: submit(staff, dispute))


def test_submission_after_the_deadline_is_refused_with_the_deadline(make_dispute, as_resident):
    dispute = make_dispute("awaiting_evidence")
    clock.advance(dispute.evidence_due_dt - clock.now_utc())
    submit(as_resident, dispute)  # the last second still counts
    late = make_dispute("awaiting_evidence")
    clock.advance(late.evidence_due_dt - clock.now_utc() + timedelta(seconds=1))
    error = refused(DeadlinePassed, late, lambda: submit(as_resident, late))
    assert "The time to send evidence ended at 11:59 PM on" in error.message
    assert "(America/Denver)" in error.message


@pytest.mark.parametrize("state, allowed", [("draft", "open, withdraw")])
def test_submission_in_the_wrong_state_names_what_is_allowed(make_dispute, as_resident, state, allowed):
    dispute = make_dispute(state)
    error = refused(WrongState, dispute, lambda: submit(as_resident, dispute))
    assert f"Allowed now: {allowed}." in error.message


def test_submission_to_a_lapsed_dispute_is_refused_with_the_deadline(make_dispute, as_resident):
    """A lapsed dispute takes only a letter that arrived in time (typed in by staff): the form is late."""
    dispute = make_dispute("lapsed")
    error = refused(DeadlinePassed, dispute, lambda: submit(as_resident, dispute))
    assert "The time to send evidence ended at 11:59 PM on" in error.message


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"details": "  "}, "details"),
        ({"details": "x" * 20_001}, "details"),
        ({"suggested_amount_cents": -1}, "suggested_amount"),
        ({"item_responses": {"999999": "not mine"}}, "items"),
    ],
)
def test_bad_submissions_name_the_field_and_change_nothing(make_dispute, as_resident, fields, field):
    dispute = make_dispute("awaiting_evidence")
    error = refused(InvalidInput, dispute, lambda: submit(as_resident, dispute, **fields))
    assert error.field == field


def test_item_responses_are_kept_per_item(make_dispute, as_resident):
    dispute = make_dispute("awaiting_evidence", items=[{"description": "Carpet", "amount_cents": 15000}])
    item = dispute.items[0]
    submission = submit(as_resident, dispute, item_responses={str(item.id): " It was clean. "})
    assert submission.item_responses == {str(item.id): "It was clean."}


# lapse -----------------------------------------------------------------------------------------

def test_lapse_after_the_window_tells_the_manager(make_dispute, manager):
    dispute = make_dispute("awaiting_evidence")
    clock.advance(dispute.evidence_due_dt - clock.now_utc() + timedelta(minutes=1))
    disputes.lapse_dispute(Actor.system("Resolver (deadline)"), dispute)
    assert (dispute.state, dispute.lapsed_dt) == ("lapsed", clock.now_utc())
    event = history(dispute)[-1]
    assert (event.action, event.actor_kind, event.actor_label) == ("lapse", "system", "Resolver (deadline)")
    assert "No submission arrived in time." == event.reason
    [lapsed] = emails(dispute, "evidence_lapsed")
    assert lapsed.to_addr == manager.email
    assert pending(dispute) == {}


def test_lapse_before_the_window_ends_is_refused(make_dispute):
    dispute = make_dispute("awaiting_evidence")
    error = refused(GuardFailed, dispute, lambda: disputes.lapse_dispute(Actor.system(), dispute))
    assert "The resident still has until 11:59 PM on Saturday 14 March 2026" in error.message


# extend_window ---------------------------------------------------------------------------------

def test_an_extension_moves_the_timers_and_keeps_both_dates(make_dispute, staff, resident):
    dispute = make_dispute("awaiting_evidence")
    old_due = dispute.evidence_due_dt
    new_due = old_due + timedelta(days=3)
    disputes.extend_window(staff, dispute, window="evidence", new_due=new_due, reason=" The resident is travelling. ")
    db.session.commit()

    assert dispute.evidence_due_dt == new_due
    assert pending(dispute) == {"evidence:remind:0": new_due - timedelta(days=2), "evidence:due": new_due}
    assert {(t.kind, t.due_dt) for t in timers(dispute, "cancelled")} == {
        ("evidence:due", old_due), ("evidence:remind:0", old_due - timedelta(days=2))}
    event = history(dispute)[-1]
    assert (event.action, event.from_state, event.to_state, event.reason) == (
        "extend", "awaiting_evidence", "awaiting_evidence", "The resident is travelling.")
    assert event.data == {"window": "evidence", "old_due": old_due.isoformat(), "new_due": new_due.isoformat()}
    link = db.session.scalars(db.select(AccessLink).where(AccessLink.dispute_id == dispute.id)).one()
    assert link.expires_dt >= new_due + load_definition().link_grace["evidence"]
    [told] = emails(dispute, "window_extended")
    assert told.to_addr == resident.email


def test_an_extended_window_accepts_what_the_old_one_would_have_refused(make_dispute, staff, as_resident):
    dispute = make_dispute("awaiting_evidence")
    disputes.extend_window(staff, dispute, window="evidence", new_due=dispute.evidence_due_dt + timedelta(days=2),
                           reason="Family emergency.")
    clock.advance(timedelta(days=6))
    submit(as_resident, dispute)
    assert dispute.state == "evidence_received"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"reason": "  "}, "reason"),
        ({"new_due": START - timedelta(hours=1)}, "new_due"),
        ({"new_due": START + timedelta(days=1)}, "new_due"),  # earlier than the current deadline
        ({"window": "coffee"}, "window"),
    ],
)
def test_bad_extensions_are_refused(make_dispute, staff, change, field):
    dispute = make_dispute("awaiting_evidence")
    args = {"window": "evidence", "new_due": START + timedelta(days=9), "reason": "Travel.", **change}
    error = refused(InvalidInput, dispute, lambda: disputes.extend_window(staff, dispute, **args))
    assert error.field == field


def test_a_window_that_is_not_running_cannot_be_extended(make_dispute, staff):
    dispute = make_dispute("awaiting_evidence")
    error = refused(WrongState, dispute, lambda: disputes.extend_window(
        staff, dispute, window="reply", new_due=START + timedelta(days=20), reason="Busy."))
    assert "reply window is not running" in error.message


def test_only_staff_extend(make_dispute, as_resident):
    dispute = make_dispute("awaiting_evidence")
    refused(NotAllowed, dispute, lambda: disputes.extend_window(
        as_resident, dispute, window="evidence", new_due=START + timedelta(days=9), reason="I want more."))


# withdraw --------------------------------------------------------------------------------------

def test_withdraw_revokes_links_cancels_timers_and_tells_the_resident(make_dispute, staff, resident):
    dispute = make_dispute("awaiting_evidence")
    disputes.withdraw_dispute(staff, dispute, reason="Settled with the owner.")
    db.session.commit()
    assert (dispute.state, dispute.withdrawn_dt) == ("withdrawn", START)
    assert dispute.close_reason == "Settled with the owner."
    assert pending(dispute) == {}
    links = db.session.scalars(db.select(AccessLink).where(AccessLink.dispute_id == dispute.id)).all()
    assert links and all(link.revoked_dt == START for link in links)
    [told] = emails(dispute, "dispute_withdrawn")
    assert told.to_addr == resident.email
    assert history(dispute)[-1].reason == "Settled with the owner."


def test_withdrawing_a_draft_sends_nothing(make_dispute, staff):
    dispute = make_dispute("draft")
    disputes.withdraw_dispute(staff, dispute, reason="Opened by mistake.")
    assert dispute.state == "withdrawn" and emails(dispute) == []


def test_withdraw_needs_a_reason_and_a_live_dispute(make_dispute, staff):
    dispute = make_dispute("awaiting_evidence")
    error = refused(InvalidInput, dispute, lambda: disputes.withdraw_dispute(staff, dispute, reason=" "))
    assert error.field == "reason"
    disputes.withdraw_dispute(staff, dispute, reason="Settled.")
    error = refused(WrongState, dispute, lambda: disputes.withdraw_dispute(staff, dispute, reason="Again."))
    assert "Allowed now: nothing (this dispute is finished)." in error.message


# close -----------------------------------------------------------------------------------------

def test_close_a_lapsed_dispute(make_dispute, staff):
    dispute = make_dispute("lapsed")
    disputes.close_dispute(staff, dispute, reason="No reply from the resident.")
    assert (dispute.state, dispute.closed_dt, dispute.close_reason) == (
        "closed", clock.now_utc(), "No reply from the resident.")
    assert actions(dispute)[-1] == "close"


def test_an_open_dispute_cannot_be_closed(make_dispute, staff):
    dispute = make_dispute("awaiting_evidence")
    error = refused(WrongState, dispute, lambda: disputes.close_dispute(staff, dispute))
    assert "cannot close" in error.message and "Allowed now: submit evidence, lapse, withdraw." in error.message


# record_reply_breach ---------------------------------------------------------------------------

def test_a_reply_breach_is_recorded_once_and_escalated(make_dispute, manager, company):
    dispute = make_dispute("evidence_received")
    clock.advance(dispute.reply_due_dt - clock.now_utc() + timedelta(minutes=1))
    disputes.record_reply_breach(Actor.system(), dispute)
    disputes.record_reply_breach(Actor.system(), dispute)
    assert dispute.reply_breached_dt == clock.now_utc()
    assert dispute.state == "evidence_received"  # a breach is recorded; the dispute does not move
    assert actions(dispute).count("reply_breached") == 1
    told = sorted(e.to_addr for e in emails(dispute, "reply_breached"))
    assert told == sorted([manager.email, company.supervisor_email])


def test_supervisor_accounts_are_told_when_there_is_no_supervisor_contact(make_dispute, company, make_staff):
    boss = make_staff(company, "supervisor")
    dispute = make_dispute("evidence_received")
    company.supervisor_email = ""  # taken out after the dispute opened (no dispute opens without it)
    assert ladder.supervisors_of(dispute) == [{"email": boss.email, "name": boss.name}]


def test_no_breach_before_the_reply_is_due(make_dispute):
    dispute = make_dispute("evidence_received")
    error = refused(WrongState, dispute, lambda: disputes.record_reply_breach(Actor.system(), dispute))
    assert "The written reply is not due until 11:59 PM on Monday 16 March 2026" in error.message


def test_no_breach_outside_the_reply_window(make_dispute):
    dispute = make_dispute("awaiting_evidence")
    refused(WrongState, dispute, lambda: disputes.record_reply_breach(Actor.system(), dispute))


# more time -------------------------------------------------------------------------------------

def test_the_resident_asks_for_more_time_once(make_dispute, as_resident, manager):
    dispute = make_dispute("awaiting_evidence")
    request = evidence.request_more_time(as_resident, dispute, days=3, reason="I am away until Monday.")
    assert (request.status, request.days_asked) == ("pending", 3)
    event = history(dispute)[-1]
    # Their reason is kept on the request the event names, not in the history.
    assert (event.action, event.data, event.reason, event.actor_kind) == (
        "ask_more_time", {"days": 3, "request_id": request.id}, "", "resident")
    assert request.reason == "I am away until Monday."
    [asked] = emails(dispute, "more_time_requested")
    assert asked.to_addr == manager.email
    error = refused(InvalidInput, dispute, lambda: evidence.request_more_time(as_resident, dispute, days=2, reason="x"))
    assert "already asked" in error.message


@pytest.mark.parametrize("days", [0, 15])
def test_more_time_is_between_one_and_fourteen_days(make_dispute, as_resident, days):
    dispute = make_dispute("awaiting_evidence")
    refused(InvalidInput, dispute, lambda: evidence.request_more_time(as_resident, dispute, days=days, reason="Away."))


def test_more_time_after_the_deadline_or_after_submitting_is_refused(make_dispute, as_resident):
    dispute = make_dispute("awaiting_evidence")
    clock.advance(dispute.evidence_due_dt - clock.now_utc() + timedelta(seconds=1))
    error = refused(DeadlinePassed, dispute,
                    lambda: evidence.request_more_time(as_resident, dispute, days=2, reason="x"))
    assert "contact the office" in error.message
    received = make_dispute("evidence_received")
    refused(WrongState, received, lambda: evidence.request_more_time(as_resident, received, days=2, reason="x"))


def test_granting_more_time_moves_the_deadline_by_the_days_asked(make_dispute, as_resident, staff):
    dispute = make_dispute("awaiting_evidence")
    old_due = dispute.evidence_due_dt
    request = evidence.request_more_time(as_resident, dispute, days=3, reason="Away.")
    evidence.answer_more_time(staff, dispute, request, grant=True)
    assert request.status == "granted" and request.answered_dt == START
    assert dispute.evidence_due_dt == datetime(2026, 3, 17, 23, 59, 59, tzinfo=DENVER).astimezone(timezone.utc)
    extend = history(dispute)[-1]
    assert extend.action == "extend" and extend.reason == "The resident asked for 3 more days."
    assert extend.data["old_due"] == old_due.isoformat()
    assert templates(dispute)[-1] == "window_extended"
    error = refused(InvalidInput, dispute, lambda: evidence.answer_more_time(staff, dispute, request, grant=False))
    assert "already been answered" in error.message


def test_refusing_more_time_keeps_the_deadline_and_tells_the_resident(make_dispute, as_resident, staff, resident):
    dispute = make_dispute("awaiting_evidence")
    due = dispute.evidence_due_dt
    request = evidence.request_more_time(as_resident, dispute, days=3, reason="Away.")
    evidence.answer_more_time(staff, dispute, request, grant=False, note="The inspection is booked.")
    assert (request.status, dispute.evidence_due_dt) == ("refused", due)
    assert actions(dispute)[-1] == "refuse_more_time"
    [told] = emails(dispute, "more_time_refused")
    assert told.to_addr == resident.email


def test_only_staff_answer_a_request_for_more_time(make_dispute, as_resident):
    dispute = make_dispute("awaiting_evidence")
    request = evidence.request_more_time(as_resident, dispute, days=3, reason="Away.")
    refused(NotAllowed, dispute, lambda: evidence.answer_more_time(as_resident, dispute, request, grant=True))
    assert db.session.get(ExtensionRequest, request.id).status == "pending"
