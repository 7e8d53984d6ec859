"""A dispute's history: the one way a verb records an audit event that is not a state change.

The workflow engine records each transition itself (``dispute_engine.fire``); everything else a
verb wants kept (a vote arrived, a letter was approved, a deadline moved) goes through
``record_event``. The history is append-only: nothing here updates or deletes a row.
"""
from __future__ import annotations

from datetime import datetime

from ..actors import Actor
from ..clock import now_utc
from ..extensions import db
from ..models import AuditEvent

_UNCHANGED = object()


def record_event(
    dispute,
    actor: Actor,
    action: str,
    *,
    now: datetime | None = None,
    reason: str = "",
    data: dict | None = None,
    from_state=_UNCHANGED,
    to_state: str | None = None,
) -> AuditEvent:
    """Add one event to ``dispute``'s history: who (``actor``), what (``action``), when (``now``,
    else the clock), why (``reason``) and the details (``data``).

    The event says the dispute stayed in its state; ``from_state``/``to_state`` are for the rare
    event that records a beginning (a dispute created, from nothing to ``draft``).
    """
    event = AuditEvent(
        dispute_id=dispute.id,
        occurred_dt=now or now_utc(),
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_label=actor.label,
        action=action,
        from_state=dispute.state if from_state is _UNCHANGED else from_state,
        to_state=to_state or dispute.state,
        reason=reason,
        data=data or {},
    )
    db.session.add(event)
    return event
