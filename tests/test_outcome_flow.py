"""Following the written outcome through: approve, send, confirm, accept or decline, follow up,
fulfil; and everything that must be refused without changing anything."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from resolver import clock
from resolver.actors import Actor
from resolver.deadlines import sweep_deadlines
from resolver.errors import AlreadyRecorded, DeadlinePassed, GuardFailed, InvalidInput, NotAllowed, WrongState
from resolver.extensions import db
from resolver.files import read_bytes
from resolver.letters.pdf import LetterRenderError
from resolver.models import AuditEvent, Dispute, Letter, OfferAnswer, Task
from resolver.services import outcome

from .dispute_checks import actions, emails, history, refused, templates


@pytest.fixture
def staff(manager):
    return Actor.staff(manager)


@pytest.fixture
def drafted(make_dispute, staff):
    """A compromise the team decided, with its draft letter (a $25 token and $50 off the deposit)."""
    dispute = make_dispute("decided", votes=("uphold", "compromise", "compromise"))
    return dispute, outcome.draft_outcome(staff, dispute)


@pytest.fixture
def sent(drafted, staff):
    dispute, letter = drafted
    outcome.approve_letter(staff, letter)
    outcome.send_outcome(staff, dispute)
    db.session.commit()
    return dispute, letter


def as_resident(dispute):
    return Actor.resident(dispute.resident)


# Approving and sending -------------------------------------------------------------------------

def test_there_is_no_letter_before_a_decision(make_dispute, staff):
    dispute = make_dispute("panel_review")
    error = refused(WrongState, dispute, lambda: outcome.draft_outcome(staff, dispute))
    assert "no decision yet" in error.message
    error = refused(WrongState, dispute, lambda: outcome.send_outcome(staff, dispute))
    assert "no decision yet" in error.message


def test_a_draft_cannot_go_before_it_is_approved(drafted, staff):
    dispute, _ = drafted
    error = refused(GuardFailed, dispute, lambda: outcome.send_outcome(staff, dispute))
    assert error.message == "Approve the letter before sending it."


def test_the_tone_check_stops_approval_until_the_manager_gives_a_reason(drafted, staff):
    dispute, letter = drafted
    outcome.edit_letter(staff, letter, body_text=letter.body_text.replace(
        "Thank you for bringing this to us", "Please calm down. As I already told you, thank you for bringing this to us"))
    error = refused(outcome.ToneCheckFailed, dispute, lambda: outcome.approve_letter(staff, letter))
    assert [flag.code for flag in error.flags] == ["calm_down", "already_told"]
    assert "“Calm down” always escalates" in error.message
    assert letter.status == "draft"

    outcome.approve_letter(staff, letter, override_reason="  The resident asked for it   in these words. ")
    assert letter.status == "approved"
    assert letter.tone_override_reason == "The resident asked for it in these words."
    assert [flag["code"] for flag in letter.tone_flags] == ["calm_down", "already_told"]
    approved = [e for e in history(dispute) if e.action == "letter_approved"][-1]
    assert approved.data["sent_anyway"] is True
    assert approved.reason == "Approved despite the tone check: The resident asked for it in these words."


def test_editing_an_approved_letter_needs_a_new_approval(drafted, staff):
    dispute, letter = drafted
    outcome.approve_letter(staff, letter)
    outcome.edit_letter(staff, letter, token_cents=1500)
    assert letter.status == "draft" and letter.approved_dt is None
    assert "Our offer to you" in letter.body_html and "a $15 coffee-shop gift card" in letter.body_html
    edited = [e for e in history(dispute) if e.action == "letter_edited"][-1]
    assert edited.data["offer"] == {
        "from": {"token_kind": "coffee-shop gift card", "token_cents": 2500, "concession_cents": 5000},
        "to": {"token_kind": "coffee-shop gift card", "token_cents": 1500, "concession_cents": 5000},
    }
    with pytest.raises(GuardFailed):
        outcome.send_outcome(staff, dispute)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"token_cents": 5001}, "token_cents", "A token can be at most $50 (the company's limit)."),
        ({"concession_cents": 50001}, "concession_cents", "A concession can be at most $500 (the company's limit)."),
        ({"token_cents": -1}, "token_cents", "The amount cannot be negative."),
        ({"token_cents": "ten"}, "token_cents", "Please give the amount as a number."),
        ({"token_kind": "  "}, "token_kind", "Say what the token is, for example a coffee-shop gift card."),
        ({"body_text": " \n "}, "body_text", "The letter cannot be empty."),
    ],
)
def test_an_offer_over_the_caps_or_a_bad_edit_is_refused(drafted, staff, change, field, message):
    dispute, letter = drafted
    error = refused(InvalidInput, dispute, lambda: outcome.edit_letter(staff, letter, **change))
    assert (error.field, error.message) == (field, message)
    db.session.refresh(letter)
    assert (letter.token_cents, letter.concession_cents) == (2500, 5000)


def test_a_cap_lowered_after_approval_stops_the_send(drafted, staff, company):
    dispute, letter = drafted
    outcome.approve_letter(staff, letter)
    company.concession_cap_cents = 2000
    error = refused(InvalidInput, dispute, lambda: outcome.send_outcome(staff, dispute))
    assert error.field == "concession_cents"


def test_sending_makes_the_pdf_queues_one_email_and_opens_the_follow_up(sent, company):
    dispute, letter = sent
    assert dispute.state == "outcome_sent"
    assert dispute.outcome_sent_dt == clock.now_utc() and letter.sent_dt == clock.now_utc()
    assert letter.status == "sent" and read_bytes(letter.pdf_sha256).startswith(b"%PDF")
    assert dispute.follow_up_due_dt is not None
    assert letter.offer_expires_dt.date().isoformat() == "2026-04-09"  # end of 8 April in Denver, in UTC
    (email,) = emails(dispute, "outcome_letter")
    assert email.to_addr == dispute.resident.email
    assert email.subject == "Our written reply about the deductions from your security deposit"
    sent_event = [e for e in history(dispute) if e.action == "send_outcome"][0]
    assert sent_event.data["pdf_sha256"] == letter.pdf_sha256 and sent_event.data["late"] is False


def test_a_letter_is_sent_once(sent, staff):
    dispute, _ = sent
    error = refused(WrongState, dispute, lambda: outcome.send_outcome(staff, dispute))
    assert "already sent on Monday 9 March 2026" in error.message
    assert "write a correction" in error.message
    assert len(emails(dispute, "outcome_letter")) == 1


def test_a_sent_letter_never_changes(sent, staff):
    dispute, letter = sent
    for change in ({"body_text": "Something else."}, {"token_cents": 100}):
        error = refused(WrongState, dispute, lambda: outcome.edit_letter(staff, letter, **change))
        assert "sent and never changes" in error.message
    refused(WrongState, dispute, lambda: outcome.draft_outcome(staff, dispute))


def test_a_correction_is_a_new_letter_linked_to_the_first(sent, staff):
    dispute, first = sent
    first_text, first_pdf = first.body_text, first.pdf_sha256
    correction = outcome.correct_letter(staff, dispute)
    assert outcome.correct_letter(staff, dispute) is correction  # one open correction at a time
    assert (correction.version, correction.corrects_letter_id, correction.status) == (2, first.id, "draft")
    outcome.edit_letter(staff, correction, body_text=correction.body_text.replace("three people in property",
                                                                                  "three seasoned people in property"))
    outcome.approve_letter(staff, correction)
    outcome.send_outcome(staff, dispute)
    db.session.commit()
    db.session.refresh(first)
    assert (first.status, first.body_text, first.pdf_sha256) == ("sent", first_text, first_pdf)
    assert correction.status == "sent" and correction.pdf_sha256 != first_pdf
    assert dispute.state == "outcome_sent"  # the dispute does not move: only the letter is new
    (email,) = emails(dispute, "outcome_correction")
    assert email.subject == "A corrected copy of our letter: Our written reply about the deductions from your security deposit"
    assert "It replaces the earlier letter" in email.body_text
    assert "three seasoned people" in email.body_text
    assert "THIS IS A CORRECTED COPY of our letter of Monday 9 March 2026." in email.body_text
    assert email.attachments[0]["sha256"] == correction.pdf_sha256
    assert "correction_sent" in actions(dispute)
    assert outcome.sent_letter(dispute) is correction


def test_when_the_pdf_cannot_be_made_nothing_is_sent(drafted, staff, monkeypatch):
    import weasyprint

    dispute, letter = drafted
    outcome.approve_letter(staff, letter)

    def broken(self, *args, **kwargs):
        raise RuntimeError("the layout engine gave up")

    monkeypatch.setattr(weasyprint.HTML, "write_pdf", broken)
    error = refused(LetterRenderError, dispute, lambda: outcome.send_outcome(staff, dispute))
    assert "nothing was sent" in error.message
    assert templates(dispute).count("outcome_letter") == 0
    assert db.session.get(Letter, letter.id).status == "approved"


def test_a_template_that_fails_stops_the_send_whole(drafted, staff, app):
    dispute, letter = drafted
    outcome.approve_letter(staff, letter)
    from jinja2 import DictLoader, ChoiceLoader

    broken = DictLoader({"letters/outcome.html": "{% include 'letters/no_such_part.html' %}"})
    original = app.jinja_env.loader
    app.jinja_env.loader = ChoiceLoader([broken, original])
    app.jinja_env.cache.clear()
    try:
        refused(Exception, dispute, lambda: outcome.send_outcome(staff, dispute))
    finally:
        app.jinja_env.loader = original
        app.jinja_env.cache.clear()
    assert templates(dispute).count("outcome_letter") == 0


# The resident's answer ---------------------------------------------------------------------------

def test_confirming_receipt_twice_counts_once_and_tells_the_manager(sent, manager):
    dispute, _ = sent
    outcome.acknowledge_outcome(as_resident(dispute), dispute)
    outcome.acknowledge_outcome(as_resident(dispute), dispute)
    assert dispute.state == "acknowledged" and dispute.acknowledged_dt == clock.now_utc()
    assert actions(dispute).count("acknowledge") == 1
    (email,) = emails(dispute, "outcome_acknowledged")
    assert email.to_addr == manager.email


def test_only_the_resident_or_the_companys_staff_may_answer(sent, make_resident, company, make_company, make_staff):
    dispute, _ = sent
    stranger = make_resident(company, name="Someone Else")
    refused(NotAllowed, dispute, lambda: outcome.acknowledge_outcome(Actor.resident(stranger), dispute))
    refused(NotAllowed, dispute, lambda: outcome.respond_to_offer(Actor.resident(stranger), dispute, accept=True))
    other_staff = Actor.staff(make_staff(make_company()))
    refused(NotAllowed, dispute, lambda: outcome.refer_out(other_staff, dispute, reason="No."))


def test_accepting_the_offer_makes_a_task_whose_completion_closes_the_dispute(sent, staff, manager):
    dispute, letter = sent
    outcome.respond_to_offer(as_resident(dispute), dispute, accept=True)
    assert letter.offer_response == "accepted"
    # Accepting is only accepting: receipt is the resident's own act ("I received it"), and nothing is referred.
    assert dispute.state == "outcome_sent" and dispute.acknowledged_dt is None and dispute.referred_dt is None
    assert "acknowledge" not in actions(dispute) and "receipt_confirmed" not in actions(dispute)
    (task,) = outcome.open_tasks(dispute)
    assert task.kind == "fulfil_offer" and task.assignee_id == manager.id
    assert task.title == ("Send a $25 coffee-shop gift card and Return $50 from the security deposit "
                          f"for {dispute.resident.name}")
    assert [e.to_addr for e in emails(dispute, "offer_accepted")] == [manager.email]
    (confirmation,) = emails(dispute, "offer_confirmation")
    assert "- a $25 coffee-shop gift card\n- $50 back from your security deposit" in confirmation.body_text
    assert "Morgan Manager will take care of this by Saturday 14 March 2026" in confirmation.body_text
    assert outcome.tasks_for(staff) == [task]

    outcome.complete_task(staff, task, note="Gift card mailed; deposit refund issued.")
    outcome.complete_task(staff, task)
    assert task.done_dt == clock.now_utc() and task.done_by_id == manager.id
    assert dispute.state == "closed" and dispute.close_reason == "The accepted offer was carried out."
    (done,) = emails(dispute, "offer_fulfilled")
    assert "As promised, we have taken care of our offer to you" in done.body_text
    assert outcome.tasks_for(staff) == []


@pytest.mark.parametrize("first, second", [(True, True), (True, False), (False, False), (False, True)])
def test_a_second_answer_changes_nothing_and_says_what_was_recorded(sent, first, second):
    dispute, letter = sent
    outcome.respond_to_offer(as_resident(dispute), dispute, accept=first)
    db.session.commit()
    before = (actions(dispute), templates(dispute), [t.id for t in outcome.open_tasks(dispute)], dispute.state)
    error = refused(AlreadyRecorded, dispute,
                    lambda: outcome.respond_to_offer(as_resident(dispute), dispute, accept=second))
    said = "accepted this offer" if first else "said no, thank you, to this offer"
    assert error.status_code == 200
    assert error.message.startswith(f"Your answer is already recorded: you {said} on Monday 9 March 2026. "
                                    "Nothing was changed.")
    db.session.expire_all()
    assert (actions(dispute), templates(dispute), [t.id for t in outcome.open_tasks(dispute)], dispute.state) == before
    assert letter.offer_response == ("accepted" if first else "declined")
    assert db.session.scalar(select(func.count(OfferAnswer.id)).where(OfferAnswer.letter_id == letter.id)) == 1


def test_the_database_keeps_one_answer_per_offer_whatever_a_request_read(sent):
    """A request that read the offer unanswered before another answered it still cannot write a
    second answer: the database refuses it (the race itself runs on PostgreSQL in test_answer_race)."""
    dispute, letter = sent
    outcome.respond_to_offer(as_resident(dispute), dispute, accept=True)
    db.session.commit()
    db.session.add(OfferAnswer(letter_id=letter.id, dispute_id=dispute.id, answer="declined",
                               answered_by="resident", answered_dt=clock.now_utc()))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert [a.answer for a in db.session.scalars(select(OfferAnswer).where(OfferAnswer.letter_id == letter.id))] \
        == ["accepted"]


def test_an_expired_offer_cannot_be_accepted_but_the_resident_can_still_say_no(sent):
    dispute, letter = sent
    clock.advance(letter.offer_expires_dt - clock.now_utc() + timedelta(seconds=1))
    error = refused(DeadlinePassed, dispute,
                    lambda: outcome.respond_to_offer(as_resident(dispute), dispute, accept=True))
    assert error.message.startswith("This offer was open until Wednesday 8 April 2026")
    assert "Morgan Manager" in error.message
    outcome.respond_to_offer(as_resident(dispute), dispute, accept=False)
    assert letter.offer_response == "declined" and dispute.state == "outcome_sent"


def test_declining_leaves_the_decision_standing_and_tells_the_manager_and_nothing_more(sent, manager):
    dispute, letter = sent
    outcome.respond_to_offer(as_resident(dispute), dispute, accept=False)
    assert letter.offer_response == "declined"
    # Not a referral, and not a receipt: those are the resident's own acts.
    assert dispute.state == "outcome_sent" and dispute.referred_dt is None and dispute.acknowledged_dt is None
    assert "offer_declined" in actions(dispute)
    assert not {"acknowledge", "receipt_confirmed", "refer_out"} & set(actions(dispute))
    assert "referral_resident" not in templates(dispute) and "referral_manager" not in templates(dispute)
    (to_manager,) = emails(dispute, "offer_declined")
    assert to_manager.to_addr == manager.email
    assert f"{dispute.resident.name} said no, thank you, to our offer" in to_manager.body_text
    assert "- a $25 coffee-shop gift card" in to_manager.body_text and "The decision stands." in to_manager.body_text
    assert "offer_accepted" not in templates(dispute) and "offer_confirmation" not in templates(dispute)
    # What the decision itself grants is still the manager's to do; the offer is not.
    assert all(t.kind == "fulfil_offer" and "gift card" not in t.title for t in outcome.open_tasks(dispute))


def test_receipt_is_confirmed_only_by_saying_so(sent):
    dispute, _ = sent
    outcome.respond_to_offer(as_resident(dispute), dispute, accept=False)
    assert dispute.acknowledged_dt is None
    outcome.acknowledge_outcome(as_resident(dispute), dispute)
    assert dispute.state == "acknowledged" and dispute.acknowledged_dt == clock.now_utc()
    assert actions(dispute).count("acknowledge") == 1 and "refer_out" not in actions(dispute)


def test_going_to_mediation_is_recorded_only_when_the_resident_says_they_have(sent, manager):
    dispute, _ = sent
    outcome.respond_to_offer(as_resident(dispute), dispute, accept=False)
    assert "refer_out" not in actions(dispute)
    outcome.refer_out(as_resident(dispute), dispute,
                      reason="The resident told us they have taken this to outside mediation.")
    assert dispute.state == "referred" and dispute.referred_dt == clock.now_utc()
    (to_resident,) = emails(dispute, "referral_resident")
    assert "Front Range Tenant-Landlord Mediation" in to_resident.body_text
    assert "mediation.test, 303-555-0150" in to_resident.body_text
    (to_manager,) = emails(dispute, "referral_manager")
    assert to_manager.to_addr == manager.email
    assert "The resident told us they have taken this to outside mediation." in to_manager.body_text


def test_with_no_offer_there_is_nothing_to_accept_but_the_resident_can_ask_for_mediation(drafted, staff, company):
    dispute, letter = drafted
    outcome.edit_letter(staff, letter, token_cents=0, concession_cents=0)
    assert not letter.has_offer and "Our offer to you" not in letter.body_html
    outcome.approve_letter(staff, letter)
    outcome.send_outcome(staff, dispute)
    assert letter.offer_expires_dt is None
    error = refused(InvalidInput, dispute, lambda: outcome.respond_to_offer(as_resident(dispute), dispute, accept=True))
    assert error.message == "This letter has no offer to accept."
    company.mediation_service_name = ""
    outcome.refer_out(as_resident(dispute), dispute, reason="The resident still disagrees.")
    assert dispute.state == "referred"
    (to_resident,) = emails(dispute, "referral_resident")
    assert "Morgan Manager will be in touch within a few days about the options outside" in to_resident.body_text
    assert "BBB" not in to_resident.body_text and "Better Business Bureau" not in to_resident.body_text


# One last follow-up ------------------------------------------------------------------------------

def test_without_a_receipt_one_last_follow_up_goes_out_with_a_task_and_a_calendar_reminder(sent, manager):
    dispute, letter = sent
    clock.advance(dispute.follow_up_due_dt - clock.now_utc())
    assert sweep_deadlines() == 1
    assert sweep_deadlines() == 0
    db.session.expire_all()
    assert dispute.state == "outcome_sent" and dispute.followed_up_dt == clock.now_utc()
    (to_resident,) = emails(dispute, "follow_up_resident")
    assert to_resident.subject == "Did our letter reach you?"
    assert "/r/o/" in to_resident.body_text and "open until Wednesday 8 April 2026" in to_resident.body_text
    assert to_resident.attachments[0]["sha256"] == letter.pdf_sha256
    (to_manager,) = emails(dispute, "follow_up_manager")
    assert to_manager.to_addr == manager.email
    (ics,) = to_manager.attachments
    assert (ics["filename"], ics["content_type"]) == ("follow-up-reminder.ics", "text/calendar")
    calendar = read_bytes(ics["sha256"]).decode()
    assert calendar.startswith("BEGIN:VCALENDAR\r\n") and "BEGIN:VALARM" in calendar
    # 9 AM in Denver (MDT, UTC-6) the morning after the follow-up fired on Monday 16 March.
    assert "DTSTART:20260317T150000Z" in calendar
    assert f"SUMMARY:Call {dispute.resident.name} about the letter (dispute {dispute.id})" in calendar
    (task,) = outcome.open_tasks(dispute, "follow_up")
    assert task.assignee_id == manager.id and task.detail["ics_sha256"] == ics["sha256"]
    assert actions(dispute).count("followed_up") == 1

    outcome.acknowledge_outcome(as_resident(dispute), dispute)
    assert task.done_dt is not None and task.done_note == "The resident confirmed receipt."


def test_a_receipt_in_time_means_no_follow_up(sent):
    dispute, _ = sent
    outcome.acknowledge_outcome(as_resident(dispute), dispute)
    db.session.commit()
    clock.advance(timedelta(days=30))
    sweep_deadlines()
    assert emails(dispute, "follow_up_resident") == [] and emails(dispute, "follow_up_manager") == []
    assert db.session.scalars(select(Task).where(Task.dispute_id == dispute.id)).all() == []


def test_the_follow_up_happens_once_even_if_asked_again(sent, staff):
    dispute, _ = sent
    outcome.follow_up(staff, dispute)
    outcome.follow_up(staff, dispute)
    assert len(emails(dispute, "follow_up_resident")) == 1
    assert len(outcome.open_tasks(dispute, "follow_up")) == 1
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "followed_up")) is not None


def test_the_schema_allows_one_fulfilment_task_per_dispute(sent, manager):
    from sqlalchemy.exc import IntegrityError

    dispute, _ = sent
    outcome.respond_to_offer(as_resident(dispute), dispute, accept=True)
    db.session.commit()
    db.session.add(Task(dispute_id=dispute.id, assignee_id=manager.id, kind="fulfil_offer", title="Again"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert len(outcome.open_tasks(dispute, "fulfil_offer")) == 1


def test_no_email_to_the_resident_says_what_the_practice_notes_warn_against(make_dispute, staff):
    from resolver.letters.tone import check_tone

    warnings = {"sorry_you_feel", "calm_down", "already_told", "lecturing", "blaming"}
    accepted = make_dispute("outcome_sent", votes=("uphold", "compromise", "compromise"))
    outcome.follow_up(staff, accepted)
    outcome.correct_letter(staff, accepted)
    outcome.approve_letter(staff, outcome.current_letter(accepted))
    outcome.send_outcome(staff, accepted)
    outcome.respond_to_offer(as_resident(accepted), accepted, accept=True)
    outcome.complete_task(staff, outcome.open_tasks(accepted, "fulfil_offer")[0])
    declined = make_dispute("outcome_sent", votes=("uphold", "compromise", "compromise"))
    outcome.respond_to_offer(as_resident(declined), declined, accept=False)
    outcome.refer_out(as_resident(declined), declined,
                      reason="The resident told us they have taken this to outside mediation.")
    seen = set()
    for dispute in (accepted, declined):
        for email in emails(dispute):
            if email.to_addr != dispute.resident.email:
                continue
            seen.add(email.template)
            for body in (email.body_text, email.body_html):
                assert not [f for f in check_tone(body) if f.code in warnings], (email.template, body)
    assert seen >= {"outcome_letter", "outcome_correction", "follow_up_resident", "offer_confirmation",
                    "offer_fulfilled", "referral_resident"}


# Carrying out what the decision grants ------------------------------------------------------------

ITEMS = [
    {"description": "Carpet cleaning", "amount_cents": 15000, "company_reason": "Stains in the bedroom."},
    {"description": "Wall repair", "amount_cents": 8000, "company_reason": "Holes by the door."},
]


def send_letter(staff, dispute, *, override_reason: str = "", **offer):
    letter = outcome.draft_outcome(staff, dispute)
    if offer:
        outcome.edit_letter(staff, letter, **offer)
    outcome.approve_letter(staff, letter, override_reason=override_reason)
    outcome.send_outcome(staff, dispute)
    return letter


def test_a_granted_decision_without_an_offer_becomes_a_task_when_the_letter_arrives(make_dispute, staff, manager):
    dispute = make_dispute("decided", votes=("resident", "resident", "resident"), items=ITEMS)
    send_letter(staff, dispute, token_cents=0, concession_cents=0)
    assert outcome.open_tasks(dispute) == []  # nothing is done before the resident has the letter

    outcome.acknowledge_outcome(as_resident(dispute), dispute)
    (task,) = outcome.open_tasks(dispute, "fulfil_offer")
    assert task.title == ("Remove the Carpet cleaning charge ($150) and Remove the Wall repair charge ($80) "
                          "for Tammy Rivera")
    assert task.assignee_id == manager.id and task.due_dt.date().isoformat() == "2026-03-15"
    (told,) = emails(dispute, "outcome_acknowledged")
    assert "Our letter promised this, and it is now a task for you in Resolver:\n" \
           "- Remove the Carpet cleaning charge ($150)\n- Remove the Wall repair charge ($80)" in told.body_text
    assert "Please do it by Saturday 14 March 2026" in told.body_text
    assert "fulfilment_task" in actions(dispute)

    outcome.complete_task(staff, task, note="Both charges refunded.")
    assert dispute.state == "closed" and dispute.close_reason == "What the letter promised was carried out."
    (done,) = emails(dispute, "offer_fulfilled")
    assert done.subject == "Done: what we promised you has been carried out"
    assert "As promised, we have taken care of what we said we would do:\n" \
           "- Carpet cleaning: the $150 charge is removed; you owe nothing for it\n" \
           "- Wall repair: the $80 charge is removed; you owe nothing for it" in done.body_text


def test_an_accepted_offer_on_top_of_a_granted_decision_is_one_task_for_both(make_dispute, staff):
    dispute = make_dispute("decided", votes=("resident", "resident", "resident"))
    send_letter(staff, dispute)
    outcome.respond_to_offer(as_resident(dispute), dispute, accept=True)
    (task,) = outcome.open_tasks(dispute)
    # What the resident asked for is quoted as theirs, with the amount they named.
    assert task.detail["steps"] == ["Do what Tammy Rivera asked ($150): “Refund the $150 cleaning charge.”",
                                    "Send a $25 coffee-shop gift card",
                                    "Return $50 from the security deposit"]
    assert task.title == ("3 things for Tammy Rivera: Do what Tammy Rivera asked ($150): “Refund the $150 cleaning "
                          "charge.”; Send a $25 coffee-shop gift card; Return $50 from the security deposit")
    (confirmation,) = emails(dispute, "offer_confirmation")
    assert ("- what you asked us to do ($150): “Refund the $150 cleaning charge.”\n- a $25 coffee-shop gift card\n"
            "- $50 back from your security deposit") in confirmation.body_text
    outcome.complete_task(staff, task)
    assert dispute.close_reason == "The accepted offer was carried out."


def test_a_decision_that_grants_nothing_and_offers_nothing_makes_no_task(make_dispute, staff):
    dispute = make_dispute("decided", votes=("uphold", "uphold", "uphold"))
    send_letter(staff, dispute, token_cents=0, concession_cents=0)
    outcome.acknowledge_outcome(as_resident(dispute), dispute)
    assert dispute.state == "acknowledged" and outcome.open_tasks(dispute) == []
    (told,) = emails(dispute, "outcome_acknowledged")
    assert "Nothing else is waiting on the resident." in told.body_text


def test_declining_the_offer_keeps_what_the_decision_grants(make_dispute, staff, manager):
    def half_the_carpet(dispute):
        dispute.items[0].granted_cents = 7500

    dispute = make_dispute("decided", votes=("compromise", "compromise", "compromise"), items=ITEMS)
    half_the_carpet(dispute)
    # The draft leaves the wall's amount to fill in; sent anyway (with a reason), the promise says so plainly.
    send_letter(staff, dispute, override_reason="The amount for the wall is being agreed by phone.")
    outcome.respond_to_offer(as_resident(dispute), dispute, accept=False)
    assert dispute.state == "outcome_sent"  # the decision stands; nothing is referred
    (task,) = outcome.open_tasks(dispute, "fulfil_offer")
    # The team gave the wall no amount: the task says so, and asks for one agreed in writing.
    assert task.detail["steps"] == ["Take $75 off the Carpet cleaning charge ($150), leaving $75",
                                    "Reduce the Wall repair charge ($80): the team named no amount, so agree it "
                                    "with Tammy Rivera in writing first"]
    (to_manager,) = emails(dispute, "offer_declined")
    assert ("What the decision grants is still ours to do, and it is a task for you in Resolver, by Saturday 14 "
            "March 2026:\n- Take $75 off the Carpet cleaning charge ($150), leaving $75") in to_manager.body_text
    # If they later tell us they have gone to mediation, what the letter promised still stands.
    outcome.refer_out(as_resident(dispute), dispute,
                      reason="The resident told us they have taken this to outside mediation.")
    (to_resident,) = emails(dispute, "referral_resident")
    assert ("Whatever you decide, what our letter promised still stands, and it will be done by Saturday 14 March "
            "2026:\n- Carpet cleaning: $75 is taken off the $150 charge; you owe $75 for it\n"
            "- Wall repair: part of the $80 charge is taken off (the amount to be agreed with Morgan Manager)"
            ) in to_resident.body_text
    outcome.complete_task(staff, task)
    assert dispute.state == "referred"  # mediation goes on; the manager closes it when that ends
