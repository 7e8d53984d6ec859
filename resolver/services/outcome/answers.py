"""The resident's answers to the written outcome, each its own act: confirming it arrived, accepting
or declining the offer (one answer per offer, kept so by the database), and recording that they have
taken the matter to the company's outside mediation service."""
from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _

from ...actors import Actor
from ...clock import now_utc
from ...errors import AlreadyRecorded, DeadlinePassed, InvalidInput, NotAllowed, WrongState
from ...extensions import db
from ...history import record_event
from ...i18n import speaking
from ...letters import render
from ...links import current_link, link_url
from ...models import Dispute, Letter, OfferAnswer
from ...workdays import format_day
from ...workflow.engine import dispute_engine
from ..access import check_version, require_staff
from ..notify import tell
from .decision import decision_steps
from .letter import offer_summary, sent_letter
from .tasks import open_tasks, start_fulfilment

WORKFLOW = dispute_engine.definition


def acknowledge_outcome(actor: Actor, dispute: Dispute) -> Dispute:
    """The resident confirms the letter arrived (or staff record that they did). Twice is once."""
    require_resident_or_staff(actor, dispute)
    if dispute.acknowledged_dt is not None:
        return dispute
    if dispute.outcome_sent_dt is None:
        raise WrongState(_("There is no letter to confirm yet."))
    now = now_utc()
    _record_receipt(actor, dispute, now)
    letter = sent_letter(dispute)
    # Without an offer to wait for, what the decision grants can be carried out now.
    task = (start_fulfilment(actor, dispute, letter, now, with_offer=False)
            if letter is not None and not letter.has_offer else None)
    tell(dispute.manager, dispute, "outcome_acknowledged", {
        "resident": dispute.resident, "by_resident": actor.kind == "resident", "when": dispute.acknowledged_dt,
        "task": task,
    })
    return dispute


def _record_receipt(actor: Actor, dispute: Dispute, now: datetime) -> None:
    dispute.acknowledged_dt = now
    if WORKFLOW.can("acknowledge", dispute.state):
        dispute_engine.fire(dispute, "acknowledge", actor=actor, now=now, reason="Receipt of the letter confirmed.")
    else:
        record_event(dispute, actor, "receipt_confirmed", now=now)
    for task in open_tasks(dispute, "follow_up"):
        task.done_dt = now
        task.done_note = "The resident confirmed receipt."


def respond_to_offer(actor: Actor, dispute: Dispute, *, accept: bool) -> Letter:
    """Accept or decline the letter's offer: one answer per offer, and each answer only its own act.
    Accepting makes the manager a task; declining leaves the decision standing and tells the manager.
    Neither confirms receipt nor goes to mediation: the resident says those themselves. A second
    answer (the same or the other) changes nothing and says what was recorded."""
    require_resident_or_staff(actor, dispute)
    letter = sent_letter(dispute)
    if letter is None:
        raise WrongState(_("There is no letter yet, so there is nothing to accept."))
    # The letter is out (or the matter closed after it): an answer is taken, or kindly refused below.
    if dispute.state not in WORKFLOW.group("letter_sent") | WORKFLOW.terminal:
        raise WrongState(_("This matter is no longer open for an answer."))
    company = dispute.company
    if not letter.has_offer:
        raise InvalidInput(_("This letter has no offer to accept.") if accept else _("This letter has no offer to decline."),
                           field="answer")
    if letter.offer_response is not None:
        raise AlreadyRecorded(answer_on_record(letter, dispute))
    if not WORKFLOW.can("refer_out", dispute.state):  # gone to mediation, or closed
        raise WrongState(_("This matter has moved on, so the offer can no longer be answered here. "
                           "Please contact %(name)s.", name=dispute.manager.name))
    now = now_utc()
    if accept and letter.offer_expires_dt is not None and now > letter.offer_expires_dt:
        until = format_day(letter.offer_expires_dt, company)
        raise DeadlinePassed(
            _("This offer was open until %(day)s, so it can no longer be accepted here. Please contact %(name)s at "
              "%(email)s; we will gladly talk it over.", day=until, name=dispute.manager.name,
              email=dispute.manager.email) if dispute.manager.email else
            _("This offer was open until %(day)s, so it can no longer be accepted here. Please contact %(name)s; "
              "we will gladly talk it over.", day=until, name=dispute.manager.name))
    answer = "accepted" if accept else "declined"
    # The answer's own row first: a second answer racing this one stops here, on the unique letter,
    # before it has written anything else (the request is retried and finds this answer recorded).
    db.session.add(OfferAnswer(letter_id=letter.id, dispute_id=dispute.id, answer=answer,
                               answered_by="resident" if actor.kind == "resident" else "staff", answered_dt=now))
    db.session.flush()
    letter.offer_response = answer
    letter.offer_response_dt = now
    summary = offer_summary(letter.token_kind, letter.token_cents, letter.concession_cents)
    if not accept:
        # The decision stands, and what it grants is still carried out.
        task = start_fulfilment(actor, dispute, letter, now, with_offer=False)
        record_event(dispute, actor, "offer_declined", now=now, data={"letter_id": letter.id, "offer": summary})
        tell(dispute.manager, dispute, "offer_declined", {
            "resident": dispute.resident, "offer": render.offer_of(letter, dispute), "task": task,
            "by_resident": actor.kind == "resident",
        })
        return letter
    task = start_fulfilment(actor, dispute, letter, now, with_offer=True)
    record_event(dispute, actor, "offer_accepted", now=now,
                 data={"letter_id": letter.id, "offer": summary, "task_id": task.id})
    offer = render.offer_of(letter, dispute)
    tell(dispute.manager, dispute, "offer_accepted", {
        "task": task, "steps": task.detail["steps"], "due": task.due_dt, "offer": offer, "resident": dispute.resident,
    })
    with speaking(letter.language):  # the resident reads the decision's lines in the letter's language
        decision_lines = [step.resident for step in decision_steps(dispute, has_offer=True)]
    tell(dispute.resident, dispute, "offer_confirmation", {
        "offer": offer, "due": task.due_dt, "manager": dispute.manager, "decision_lines": decision_lines,
    })
    return letter


