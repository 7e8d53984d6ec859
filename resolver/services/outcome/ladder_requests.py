"""Up the ladder after the letter: the resident asks the supervisor to look again, and the
supervisor answers them.

Asking is its own act: it changes neither the dispute's state nor its receipt or mediation. One
request per letter is kept so by the database (the unique letter on ``LadderRequest``); a second
press is told when the first was made. The supervisor gets it as a "review" task with a due date,
the manager is told, and the resident is told who will look at it and by when. The supervisor's
answer goes to the resident in their words and closes the task.
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from ...actors import Actor
from ...clock import now_utc
from ...errors import AlreadyRecorded, InvalidInput, NotAllowed, NotFound, WrongState
from ...extensions import db
from ...history import record_event
from ...links import current_link, link_url
from ...models import Dispute, LadderRequest, Letter, StaffUser, Task
from ...workdays import add_days, format_day
from ...workflow.engine import dispute_engine
from ..access import require_staff
from ..ladder import supervisor_account, supervisors_of
from ..notify import tell
from .answers import require_resident_or_staff
from .letter import sent_letter

WORKFLOW = dispute_engine.definition
LOOK_AGAIN_WITHIN_DAYS = 3  # the supervisor's answer is due within this many of the company's days
MAX_MESSAGE = 2000


def ladder_request_for(letter: Letter | None) -> LadderRequest | None:
    """The request to look again at ``letter``, if the resident made one."""
    if letter is None:
        return None
    return db.session.scalars(select(LadderRequest).where(LadderRequest.letter_id == letter.id)).first()


def reviewer_of(dispute: Dispute) -> dict:
    """Who the resident is told will look again: the supervisor (the manager when nobody is above them)."""
    return supervisors_of(dispute)[0]


def ask_supervisor(actor: Actor, dispute: Dispute, *, message: str = "") -> LadderRequest:
    """The resident asks the supervisor to look again at the letter, with what they want looked at."""
    require_resident_or_staff(actor, dispute)
    letter = sent_letter(dispute)
    if letter is None:
        raise WrongState(_("There is no letter yet, so there is nothing for the supervisor to look at again."))
    if (asked := ladder_request_for(letter)) is not None:
        raise AlreadyRecorded(request_on_record(asked, dispute))
    if dispute.state not in WORKFLOW.group("letter_sent"):
        raise WrongState(" ".join((_("This matter is closed, so it cannot be sent up from here."),
                                   _ladder_by_phone(dispute))))
    message = (message or "").strip()
    if len(message) > MAX_MESSAGE:
        raise InvalidInput(_("Please keep this to %(limit)s characters; the supervisor will read the whole "
                             "dispute as well.", limit=MAX_MESSAGE), field="message")
    now = now_utc()
    assignee = supervisor_account(dispute)
    due = add_days(now, LOOK_AGAIN_WITHIN_DAYS, dispute.company)
    resident = dispute.resident
    task = Task(dispute_id=dispute.id, assignee_id=assignee.id, kind="review", due_dt=due, created_dt=now,
                title=f"Look again at the decision for {resident.name}, who asked, and answer them",
                detail={"letter_id": letter.id, "message": message})
    db.session.add(task)
    db.session.flush()
    # The unique letter stops a second press racing this one here (its request is retried and finds this).
    request = LadderRequest(letter_id=letter.id, dispute_id=dispute.id, task_id=task.id, message=message,
                            asked_dt=now, due_dt=due)
    db.session.add(request)
    db.session.flush()
    reviewers = _reviewers(dispute, assignee)
    # The resident's message stays on the request (erasable), not in the history.
    record_event(dispute, actor, "ladder_requested", now=now,
                 data={"letter_id": letter.id, "task_id": task.id, "due": due.isoformat(),
                       "to": [person["name"] for person in reviewers]})
    context = {"message": message, "due": due, "reviewer": reviewers[0], "manager": dispute.manager,
               "resident": resident, "by_resident": actor.kind == "resident",
               "is_manager_the_reviewer": reviewers[0]["email"] == dispute.manager.email}
    for person in reviewers:
        tell(person, dispute, "ladder_request_supervisor", context)
    if all(person["email"] != dispute.manager.email for person in reviewers):
        tell(dispute.manager, dispute, "ladder_request_manager", context)
    tell(resident, dispute, "ladder_request_resident", {**context, "link_url": _outcome_link(dispute)})
    return request


def _reviewers(dispute: Dispute, assignee: StaffUser) -> list[dict]:
    """Who is asked to look again: the supervisors (the manager when nobody is above them), and the
    account whose task it is, each address once."""
    people = supervisors_of(dispute)
    if all(person["email"] != assignee.email for person in people) and assignee.id != dispute.manager_id:
        people.append({"email": assignee.email, "name": assignee.name})
    return people


def request_on_record(request: LadderRequest, dispute: Dispute) -> str:
    """What a second press of "ask the supervisor" is told."""
    company = dispute.company
    said = _("You asked for this to be looked at again on %(day)s. Nothing was changed.",
             day=format_day(request.asked_dt, company))
    if request.is_answered:
        return f"{said} " + _("The answer was sent to you on %(day)s; it is also below.",
                              day=format_day(request.answered_dt, company))
    return f"{said} " + _("You will hear back by %(day)s.", day=format_day(request.due_dt, company))


def ladder_request_of(actor: Actor, request_id: int) -> LadderRequest:
    """A request to look again that the actor's company holds; another company's is simply not found."""
    request = db.session.get(LadderRequest, request_id)
    if request is None or (not actor.is_system and actor.company_id != request.dispute.company_id):
        raise NotFound("There is no such request.")
    return request


def answer_ladder_request(actor: Actor, request_id: int, *, note: str) -> LadderRequest:
    """The supervisor says what they decided; it goes to the resident, and their task is done."""
    request = ladder_request_of(actor, request_id)
    dispute = request.dispute
    require_staff(actor, dispute)
    task = db.session.get(Task, request.task_id)
    if actor.role != "supervisor" and actor.id != task.assignee_id:
        raise NotAllowed("Only a supervisor, or the person this request was given to, can answer it.")
    company = dispute.company
    if request.is_answered:
        raise AlreadyRecorded(f"This request was already answered on {format_day(request.answered_dt, company)}. "
                              "Nothing was changed.")
    note = (note or "").strip()
    if not note:
        raise InvalidInput(f"Write what you decided, in words for {dispute.resident.name}: it is sent to them.",
                           field="note")
    if len(note) > MAX_MESSAGE:
        raise InvalidInput(f"Please keep the answer to {MAX_MESSAGE} characters.", field="note")
    now = now_utc()
    request.answered_dt, request.answered_by_id, request.answer_note = now, actor.id, note
    task.done_dt, task.done_by_id, task.done_note = now, actor.id, note
    dispute_engine.touch(dispute)  # two supervisors answering at once: once, and the other is told
    record_event(dispute, actor, "ladder_answered", now=now, reason=note,
                 data={"task_id": task.id, "letter_id": request.letter_id})
    context = {"note": note, "answered_by": actor.label, "asked": request.asked_dt, "manager": dispute.manager,
               "resident": dispute.resident, "link_url": _outcome_link(dispute)}
    tell(dispute.resident, dispute, "ladder_answered", context)
    if actor.id != dispute.manager_id:
        tell(dispute.manager, dispute, "ladder_answered_manager", context)
    return request


def _outcome_link(dispute: Dispute) -> str | None:
    link = current_link(dispute.id, "outcome", resident_id=dispute.resident_id)
    return link_url(link) if link is not None else None


def _ladder_by_phone(dispute: Dispute) -> str:
    company = dispute.company
    if company.supervisor_name and (company.supervisor_phone or company.supervisor_email):
        return _("You are always welcome to contact %(name)s on %(contact)s.", name=company.supervisor_name,
                 contact=company.supervisor_phone or company.supervisor_email)
    return _("Please contact %(name)s.", name=dispute.manager.name)
