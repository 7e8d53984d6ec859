"""The manager's tasks from the outcome: carrying out what the letter promised (its completion
closes the dispute), and reading the task lists."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ...actors import Actor
from ...clock import now_utc
from ...errors import NotFound, WrongState
from ...extensions import db
from ...history import record_event
from ...letters import render
from ...models import Dispute, Letter, Task
from ...workdays import add_days
from ...workflow.engine import dispute_engine
from ..access import check_version, require_staff
from ..notify import tell
from .decision import FULFIL_WITHIN_DAYS, fulfilment_steps

WORKFLOW = dispute_engine.definition


def open_tasks(dispute: Dispute, kind: str | None = None) -> list[Task]:
    query = select(Task).where(Task.dispute_id == dispute.id, Task.done_dt.is_(None))
    if kind is not None:
        query = query.where(Task.kind == kind)
    return list(db.session.scalars(query.order_by(Task.id)))


def start_fulfilment(actor: Actor, dispute: Dispute, letter: Letter, now: datetime, *,
                     with_offer: bool) -> Task | None:
    """The manager's task for what the company promised (None when it promised nothing to do).

    There is one fulfilment task per dispute: a later promise (an offer accepted after a correction)
    is added to the open task; one already done is not reopened.
    """
    steps = fulfilment_steps(letter, dispute, with_offer=with_offer)
    if not steps:
        return None
    task = db.session.scalars(select(Task).where(Task.dispute_id == dispute.id, Task.kind == "fulfil_offer")).first()
    if task is not None and task.done_dt is not None:
        return task
    staff_steps = [step.staff for step in steps]
    detail = {"letter_id": letter.id, "steps": staff_steps, "resident_lines": [step.resident for step in steps],
              "token_kind": letter.token_kind if with_offer else "",
              "token_cents": letter.token_cents if with_offer else None,
              "concession_cents": letter.concession_cents if with_offer else None,
              "with_offer": with_offer}
    title = _task_title(staff_steps, dispute.resident.name)
    if task is not None:
        task.title, task.detail = title, {**(task.detail or {}), **detail}
        return task
    task = Task(dispute_id=dispute.id, assignee_id=dispute.manager_id, kind="fulfil_offer", title=title,
                detail=detail, due_dt=add_days(now, FULFIL_WITHIN_DAYS, dispute.company), created_dt=now)
    db.session.add(task)
    db.session.flush()
    record_event(dispute, actor, "fulfilment_task", now=now,
                 data={"task_id": task.id, "steps": staff_steps})  # its title names the resident
    return task


def _task_title(steps: list[str], name: str) -> str:
    if len(steps) <= 2:
        title = " and ".join(steps) + f" for {name}"
    else:
        title = f"{len(steps)} things for {name}: " + "; ".join(step.rstrip(".") for step in steps)
    return title if len(title) <= 300 else title[:299] + "…"


def complete_task(actor: Actor, task: Task, *, note: str = "", expected_version: int | None = None) -> Task:
    """Mark a task done. When the fulfilment of what the letter promised is done, the dispute closes
    (unless it went to outside mediation, which the manager closes when that ends)."""
    dispute = db.session.get(Dispute, task.dispute_id)
    if dispute is None:
        raise NotFound("There is no such task.")
    require_staff(actor, dispute)
    check_version(dispute, expected_version)
    if task.done_dt is not None:
        return task
    if task.kind == "review":  # its answer goes to the resident, so it is written, not just ticked
        raise WrongState("A request to look again is answered from the dashboard, with what you decided: "
                         f"that answer is sent to {dispute.resident.name} and marks it done.")
    now = now_utc()
    task.done_dt = now
    task.done_by_id = actor.id if actor.is_staff else None
    task.done_note = " ".join((note or "").split())
    dispute_engine.touch(dispute)  # two managers finishing the same task: once, and the other is told
    record_event(dispute, actor, "task_done", now=now, reason=task.done_note,
                 data={"task_id": task.id, "kind": task.kind})
    if task.kind == "fulfil_offer" and not open_tasks(dispute, "fulfil_offer"):
        detail = task.detail or {}
        letter = db.session.get(Letter, detail["letter_id"]) if detail.get("letter_id") else None
        with_offer = detail.get("with_offer", True) and letter is not None and letter.has_offer
        tell(dispute.resident, dispute, "offer_fulfilled", {
            "offer": render.offer_of(letter, dispute) if with_offer else None,
            "lines": detail.get("resident_lines") or [], "manager": dispute.manager,
        })
        if WORKFLOW.can("refer_out", dispute.state):  # the letter stands and the matter is not with a mediator
            dispute.closed_dt = now
            dispute.close_reason = ("The accepted offer was carried out." if with_offer
                                    else "What the letter promised was carried out.")
            dispute_engine.fire(dispute, "close", actor=actor, now=now, reason=dispute.close_reason)
    return task


def tasks_for(actor: Actor, *, include_done: bool = False) -> list[Task]:
    """The actor's tasks (a supervisor sees the whole company's), soonest due first."""
    query = select(Task).join(Dispute, Dispute.id == Task.dispute_id).where(Dispute.company_id == actor.company_id)
    if actor.role != "supervisor":
        query = query.where(Task.assignee_id == actor.id)
    if not include_done:
        query = query.where(Task.done_dt.is_(None))
    return list(db.session.scalars(query.order_by(Task.due_dt.is_(None), Task.due_dt, Task.id)))
