"""The retention sweep: erase the personal data of every dispute that ended longer ago than its
company keeps it (``Company.retention_years``), a batch at a time, each erased once.

The worker runs it every round; a dispute already erased is never read again (a partial index holds
only those not yet erased), so a quiet round costs a query or two.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from ...actors import Actor
from ...clock import now_utc
from ...extensions import db
from ...models import Company, Dispute
from ...workflow.engine import dispute_engine
from .erasure import RETENTION, erase_disputes, remove_files

SYSTEM = Actor.system("Resolver (retention)")
BATCH = 200


def years_before(moment: datetime, years: int) -> datetime:
    """The same day and time ``years`` earlier (29 February becomes the 28th)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def expired_disputes(now: datetime, limit: int) -> list[Dispute]:
    """Up to ``limit`` ended disputes, not yet erased, whose company's retention has run out."""
    ended = sorted(dispute_engine.definition.terminal)
    found: list[Dispute] = []
    # Workers on several machines: each takes disputes the others have not locked.
    is_locked = db.session.get_bind().dialect.name == "postgresql"
    for years in db.session.scalars(select(Company.retention_years).distinct()):
        cutoff = years_before(now, years)
        query = (
            select(Dispute).join(Company, Company.id == Dispute.company_id)
            .where(Company.retention_years == years, Dispute.state.in_(ended),
                   Dispute.personal_data_erased_dt.is_(None),
                   or_(Dispute.closed_dt <= cutoff, Dispute.withdrawn_dt <= cutoff))
            .order_by(Dispute.id).limit(limit - len(found))
        )
        if is_locked:
            query = query.with_for_update(skip_locked=True, of=Dispute)
        found += db.session.scalars(query)
        if len(found) >= limit:
            break
    return found


def sweep_retention(*, limit: int = BATCH, now: datetime | None = None) -> int:
    """Erase up to ``limit`` expired disputes, commit, then remove their files; return how many."""
    now = now or now_utc()
    disputes = expired_disputes(now, limit)
    if not disputes:
        return 0
    files = erase_disputes(SYSTEM, disputes, why=RETENTION, now=now)
    db.session.commit()
    remove_files(files)
    return len(disputes)
