"""What a test reads back about one dispute: its history, its queued emails, its timers, and a
snapshot to show that a refused verb changed nothing; and the small moves its tests share (the clock moved
to a moment, a page's version, an email's HTML as plain words)."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select

from resolver import clock
from resolver.extensions import db
from resolver.models import AccessLink, AuditEvent, Dispute, OutboxEmail, Timer


def history(dispute: Dispute) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.dispute_id == dispute.id).order_by(AuditEvent.id)
    return list(db.session.scalars(query))


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
    """Everything a verb could change about a dispute, read straight from the database (not from
    the session's memory, so a change that was rolled back cannot hide)."""
    table = Dispute.__table__
    row = dict(db.session.execute(select(table).where(table.c.id == dispute_id)).mappings().one())

    def count(model, *where):
        return select(func.count()).select_from(model).where(model.dispute_id == dispute_id, *where).scalar_subquery()

    counts = db.session.execute(select(
        count(AuditEvent).label("history"), count(OutboxEmail).label("emails"),
        count(AccessLink, AccessLink.revoked_dt.is_(None)).label("live_links"),
    )).mappings().one()
    timer_rows = db.session.execute(
        select(Timer.kind, Timer.status, Timer.due_dt).where(Timer.dispute_id == dispute_id)).all()
    return {**row, **counts, "timers": sorted(tuple(t) for t in timer_rows)}


def refused(error_type, dispute: Dispute, call, match: str | None = None):
    """Call a verb that must be refused: it may change nothing, not even in the transaction the
    refusal leaves behind. Then roll back, as a request would, and check again.

    The first comparison is made before the rollback, with whatever the verb left in the session
    written out: a verb that changed a row and then refused would otherwise hide its change behind
    the rollback. Returns the error so the test can read what it says."""
    return _fails_and_changes_nothing(error_type, dispute, call, match, before_rollback=True)


def rolled_back(error_type, dispute: Dispute, call, match: str | None = None):
    """Call something that fails after it has changed the dispute (Resolver breaks halfway): once
    the request rolls back, nothing may have changed. Returns the error."""
    return _fails_and_changes_nothing(error_type, dispute, call, match, before_rollback=False)


def _fails_and_changes_nothing(error_type, dispute: Dispute, call, match: str | None, *, before_rollback: bool):
    import pytest

    db.session.commit()
    before = snapshot(dispute.id)
    with pytest.raises(error_type, match=match) as caught:
        call()
    if before_rollback and db.session.is_active:  # after a failed flush there is nothing to read until the rollback
        db.session.flush()
        assert snapshot(dispute.id) == before, "the verb changed the dispute before it refused"
    db.session.rollback()
    assert snapshot(dispute.id) == before
    return caught.value


def move_to(moment: datetime) -> None:
    clock.advance(moment - clock.now_utc())


def version_in(html: str) -> str:
    return re.search(r'name="expected_version" value="(\d+)"', html).group(1)


def plain(html: str) -> str:
    """The HTML part as a reader sees it: tags gone, entities for quotes undone, spaces collapsed."""
    text = re.sub(r"</?(?:p|div|li|td|tr|h\d|br|ul|ol|table|title)\b[^>]*>", " ", html)
    text = re.sub(r"<[^>]+>", "", text).replace("&#39;", "'").replace("&#34;", '"').replace("&amp;", "&")
    return " ".join(text.split())