def answer_on_record(letter: Letter, dispute: Dispute) -> str:
    """What the resident already answered, in words, for a second press of a button."""
    values = {"day": format_day(letter.offer_response_dt, dispute.company), "name": dispute.manager.name,
              "email": dispute.manager.email}
    if letter.offer_response == "accepted":
        said = _("Your answer is already recorded: you accepted this offer on %(day)s. Nothing was changed.", **values)
    else:
        said = _("Your answer is already recorded: you said no, thank you, to this offer on %(day)s. Nothing was "
                 "changed.", **values)
    ask = (_("If you have changed your mind, please contact %(name)s at %(email)s.", **values) if values["email"]
           else _("If you have changed your mind, please contact %(name)s.", **values))
    return f"{said} {ask}"


def refer_out(actor: Actor, dispute: Dispute, *, reason: str, expected_version: int | None = None) -> Dispute:
    """Refer the matter to the company's outside mediation service and tell both sides how."""
    require_resident_or_staff(actor, dispute)
    check_version(dispute, expected_version)
    if dispute.state == WORKFLOW.state_of("refer_out"):
        return dispute
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput("Say why the matter goes to outside mediation.", field="reason")
    if not WORKFLOW.can("refer_out", dispute.state):
        raise WrongState("A matter can go to outside mediation once the written outcome has been sent.",
                         allowed=dispute_engine.allowed(dispute))
    now = now_utc()
    company = dispute.company
    dispute.referred_dt = now
    mediation = render.mediation_of(company)
    dispute_engine.fire(dispute, "refer_out", actor=actor, now=now, reason=reason,
                        data={"mediation": mediation["name"] if mediation else None})
    link = current_link(dispute.id, "outcome", resident_id=dispute.resident_id)
    # The resident refers a matter out only by telling us they have gone (their page's button).
    context = {"mediation": mediation, "ladder": render.ladder_of(company), "reason": reason,
               "has_gone": actor.kind == "resident",
               "manager": dispute.manager, "resident": dispute.resident,
               "link_url": link_url(link) if link is not None else None,
               "task": next(iter(open_tasks(dispute, "fulfil_offer")), None)}
    tell(dispute.resident, dispute, "referral_resident", context)
    tell(dispute.manager, dispute, "referral_manager", context)
    return dispute


def require_resident_or_staff(actor: Actor, dispute: Dispute) -> None:
    if actor.kind == "resident":
        if actor.id != dispute.resident_id:
            raise NotAllowed(_("Only the resident this letter is for can answer it."))
        return
    require_staff(actor, dispute)
