"""The things a manager can do from the dispute page, each a POST form that calls one verb.

An action is offered only when the workflow allows it now (``dispute_engine.allowed``). Every form
carries ``expected_version``, passed to the verb, which checks it once: a form drawn before someone
else changed the dispute is refused with "this dispute changed", and nothing happens.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlalchemy import select

from ...actors import Actor
from ...errors import DomainError, InvalidInput, StaleDispute, WrongState
from ...extensions import db
from ...models import Dispute, ExtensionRequest, Letter, PanelSeat, Task
from ...services import outcome, panel
from ...services.access import check_version
from ...services.disputes import close_dispute, extend_window, open_dispute, withdraw_dispute
from ...services.evidence import answer_more_time
from ...workdays import format_moment
from ...workflow.engine import dispute_engine
from .forms import parse_amount, parse_day, parse_id, text


# States in which the resident already has the letter (a change is a correction, sent as a new letter).
SENT_STATES = ("outcome_sent", "acknowledged", "referred")


def _version_checked_here(dispute: Dispute, version: int) -> None:
    """The one version check for the verbs that do not take ``expected_version`` yet (the letter's,
    the answer to a request for more time): made here, before the verb, and nowhere else."""
    check_version(dispute, version)


@dataclass(frozen=True)
class Context:
    dispute: Dispute
    allowed: list[str]
    requests: list[ExtensionRequest]
    seats: list[PanelSeat]
    letters: list[Letter]
    tasks: list[Task]

    @property
    def draft_letter(self) -> Letter | None:
        return next((x for x in self.letters if x.status in ("draft", "approved")), None)


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    is_available: Callable[[Context], bool]
    run: Callable[[Actor, Dispute, dict, int], str]  # (actor, dispute, form, expected_version)


def _due(dispute: Dispute, value) -> str:
    return format_moment(value, dispute.company) if value else ""


# Handlers: parse the form, call the verb, say what happened --------------------------------------

def _open(actor, dispute, form, version):
    open_dispute(actor, dispute, expected_version=version)
    return (f"The invitation is on its way to {dispute.resident.name}. They have until "
            f"{_due(dispute, dispute.evidence_due_dt)} to send their side.")


def running_windows(dispute: Dispute) -> list[str]:
    return [w.name for w in dispute_engine.definition.windows.values()
            if dispute.state in w.active_in and getattr(dispute, w.due_column) is not None]


def _extend(actor, dispute, form, version):
    window = form.get("window", "")
    if window not in running_windows(dispute):
        raise InvalidInput("Choose one of the deadlines that is running now.", field="window")
    new_due = parse_day(form.get("new_due"), dispute.company, field="new_due")
    extend_window(actor, dispute, window=window, new_due=new_due, reason=text(form, "reason", limit=2000),
                  expected_version=version)
    return f"The deadline moved to {_due(dispute, new_due)}. The history keeps both dates and your reason."


def _answer_more_time(actor, dispute, form, version):
    _version_checked_here(dispute, version)
    request_id = parse_id(form.get("request_id"), field="request_id", label="the request")
    request = db.session.get(ExtensionRequest, request_id) if request_id else None
    if request is None or request.dispute_id != dispute.id:
        raise InvalidInput("That request for more time is not on this dispute.", field="request_id")
    answer = form.get("answer")
    if answer not in ("grant", "refuse"):
        raise InvalidInput("Choose whether to give the resident more time.", field="answer")
    answer_more_time(actor, dispute, request, grant=answer == "grant", note=text(form, "note", limit=2000))
    if answer == "grant":
        return f"More time given: the resident now has until {_due(dispute, dispute.evidence_due_dt)}."
    return "The resident has been told there is no more time, and until when they can still send their side."


def _seat_panel(actor, dispute, form, version):
    ids = []
    for raw in form.getlist("member_ids"):
        member_id = parse_id(raw, field="member_ids", label="team members")
        if member_id is not None:
            ids.append(member_id)
    if not ids:
        raise InvalidInput("Choose the members of the resolution team.", field="member_ids")
    panel.seat_panel(actor, dispute, ids, parse_id(form.get("chair_id"), field="chair_id", label="the chair"),
                     conflict_note=text(form, "conflict_note", limit=2000), expected_version=version)
    return f"The team is chosen ({len(ids)} member{'s' if len(ids) != 1 else ''}). Send the case when ready."


def _replace_seat(actor, dispute, form, version):
    member_id = parse_id(form.get("member_id"), field="member_id", label="the member")
    if member_id is None:
        raise InvalidInput("Choose who takes the seat.", field="member_id")
    panel.replace_seat(actor, dispute, member_id, conflict_note=text(form, "conflict_note", limit=2000),
                       expected_version=version)
    return "The replacement is seated and invited."


def _send_to_panel(actor, dispute, form, version):
    panel.send_to_panel(actor, dispute, expected_version=version)
    return f"The case went to the resolution team. Their review closes {_due(dispute, dispute.panel_due_dt)}."


def _decide_deadlock(actor, dispute, form, version):
    decision = form.get("decision", "")
    if decision not in ("uphold", "resident", "compromise"):
        raise InvalidInput("Choose the decision.", field="decision")
    panel.decide_deadlock(actor, dispute, decision=decision, note=text(form, "note", limit=5000),
                          expected_version=version)
    return "Decided. Next, draft the letter to the resident."


def _draft_outcome(actor, dispute, form, version):
    _version_checked_here(dispute, version)
    outcome.draft_outcome(actor, dispute)
    return "A draft letter is ready below. Read it, edit it, then approve it."


def _letter_from_form(dispute: Dispute, form) -> Letter:
    letter_id = parse_id(form.get("letter_id"), field="letter_id", label="the letter")
    letter = db.session.get(Letter, letter_id) if letter_id else None
    if letter is None or letter.dispute_id != dispute.id:
        raise InvalidInput("That letter is not on this dispute.", field="letter_id")
    return letter


def _edit_letter(actor, dispute, form, version):
    _version_checked_here(dispute, version)
    letter = _letter_from_form(dispute, form)
    outcome.edit_letter(
        actor, letter, subject=text(form, "subject", limit=300), body_text=text(form, "body_text", limit=50_000),
        token_kind=text(form, "token_kind", limit=120),
        # A cleared amount removes that part of the offer.
        token_cents=parse_amount(form.get("token"), field="token", label="The token amount") or 0,
        concession_cents=parse_amount(form.get("concession"), field="concession", label="The concession") or 0,
    )
    return "The letter is saved."


def _approve_letter(actor, dispute, form, version):
    _version_checked_here(dispute, version)
    letter = _letter_from_form(dispute, form)
    outcome.approve_letter(actor, letter, override_reason=text(form, "override_reason", limit=2000))
    return "The letter is approved. Send it when ready."


def _send_outcome(actor, dispute, form, version):
    _version_checked_here(dispute, version)
    outcome.send_outcome(actor, dispute)
    return f"The letter is on its way to {dispute.resident.name}, with the PDF attached."


def _correct_letter(actor, dispute, form, version):
    _version_checked_here(dispute, version)
    outcome.correct_letter(actor, dispute)
    return "A correction is drafted below, linked to the letter the resident has. Edit it, approve it, send it."


def _refer_out(actor, dispute, form, version):
    _version_checked_here(dispute, version)
    outcome.refer_out(actor, dispute, reason=text(form, "reason", limit=2000))
    return "Referred to outside mediation."


def _complete_task(actor, dispute, form, version):
    _version_checked_here(dispute, version)
    task_id = parse_id(form.get("task_id"), field="task_id", label="the task")
    task = db.session.get(Task, task_id) if task_id else None
    if task is None or task.dispute_id != dispute.id:
        raise InvalidInput("That task is not on this dispute.", field="task_id")
    outcome.complete_task(actor, task, note=text(form, "note", limit=2000))
    return f"Done: {task.title}."


def _withdraw(actor, dispute, form, version):
    withdraw_dispute(actor, dispute, reason=text(form, "reason", limit=2000),
                     expected_version=version)
    return "The dispute is withdrawn. Its links no longer work."


def _close(actor, dispute, form, version):
    close_dispute(actor, dispute, reason=text(form, "reason", limit=2000),
                  expected_version=version)
    return "The dispute is closed."


_LIST = [
    Action("open", "Send the invitation", lambda c: "open" in c.allowed, _open),
    Action("answer_more_time", "Answer the request for more time",
           lambda c: any(r.status == "pending" for r in c.requests), _answer_more_time),
    Action("extend", "Extend a deadline", lambda c: bool(running_windows(c.dispute)), _extend),
    Action("seat_panel", "Choose the resolution team",
           lambda c: "send_to_panel" in c.allowed, _seat_panel),
    Action("replace_seat", "Seat a replacement",
           lambda c: c.dispute.state == "panel_review" and any(s.recused_dt for s in c.seats), _replace_seat),
    Action("send_to_panel", "Send the case to the team",
           lambda c: "send_to_panel" in c.allowed and bool(c.seats),
           _send_to_panel),
    Action("decide_deadlock", "Decide for the split team",
           lambda c: "manager_decides" in c.allowed, _decide_deadlock),
    Action("draft_outcome", "Draft the letter",
           lambda c: "draft_outcome" in c.allowed and c.draft_letter is None,
           _draft_outcome),
    Action("correct_letter", "Write a correction",
           lambda c: c.dispute.state in SENT_STATES and c.draft_letter is None
           and any(x.status == "sent" for x in c.letters), _correct_letter),
    Action("edit_letter", "Edit the letter",
           lambda c: c.draft_letter is not None, _edit_letter),
    Action("approve_letter", "Approve the letter",
           lambda c: c.draft_letter is not None and c.draft_letter.status == "draft", _approve_letter),
    Action("send_outcome", "Send the letter",
           lambda c: c.draft_letter is not None and c.draft_letter.status == "approved"
           and ("send_outcome" in c.allowed or c.dispute.state in SENT_STATES),
           _send_outcome),
    Action("refer_out", "Refer to outside mediation",
           lambda c: "refer_out" in c.allowed, _refer_out),
    Action("complete_task", "Mark a task done",
           lambda c: any(t.done_dt is None for t in c.tasks), _complete_task),
    Action("withdraw", "Withdraw the dispute", lambda c: "withdraw" in c.allowed, _withdraw),
    Action("close", "Close the dispute", lambda c: "close" in c.allowed, _close),
]
ACTIONS = {action.name: action for action in _LIST}


def not_offered(action: Action, dispute: Dispute, expected_version: int) -> DomainError:
    """Why ``action`` is refused without its verb being called: the form was drawn before someone
    else's change (say so first, whatever it asked for), or it is simply not possible now."""
    if expected_version != dispute.version:
        return StaleDispute()
    return WrongState(f"“{action.label}” is not possible for a dispute that is {dispute.state_label}. "
                      "Reload the page to see what you can do now.")


def available_actions(dispute: Dispute, *, allowed, requests, seats, letters, tasks) -> dict[str, Action]:
    context = Context(dispute, allowed, requests, seats, letters, tasks)
    return {action.name: action for action in _LIST if action.is_available(context)}


def offered_now(dispute: Dispute) -> dict[str, Action]:
    """The actions the dispute page offers now, loaded fresh (for a POST that names one)."""

    def rows(model, *order):
        return list(db.session.scalars(select(model).where(model.dispute_id == dispute.id).order_by(*order)))

    return available_actions(
        dispute, allowed=dispute_engine.allowed(dispute), requests=rows(ExtensionRequest, ExtensionRequest.id),
        seats=rows(PanelSeat, PanelSeat.id), letters=rows(Letter, Letter.version.desc()), tasks=rows(Task, Task.id),
    )
