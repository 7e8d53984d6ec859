"""The access log's long memory: once they are 90 days old, a link's uses and the staff sign-in
attempts are kept only as counts by day (what was used, how often, with what outcome), and the rows
with their addresses, clients and paths are deleted.

The worker runs the rollup once a day (each run is recorded as an ``AccessLogRollup``, one per day it
cuts at, so a second round or a second worker finds the day done), in one transaction: counted and
deleted together, or neither.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select

from .clock import now_utc
from .extensions import db
from .models import AccessLogRollup, LinkUse, LinkUseCount, SignInAttempt, SignInCount

log = logging.getLogger(__name__)
KEPT_IN_FULL = timedelta(days=90)


def roll_up_access_log(now: datetime | None = None) -> AccessLogRollup | None:
    """Count by day, then delete, the access-log rows from before the day 90 days ago; None if that day
    was already done. Does not commit."""
    now = now or now_utc()
    before = (now - KEPT_IN_FULL).replace(hour=0, minute=0, second=0, microsecond=0)
    if db.session.scalar(select(AccessLogRollup.id).where(AccessLogRollup.before_dt == before)):
        return None
    # Written first: a second worker rolling up the same day waits on it, then fails on its uniqueness.
    rollup = AccessLogRollup(rolled_up_dt=now, before_dt=before)
    db.session.add(rollup)
    db.session.flush()
    rollup.link_uses = _roll_up_link_uses(before)
    rollup.sign_in_attempts = _roll_up_sign_ins(before)
    if rollup.link_uses or rollup.sign_in_attempts:
        log.info("counted by day and deleted %d link uses and %d sign-in attempts from before %s",
                 rollup.link_uses, rollup.sign_in_attempts, before.date())
    return rollup


def _utc_day(column):
    """The UTC calendar day of a datetime column, as the database gives it (a date or 'YYYY-MM-DD')."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def _day(value) -> datetime:
    return datetime.fromisoformat(str(value)[:10]).replace(tzinfo=timezone.utc)


def _roll_up_link_uses(before: datetime) -> int:
    """Each link's old uses (kept in full, or already counted by the hour) into its counts by day."""
    days: dict[tuple, list] = defaultdict(lambda: [0, None])
    kept_day = _utc_day(LinkUse.used_dt)
    kept = (select(LinkUse.link_id, kept_day, LinkUse.method, LinkUse.outcome, func.count(), func.max(LinkUse.used_dt))
            .where(LinkUse.used_dt < before).group_by(LinkUse.link_id, kept_day, LinkUse.method, LinkUse.outcome))
    hour_day = _utc_day(LinkUseCount.start_dt)
    hourly = (select(LinkUseCount.link_id, hour_day, LinkUseCount.method, LinkUseCount.outcome,
                     func.sum(LinkUseCount.uses), func.max(LinkUseCount.last_used_dt))
              .where(LinkUseCount.span == "hour", LinkUseCount.start_dt < before)
              .group_by(LinkUseCount.link_id, hour_day, LinkUseCount.method, LinkUseCount.outcome))
    for link_id, day, method, outcome, uses, last in [*db.session.execute(kept), *db.session.execute(hourly)]:
        counted = days[(link_id, _day(day), method, outcome)]
        counted[0] += int(uses)
        counted[1] = max(last, counted[1]) if counted[1] else last
    for (link_id, day, method, outcome), (uses, last) in days.items():
        row = db.session.scalars(select(LinkUseCount).where(
            LinkUseCount.link_id == link_id, LinkUseCount.span == "day", LinkUseCount.start_dt == day,
            LinkUseCount.method == method, LinkUseCount.outcome == outcome)).first()
        if row is None:
            db.session.add(LinkUseCount(link_id=link_id, span="day", start_dt=day, method=method, outcome=outcome,
                                        uses=uses, last_used_dt=last))
        else:
            row.uses += uses
            row.last_used_dt = max(row.last_used_dt, last)
    db.session.flush()
    db.session.execute(delete(LinkUseCount).where(LinkUseCount.span == "hour", LinkUseCount.start_dt < before))
    return db.session.execute(delete(LinkUse).where(LinkUse.used_dt < before)).rowcount


def _roll_up_sign_ins(before: datetime) -> int:
    """The old sign-in attempts into counts by day, kind and success; the addresses and clients go."""
    day = _utc_day(SignInAttempt.attempted_dt)
    groups = db.session.execute(
        select(day, SignInAttempt.kind, SignInAttempt.is_success, func.count())
        .where(SignInAttempt.attempted_dt < before).group_by(day, SignInAttempt.kind, SignInAttempt.is_success)
    ).all()
    for value, kind, is_success, attempts in groups:
        row = db.session.scalars(select(SignInCount).where(
            SignInCount.day_dt == _day(value), SignInCount.kind == kind, SignInCount.is_success == is_success)).first()
        if row is None:
            db.session.add(SignInCount(day_dt=_day(value), kind=kind, is_success=is_success, attempts=attempts))
        else:
            row.attempts += attempts
    db.session.flush()
    return db.session.execute(delete(SignInAttempt).where(SignInAttempt.attempted_dt < before)).rowcount
