"""What the manager's dispute page shows: one dispute with its history, the resident's sends, the
company's own files, the team, the letters, tasks, emails and deadlines, and the actions offered now.

A fixed handful of queries, whatever the dispute's size; the view only renders what this returns.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...errors import DomainError
from ...extensions import db
from ...links import link_visits
from ...models import (
    AuditEvent, Dispute, ExtensionRequest, LadderRequest, Letter, OutboxEmail, PanelMember, PanelSeat,
    Submission, Task,
)
from ...services import panel
from ...services.company_evidence import company_files, company_side_problem
from ...uploads import UploadLimits, describe_size
from ...workflow.engine import dispute_engine
from ...models import UNSENT
from .actions import available_actions
from .diagram import workflow_svg
from .paper_forms import PaperSubmissionForm
from .timeline import describe, residents_words

WORKFLOW = dispute_engine.definition
# Served inline (for thumbnails) only when the stored type is one of these; everything else downloads.
INLINE_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


def _rows(model, dispute: Dispute, *order, options=()) -> list:
    return list(db.session.scalars(select(model).where(model.dispute_id == dispute.id).options(*options)
                                   .order_by(*order)))


def dispute_page_context(dispute: Dispute, *, paper_form=None) -> dict:
    """Everything ``manager/dispute.html`` draws for ``dispute``; ``paper_form``: a letter by post as it
    was typed, when its entry was refused."""
    company = dispute.company
    events = _rows(AuditEvent, dispute, AuditEvent.occurred_dt, AuditEvent.id)
    submissions = _rows(Submission, dispute, Submission.received_dt, Submission.id,
                        options=[selectinload(Submission.files)])
    requests = _rows(ExtensionRequest, dispute, ExtensionRequest.id)
    seats = _rows(PanelSeat, dispute, PanelSeat.id,
                  options=[selectinload(PanelSeat.member), selectinload(PanelSeat.vote)])
    letters = _rows(Letter, dispute, Letter.version.desc())
    tasks = _rows(Task, dispute, Task.id)
    roster = list(db.session.scalars(
        select(PanelMember).where(PanelMember.company_id == company.id, PanelMember.is_active.is_(True))
        .order_by(PanelMember.is_reserve, PanelMember.name)
    ))
    allowed = dispute_engine.allowed(dispute)
    actions = available_actions(dispute, allowed=allowed, requests=requests, seats=seats, letters=letters,
                                tasks=tasks)
    return {
        "dispute": dispute,
        "company": company,
        "events": _timeline(dispute, events, requests, tasks),
        "submissions": submissions,
        "requests": requests,
        "pending_request": next((r for r in requests if r.status == "pending"), None),
        "seats": seats,
        "letters": letters,
        "tasks": tasks,
        "emails": _emails(dispute),
        "link_visits": link_visits(dispute.id),  # "did they see it?": the manager can tell
        "roster": roster,
        "windows": _windows(dispute, events),
        "allowed": allowed,
        "actions": actions,
        "panel_progress": panel.panel_progress(dispute) if seats else None,
        "call_records": panel.call_records(dispute) if seats else {},  # votes recorded from a team call
        "is_reviewing": WORKFLOW.can("decide", dispute.state),
        "proposal": _proposal(dispute, actions),
        "diagram": workflow_svg(dispute.state, allowed),
        "inline_types": INLINE_IMAGE_TYPES,
        # The company's own files, and why they can no longer change (once the case went to the team).
        "company_files": company_files(dispute),
        "company_files_fixed": company_side_problem(dispute),
        "upload_limits": UploadLimits.of(company),
        "describe_size": describe_size,
        # Where the resident's side stands, asked of the workflow rather than spelled as states.
        "is_not_invited": dispute.state == WORKFLOW.initial,
        "is_waiting_for_resident": dispute.state in WORKFLOW.windows["evidence"].active_in,
        "unsent_statuses": UNSENT,
        # A letter that came by post may be typed in while the resident's side can still be received
        # (or, after a lapse, when it arrived in time): the verb checks the day it arrived.
        "paper_form": (paper_form or PaperSubmissionForm.blank()) if "submit_evidence" in allowed else None,
    }


def _timeline(dispute: Dispute, events: list, requests: list, tasks: list) -> list[tuple]:
    """Each event with its sentence and the words quoted beside it. The history names no resident:
    their name, what they wrote and the tasks' titles are read from the rows that keep them (and
    erasure clears)."""
    company, name = dispute.company, dispute.resident.name
    ladder_requests = _rows(LadderRequest, dispute, LadderRequest.id)
    titles = {task.id: task.title for task in tasks}
    return [(event, describe(event, company, dispute.decision, resident_name=name, task_titles=titles),
             residents_words(event, requests, ladder_requests)) for event in events]


def _emails(dispute: Dispute) -> list:
    return db.session.execute(
        select(OutboxEmail.created_dt, OutboxEmail.to_name, OutboxEmail.to_addr, OutboxEmail.subject,
               OutboxEmail.status, OutboxEmail.sent_dt, OutboxEmail.attempts, OutboxEmail.last_error)
        .where(OutboxEmail.dispute_id == dispute.id).order_by(OutboxEmail.created_dt, OutboxEmail.id)
    ).all()


def _windows(dispute: Dispute, events: list[AuditEvent]) -> list[dict]:
    """Every deadline the dispute has had: when it is due, whether it is running, and its extensions."""
    rows = []
    for window in dispute_engine.definition.windows.values():
        due = getattr(dispute, window.due_column)
        if due is None:
            continue
        is_running = dispute.state in window.active_in
        breached = window.name == "reply" and dispute.reply_breached_dt is not None
        extensions = [e for e in events if e.action == "extend" and (e.data or {}).get("window") == window.name]
        rows.append({"name": window.name, "due": due, "is_running": is_running, "breached": breached,
                     "extensions": extensions})
    return rows


def _proposal(dispute: Dispute, actions: dict) -> dict:
    """Who the panel helper suggests for the team, and any conflicts it sees, for the seat form."""
    proposal = {}
    if "replace_seat" in actions:
        found = panel.propose_replacement(dispute)
        proposal["replacement"] = found.id if found is not None else None
    if "seat_panel" in actions:
        try:
            proposal["ids"] = {member.id for member in panel.propose_panel(dispute)}
            proposal["conflicts"] = panel.conflicts_for(dispute)
        except DomainError:  # no proposal today (the roster cannot make a team): the form still works
            pass
    return proposal
