"""What a test reads back about one dispute: its history, its queued emails, its timers, and a
snapshot to show that a refused verb changed nothing."""
from __future__ import annotations

from sqlalchemy import func, select

from resolver.extensions import db
from resolver.models import AccessLink, AuditEvent, Dispute, OutboxEmail, Timer


def history(dispute: Dispute) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.dispute_id == dispute.id).order_by(AuditEvent.id)))


def actions(dispute: Dispute) -> list[str]:
    return [event.action for event in history(dispute)]


def emails(dispute: Dispute, template: str | None = None) -> list[OutboxEmail]:
    query = select(OutboxEmail).where(OutboxEmail.dispute_id == dispute.id)
    if template is not None:
        query = query.where(OutboxEmail.template == template)
    return list(db.session.scalars(query.order_by(OutboxEmail.id)))


def templates(dispute: Dispute) -> list[str]:
    return [email.template for email in emails(dispute)]


def timers(dispute: Dispute, status: str | None = None) -> list[Timer]:
    query = select(Timer).where(Timer.dispute_id == dispute.id)
    if status is not None:
        query = query.where(Timer.status == status)
    # The sweep updates timers in bulk: read them fresh, not from the session's memory.
    return list(db.session.scalars(query.order_by(Timer.due_dt, Timer.id).execution_options(populate_existing=True)))


def pending(dispute: Dispute) -> dict[str, object]:
    """{kind: due_dt} of the timers still to fire."""
    return {timer.kind: timer.due_dt for timer in timers(dispute, "pending")}


def snapshot(dispute_id: int) -> dict:
    """Everything a verb could change about a dispute, read fresh from the database."""
    db.session.expire_all()
    dispute = db.session.get(Dispute, dispute_id)
    columns = {c.key: getattr(dispute, c.key) for c in Dispute.__mapper__.column_attrs}

    def count(model, *where):
        return db.session.scalar(select(func.count()).select_from(model).where(model.dispute_id == dispute_id, *where))

    return {
        **columns,
        "history": count(AuditEvent),
        "emails": count(OutboxEmail),
        "timers": sorted((t.kind, t.status, t.due_dt) for t in timers(dispute)),
        "live_links": count(AccessLink, AccessLink.revoked_dt.is_(None)),
    }


def refused(error_type, dispute: Dispute, call, match: str | None = None):
    """Call a verb that must be refused; as a request would, roll back; nothing may have changed.

    Returns the error so the test can read what it says."""
    import pytest

    db.session.commit()
    before = snapshot(dispute.id)
    with pytest.raises(error_type, match=match) as caught:
        call()
    db.session.rollback()
    assert snapshot(dispute.id) == before
    return caught.value
