"""A dispute's history: the one way an audit event is recorded.

The workflow engine records each transition through it (``dispute_engine.fire``), and a verb
everything else it wants kept (a vote arrived, a letter was approved, a deadline moved). The history
is append-only: nothing here updates or deletes a row.
"""
from __future__ import annotations

from datetime import datetime

from .actors import Actor
from .clock import now_utc
from .extensions import db
from .models import AuditEvent

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

    Unless told otherwise the event says the dispute stayed in its state; the engine gives
    ``from_state`` and ``to_state`` for a transition, and creating a dispute its beginning (from
    nothing to the initial state).
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
