"""The outbox rows a batch works on: claiming them with a lease, giving back the ones it did not try,
and recording, one commit per email, what happened to each."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update

from ..extensions import db
from ..models import OutboxEmail

log = logging.getLogger("resolver.mail")

# How long a claim holds a row (OUTBOX_LEASE_SECONDS overrides it).
LEASE = timedelta(minutes=10)
FIRST_RETRY = timedelta(minutes=1)
LAST_RETRY = timedelta(hours=1)

# What a batch needs of each email, read as plain rows: ORM objects would be expired by every
# message's commit and loaded again one by one.
BATCH_COLUMNS = (
    OutboxEmail.id, OutboxEmail.company_id, OutboxEmail.dispute_id, OutboxEmail.template, OutboxEmail.message_id,
    OutboxEmail.to_addr, OutboxEmail.to_name, OutboxEmail.subject, OutboxEmail.body_text, OutboxEmail.body_html,
    OutboxEmail.attachments, OutboxEmail.attempts, OutboxEmail.reply_token, OutboxEmail.is_auto_reply,
)


def retry_delay(failed_attempts: int) -> timedelta:
    """1, 2, 4, 8 ... minutes after the 1st, 2nd, 3rd, 4th ... failure; never more than an hour."""
    return min(FIRST_RETRY * 2 ** min(max(failed_attempts - 1, 0), 10), LAST_RETRY)


def _due(now: datetime, with_links: bool = True):
    query = (
        select(OutboxEmail.id)
        .where(
            OutboxEmail.status == "pending",
            OutboxEmail.next_attempt_dt <= now,
            or_(OutboxEmail.claimed_until_dt.is_(None), OutboxEmail.claimed_until_dt < now),
        )
        .order_by(OutboxEmail.next_attempt_dt, OutboxEmail.id)
    )
    return query if with_links else query.where(OutboxEmail.has_links.is_(False))


def claim(limit: int, now: datetime, lease_end: datetime, *, with_links: bool = True) -> list:
    """Take up to ``limit`` due rows for this batch, commit the claim in one statement, and return
    the claimed emails (as rows of ``BATCH_COLUMNS``) in the order they fell due. ``with_links=False``
    leaves the emails with links where they are (no public address is known to fill them in).

    On PostgreSQL the rows chosen are locked with SKIP LOCKED, so two workers choose different rows.
    SQLite has no row locks, but one writer at a time, and a statement that writes holds the write
    lock from its start: the rows it chooses are still due when it claims them.
    """
    due = _due(now, with_links).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    table = OutboxEmail.__table__
    ids = list(db.session.scalars(
        update(table)
        .where(
            table.c.id.in_(due.scalar_subquery()),
            table.c.status == "pending",
            or_(table.c.claimed_until_dt.is_(None), table.c.claimed_until_dt < now),
        )
        .values(claimed_until_dt=lease_end)
        .returning(table.c.id)
    ))
    db.session.commit()
    if not ids:
        return []
    return db.session.execute(
        select(*BATCH_COLUMNS).where(OutboxEmail.id.in_(ids)).order_by(OutboxEmail.next_attempt_dt, OutboxEmail.id)
    ).all()


def release(emails, lease_end: datetime) -> None:
    """Give back rows this batch claimed but did not try, for the next round."""
    ids = [email.id for email in emails]
    if not ids:
        return
    db.session.execute(
        update(OutboxEmail)
        .where(OutboxEmail.id.in_(ids), OutboxEmail.status == "pending", OutboxEmail.claimed_until_dt == lease_end)
        .values(claimed_until_dt=None),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()


def _about(email, outcome: str) -> dict:
    return {"outbox_id": email.id, "dispute_id": email.dispute_id, "template": email.template, "outcome": outcome}


def mark_sent(email, now: datetime) -> None:
    """Record that the server took the email, at once and on its own: a crash later in the batch
    must not send it again."""
    db.session.execute(
        update(OutboxEmail).where(OutboxEmail.id == email.id)
        .values(status="sent", sent_dt=now, claimed_until_dt=None, last_error="")
    )
    db.session.commit()
    log.info("sent email %s (%s) for dispute %s to %s", email.id, email.template, email.dispute_id,
             email.to_addr, extra=_about(email, "sent"))


def mark_failed(email, error: str, now: datetime, *, permanent: bool, is_logged: bool = True) -> None:
    """Record a failed attempt: for good (``failed``), or pending again after a growing wait.

    ``is_logged=False`` when the caller logs once for many emails (a mail server that is down)."""
    attempts = email.attempts + 1
    values = {"attempts": attempts, "last_error": error[:2000], "claimed_until_dt": None}
    if permanent:
        values["status"] = "failed"
    else:
        values["next_attempt_dt"] = now + retry_delay(attempts)
    db.session.execute(
        update(OutboxEmail).where(OutboxEmail.id == email.id, OutboxEmail.status == "pending").values(**values)
    )
    db.session.commit()
    if not is_logged:
        return
    if permanent:
        log.warning("email %s (%s) for dispute %s was refused for good: %s", email.id, email.template,
                    email.dispute_id, error, extra=_about(email, "failed"))
    else:
        log.warning("email %s (%s) for dispute %s waits until %s (attempt %d): %s", email.id, email.template,
                    email.dispute_id, values["next_attempt_dt"].isoformat(), attempts, error,
                    extra=_about(email, "retry"))


def waiting_for_address(company_id: int | None = None) -> int:
    """How many pending emails have links (and so wait while no public address is known)."""
    query = select(func.count(OutboxEmail.id)).where(OutboxEmail.status == "pending", OutboxEmail.has_links.is_(True))
    if company_id is not None:
        query = query.where(OutboxEmail.company_id == company_id)
    return db.session.scalar(query)


def outbox_counts(company_id: int | None = None) -> dict[str, int]:
    """How many emails are pending, sent and failed (for one company, or all)."""
    query = select(OutboxEmail.status, func.count(OutboxEmail.id)).group_by(OutboxEmail.status)
    if company_id is not None:
        query = query.where(OutboxEmail.company_id == company_id)
    counts = {"pending": 0, "sent": 0, "failed": 0}
    counts.update({status: count for status, count in db.session.execute(query)})
    return counts
