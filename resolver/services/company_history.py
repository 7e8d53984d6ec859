"""The company's own history: who changed its set-up (team roster, staff, rules, API keys), and how.

A dispute's history is its ``AuditEvent`` rows; what belongs to no dispute is a ``CompanyEvent``.
The verbs that change a company's set-up each record one here, in the same transaction as the change.
"""
from __future__ import annotations

from sqlalchemy import select

from ..actors import Actor
from ..clock import now_utc
from ..errors import NotAllowed
from ..extensions import db
from ..history import append_to_chain
from ..models import CompanyEvent

SUPERVISOR_ONLY = "Only a supervisor can change this. Ask your supervisor or the home office."


def require_supervisor(actor: Actor, company_id: int) -> None:
    """Company-wide settings are the supervisor's (the home office's) to change."""
    if actor.is_system:
        return
    if not actor.is_staff or actor.company_id != company_id:
        raise NotAllowed("Only the company's own staff can do this.")
    if actor.role != "supervisor":
        raise NotAllowed(SUPERVISOR_ONLY)


def record_company_event(actor: Actor, company_id: int, action: str, *, subject_kind: str,
                         subject_id: int | None = None, subject_label: str = "", reason: str = "",
                         data: dict | None = None) -> CompanyEvent:
    row = CompanyEvent(
        company_id=company_id, occurred_dt=now_utc(), actor_kind=actor.kind, actor_id=actor.id,
        actor_label=actor.label[:200], action=action, subject_kind=subject_kind, subject_id=subject_id,
        subject_label=subject_label[:200], reason=reason, data=data or {},
    )
    return append_to_chain(row)  # chained like a dispute's history: changed or removed, it shows


def company_history(company_id: int, *, limit: int = 50) -> list[CompanyEvent]:
    """The company's latest changes, the newest first."""
    return list(db.session.scalars(
        select(CompanyEvent).where(CompanyEvent.company_id == company_id)
        .order_by(CompanyEvent.occurred_dt.desc(), CompanyEvent.id.desc()).limit(limit)
    ))
