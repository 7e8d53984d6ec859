"""Following the letter through: when the resident has not confirmed receipt in time, one last
email to them, and a task with a calendar reminder for the manager to check in person."""
from __future__ import annotations

from datetime import datetime, time

from flask import current_app

from ...actors import Actor
from ...clock import now_utc
from ...errors import WrongState
from ...extensions import db
from ...files import store_bytes
from ...history import record_event
from ...letters import render
from ...letters.calendar import task_event
from ...links import link_url
from ...models import Dispute, Task
from ...workdays import add_days, format_day, local_zone
from ...workflow.engine import dispute_engine
from ..access import check_version, require_staff
from ..notify import tell
from .letter import letter_pdf_filename, sent_letter
from .sending import outcome_link

WORKFLOW = dispute_engine.definition


def follow_up(actor: Actor, dispute: Dispute, *, expected_version: int | None = None) -> Dispute:
    """Receipt not confirmed in time: one last email to the resident, and a task (with a calendar
    reminder) for the manager to check in person. Only ever once."""
    require_staff(actor, dispute)
    check_version(dispute, expected_version)
    if dispute.state not in WORKFLOW.windows["follow_up"].active_in:
        raise WrongState("A follow-up is only needed while the resident has not confirmed receipt.")
    if dispute.followed_up_dt is not None:
        return dispute
    letter = sent_letter(dispute)
    company = dispute.company
    now = now_utc()
    dispute.followed_up_dt = now
    link = outcome_link(dispute, now, letter.offer_expires_dt if letter is not None else None)
    attachments = []
    if letter is not None and letter.pdf_sha256:
        attachments.append({"filename": letter_pdf_filename(letter), "content_type": "application/pdf",
                            "sha256": letter.pdf_sha256})
    tell(dispute.resident, dispute, "follow_up_resident", {
        "letter": letter, "link_url": link_url(link), "manager": dispute.manager,
        "offer": render.offer_of(letter, dispute) if letter is not None else None,
    }, attachments=attachments)
    check_at = _next_morning(now, company)
    task = Task(
        dispute_id=dispute.id,
        assignee_id=dispute.manager_id,
        kind="follow_up",
        title=f"Check that {dispute.resident.name} received the written outcome",
        detail={"letter_id": letter.id if letter is not None else None,
                "resident_phone": dispute.resident.phone, "resident_email": dispute.resident.email},
        due_dt=check_at,
        created_dt=now,
    )
    db.session.add(task)
    db.session.flush()
    domain = current_app.config.get("MESSAGE_ID_DOMAIN") or "resolver.local"
    summary = f"Call {dispute.resident.name} about the letter (dispute {dispute.id})"
    description = (
        f"{dispute.resident.name} has not confirmed receiving the written outcome sent on "
        f"{format_day(dispute.outcome_sent_dt, company)}. One short call makes sure it arrived."
        + (f" Phone: {dispute.resident.phone}." if dispute.resident.phone else "")
        + (f" Email: {dispute.resident.email}." if dispute.resident.email else "")
    )
    ics = task_event(uid=f"resolver-task-{task.id}@{domain}", starts_dt=check_at, summary=summary,
                     description=description, now=now)
    ics_sha256 = store_bytes(ics)
    task.detail = {**task.detail, "ics_sha256": ics_sha256}
    record_event(dispute, actor, "followed_up", now=now, data={"task_id": task.id})
    tell(dispute.manager, dispute, "follow_up_manager", {
        "task": task, "resident": dispute.resident, "check_at": check_at, "letter": letter,
    }, attachments=[{"filename": "follow-up-reminder.ics", "content_type": "text/calendar", "sha256": ics_sha256}])
    return dispute


def _next_morning(now: datetime, company) -> datetime:
    """9 AM local on the next working day: when a person can pick up the phone."""
    day = add_days(now, 1, company).astimezone(local_zone(company)).date()
    return datetime.combine(day, time(9, 0), tzinfo=local_zone(company)).astimezone(now.tzinfo)
