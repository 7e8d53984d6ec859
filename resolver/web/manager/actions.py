"""The things a manager can do from the dispute page, each a POST form that calls one verb.

An action is offered only when the workflow allows it now (``dispute_engine.allowed``). Every form
carries ``expected_version``, passed to the verb, which checks it once: a form drawn before someone
else changed the dispute is refused with "this dispute changed", and nothing happens.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select

from ...actors import Actor
from ...errors import DomainError, InvalidInput, StaleDispute, WrongState
from ...extensions import db
from ...models import UNSENT, Dispute, ExtensionRequest, Letter, LetterStatus, PanelSeat, Task
from ...services import outcome, panel
from ...services.disputes import close_dispute, extend_window, open_dispute, reopen_dispute, withdraw_dispute
from ...services.evidence import answer_more_time
from ...workdays import format_moment
from ...workflow.engine import dispute_engine
from . import forms

WORKFLOW = dispute_engine.definition
# The states in which the resident already has the letter (a change is a correction, sent as a new letter).
SENT_STATES = WORKFLOW.group("letter_sent")


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
        return next((x for x in self.letters if x.status in UNSENT), None)


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    is_available: Callable[[Context], bool]
    run: Callable[[Actor, Dispute, forms.ActionForm], str]  # (actor, dispute, the validated form)
    form: type[forms.ActionForm] = forms.ActionForm


def _due(dispute: Dispute, value) -> str:
    return format_moment(value, dispute.company) if value else ""


# Handlers: call the verb with the form's values (the verb checks the version), say what happened -----

def _open(actor, dispute, form):
    open_dispute(actor, dispute, expected_version=form.expected_version.data)
    return _("The invitation is on its way to %(resident)s. They have until %(due)s to send their side.",
             resident=dispute.resident.name, due=_due(dispute, dispute.evidence_due_dt))


def running_windows(dispute: Dispute) -> list[str]:
    return [w.name for w in WORKFLOW.windows.values()
            if dispute.state in w.active_in and getattr(dispute, w.due_column) is not None]


def _extend(actor, dispute, form: forms.ExtendForm):
    if form.window.data not in running_windows(dispute):
        raise InvalidInput(_("Choose one of the deadlines that is running now."), field="window")
    new_due = form.new_due.due_in(dispute.company)
    extend_window(actor, dispute, window=form.window.data, new_due=new_due, reason=form.reason.data,
                  expected_version=form.expected_version.data)
    moved = _("The deadline moved to %(due)s. The history keeps both dates and your reason.",
              due=_due(dispute, new_due))
    if form.window.data == "reply" and dispute.reply_promised_dt is not None:
        told = _("%(resident)s and the supervisor have been told. A reply sent after %(promised)s, the date first "
                 "promised, still counts as late.", resident=dispute.resident.name,
                 promised=_due(dispute, dispute.reply_promised_dt))
        return f"{moved} {told}"
    return moved


def _answer_more_time(actor, dispute, form: forms.AnswerMoreTimeForm):
    request = db.session.get(ExtensionRequest, form.request_id.data) if form.request_id.data else None
    if request is None or request.dispute_id != dispute.id:
        raise InvalidInput(_("That request for more time is not on this dispute."), field="request_id")
    grant = form.answer.data == "grant"
    answer_more_time(actor, dispute, request, grant=grant, note=form.note.data,
                     expected_version=form.expected_version.data)
    if grant:
        return _("More time given: the resident now has until %(due)s.", due=_due(dispute, dispute.evidence_due_dt))
    return _("The resident has been told there is no more time, and until when they can still send their side.")


def _seat_panel(actor, dispute, form: forms.SeatPanelForm):
    ids = form.member_ids.data
    panel.seat_panel(actor, dispute, ids, form.chair_id.data, conflict_note=form.conflict_note.data,
                     expected_version=form.expected_version.data)
    return ngettext("The team is chosen (%(num)s member). Send the case when ready.",
                    "The team is chosen (%(num)s members). Send the case when ready.", len(ids))


def _replace_seat(actor, dispute, form: forms.ReplaceSeatForm):
    panel.replace_seat(actor, dispute, form.member_id.data, conflict_note=form.conflict_note.data,
                       expected_version=form.expected_version.data)
    return _("The replacement is seated and invited.")


def _send_to_panel(actor, dispute, form):
    panel.send_to_panel(actor, dispute, expected_version=form.expected_version.data)
    return _("The case went to the resolution team. Their review closes %(due)s.",
             due=_due(dispute, dispute.panel_due_dt))


def _decide_deadlock(actor, dispute, form: forms.DecideForm):
    panel.decide_deadlock(actor, dispute, decision=form.decision.data, note=form.note.data,
                          expected_version=form.expected_version.data)
    return _("Decided. Next, draft the letter to the resident.")


def _draft_outcome(actor, dispute, form):
    outcome.draft_outcome(actor, dispute, expected_version=form.expected_version.data)
    return _("A draft letter is ready below. Read it, edit it, then approve it.")


def _letter_of(dispute: Dispute, form: forms.LetterForm) -> Letter:
    letter = db.session.get(Letter, form.letter_id.data) if form.letter_id.data else None
    if letter is None or letter.dispute_id != dispute.id:
        raise InvalidInput(_("That letter is not on this dispute."), field="letter_id")
    return letter


def _edit_letter(actor, dispute, form: forms.EditLetterForm):
    outcome.edit_letter(
        actor, _letter_of(dispute, form), subject=form.subject.data, body_text=form.body_text.data,
        token_kind=form.token_kind.data,
        # A cleared amount removes that part of the offer.
        token_cents=form.token.data or 0, concession_cents=form.concession.data or 0,
        expected_version=form.expected_version.data,
    )
    return _("The letter is saved.")


def _approve_letter(actor, dispute, form: forms.ApproveLetterForm):
    outcome.approve_letter(actor, _letter_of(dispute, form), override_reason=form.override_reason.data,
                           expected_version=form.expected_version.data)
    return _("The letter is approved. Send it when ready.")


def _send_outcome(actor, dispute, form):
    outcome.send_outcome(actor, dispute, expected_version=form.expected_version.data)
    return _("The letter is on its way to %(resident)s, with the PDF attached.", resident=dispute.resident.name)


def _correct_letter(actor, dispute, form):
    outcome.correct_letter(actor, dispute, expected_version=form.expected_version.data)
    return _("A correction is drafted below, linked to the letter the resident has. Edit it, approve it, send it.")


def _refer_out(actor, dispute, form: forms.ReasonForm):
    outcome.refer_out(actor, dispute, reason=form.reason.data, expected_version=form.expected_version.data)
    return _("Referred to outside mediation.")


def _complete_task(actor, dispute, form: forms.CompleteTaskForm):
    task = db.session.get(Task, form.task_id.data) if form.task_id.data else None
    if task is None or task.dispute_id != dispute.id:
        raise InvalidInput(_("That task is not on this dispute."), field="task_id")
    outcome.complete_task(actor, task, note=form.note.data, expected_version=form.expected_version.data)
    return _("Done: %(task)s.", task=task.title)


def _withdraw(actor, dispute, form: forms.ReasonForm):
    withdraw_dispute(actor, dispute, reason=form.reason.data, expected_version=form.expected_version.data)
    return _("The dispute is withdrawn. Its links no longer work.")


def _reopen(actor, dispute, form: forms.ReasonForm):
    reopen_dispute(actor, dispute, reason=form.reason.data, expected_version=form.expected_version.data)
    return _("Reopened. %(resident)s has been told, with a working link, and has until %(due)s to send their side.",
             resident=dispute.resident.name, due=_due(dispute, dispute.evidence_due_dt))


def _close(actor, dispute, form: forms.CloseForm):
    close_dispute(actor, dispute, reason=form.reason.data, lessons_learned=form.lessons_learned.data,
                  expected_version=form.expected_version.data)
    if dispute.lessons_learned:
        return _("The dispute is closed. What you learned is in the training report.")
    return _("The dispute is closed.")


_LIST = [
    Action("open", _l("Send the invitation"), lambda c: "open" in c.allowed, _open),
    Action("answer_more_time", _l("Answer the request for more time"),
           lambda c: any(r.status == "pending" for r in c.requests), _answer_more_time,
           forms.AnswerMoreTimeForm),
    Action("extend", _l("Extend a deadline"), lambda c: bool(running_windows(c.dispute)), _extend,
           forms.ExtendForm),
    Action("seat_panel", _l("Choose the resolution team"),
           lambda c: "send_to_panel" in c.allowed, _seat_panel, forms.SeatPanelForm),
    Action("replace_seat", _l("Seat a replacement"),
           lambda c: c.dispute.state in WORKFLOW.windows["panel"].active_in and any(s.recused_dt for s in c.seats),
           _replace_seat, forms.ReplaceSeatForm),
    Action("send_to_panel", _l("Send the case to the team"),
           lambda c: "send_to_panel" in c.allowed and bool(c.seats),
           _send_to_panel),
    Action("decide_deadlock", _l("Decide for the split team"),
           lambda c: "manager_decides" in c.allowed, _decide_deadlock, forms.DecideForm),
    Action("draft_outcome", _l("Draft the letter"),
           lambda c: "draft_outcome" in c.allowed and c.draft_letter is None,
           _draft_outcome),
    Action("correct_letter", _l("Write a correction"),
           lambda c: c.dispute.state in SENT_STATES and c.draft_letter is None
           and any(x.status == "sent" for x in c.letters), _correct_letter),
    Action("edit_letter", _l("Edit the letter"),
           lambda c: c.draft_letter is not None, _edit_letter, forms.EditLetterForm),
    Action("approve_letter", _l("Approve the letter"),
           lambda c: c.draft_letter is not None and c.draft_letter.status != LetterStatus.APPROVED, _approve_letter,
           forms.ApproveLetterForm),
    Action("send_outcome", _l("Send the letter"),
           lambda c: c.draft_letter is not None and c.draft_letter.status == LetterStatus.APPROVED
           and ("send_outcome" in c.allowed or c.dispute.state in SENT_STATES),
           _send_outcome),
    Action("refer_out", _l("Refer to outside mediation"),
           lambda c: "refer_out" in c.allowed, _refer_out, forms.ReasonForm),
    Action("complete_task", _l("Mark a task done"),
           lambda c: any(t.done_dt is None for t in c.tasks), _complete_task,
           forms.CompleteTaskForm),
    Action("withdraw", _l("Withdraw the dispute"), lambda c: "withdraw" in c.allowed, _withdraw, forms.ReasonForm),
    Action("reopen", _l("Reopen the dispute"), lambda c: "reopen" in c.allowed, _reopen, forms.ReasonForm),
    Action("close", _l("Close the dispute"), lambda c: "close" in c.allowed, _close, forms.CloseForm),
]
ACTIONS = {action.name: action for action in _LIST}


def not_offered(action: Action, dispute: Dispute, expected_version: int | None) -> DomainError:
    """Why ``action`` is refused without its verb being called: the form was drawn before someone
    else's change (say so first, whatever it asked for), or it is simply not possible now."""
    if expected_version != dispute.version:
        return StaleDispute()
    return WrongState(_("“%(action)s” is not possible for a dispute that is %(state)s. Reload the page to see what "
                        "you can do now.", action=action.label, state=dispute.state_label))


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
