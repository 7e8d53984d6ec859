"""Rehearsing a demo's deadlines: move the instance's clock forward and let what falls due happen.

``resolver tick --as-of "in 6 days"`` walks the clock forward from one due timer to the next, firing
each at its own moment (a reminder goes out before the deadline it reminds of, as it would have with a
worker running all along), then keeps the new time in the database (``resolver.installation``), so
the web app and every worker on the instance run on it from then on. Refused on any instance that
holds a real company, and backwards: a demo's past is what happened in it.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, select

from . import clock
from .extensions import db
from .installation import is_demo_instance, load_clock, move_clock_forward
from .models import Company, OutboxEmail, Timer
from .presentation import duration_words
from .workflow.engine import dispute_engine

# A timer that keeps failing is retried every few minutes; a rehearsal over weeks stops after this many.
MOST_STEPS = 5000

_UNITS = {"m": "minutes", "min": "minutes", "minute": "minutes", "minutes": "minutes",
          "h": "hours", "hour": "hours", "hours": "hours", "d": "days", "day": "days", "days": "days",
          "w": "weeks", "week": "weeks", "weeks": "weeks"}
_AHEAD = re.compile(r"(?:in\s+|\+\s*)?(\d+(?:\.\d+)?)\s*([a-z]+)")

# What each kind of step is called when the rehearsal says what happened.
_DONE = {"lapse": "lapse", "record_reply_breach": "missed reply deadline", "close_panel": "team's vote closed",
         "follow_up": "last follow-up"}


class CannotRehearse(Exception):
    """Said to the person as it is; nothing was changed."""


def parse_moment(text: str, now: datetime) -> datetime:
    """'in 6 days', '+6d', '+12h', '2 weeks', an ISO date (that day, at the time it is now) or an ISO
    date and time (UTC unless it names its offset)."""
    raw = text.strip()
    match = _AHEAD.fullmatch(raw.lower())
    if match and match.group(2) in _UNITS:
        return now + timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            return datetime.combine(date.fromisoformat(raw), now.timetz())
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise CannotRehearse(
            f"{text!r} is not a time to move to: say how far ahead (\"in 6 days\", \"+6d\", \"+12h\") "
            "or give a date (2026-03-15) or a date and time (2026-03-15T09:00)."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@dataclass
class Rehearsal:
    start: datetime
    end: datetime
    company: Company
    happened: Counter = field(default_factory=Counter)
    emails_queued: int = 0

    def moved_line(self) -> str:
        return (f"Moved this demo's clock forward {duration_words(self.end - self.start)}: "
                f"it is now {clock_words(self.end, self.company)}.")

    def happened_words(self) -> str:
        if not self.happened:
            return "Nothing fell due"
        return ", ".join(f"{count} {_plural(what, count)}" for what, count in self.happened.items())


def rehearse(as_of: str, *, limit: int = 500) -> Rehearsal:
    """Move a demo instance's clock to ``as_of`` and fire what falls due on the way; commit."""
    if not is_demo_instance():
        raise CannotRehearse(
            "Moving the clock is only for a demo: this instance holds a real company (or none yet). "
            "Nothing was changed. Try it on a demo instance: `resolver init && resolver demo` in a folder "
            "of its own (RESOLVER_INSTANCE_PATH)."
        )
    load_clock()
    start = clock.now_utc()
    end = parse_moment(as_of, start)
    if end <= start:
        raise CannotRehearse(
            f"The clock only moves forward: {end:%Y-%m-%d %H:%M} UTC is not after now "
            f"({start:%Y-%m-%d %H:%M} UTC). Nothing was changed."
        )
    company = db.session.scalar(select(Company).where(Company.is_demo.is_(True)).order_by(Company.id).limit(1))
    rehearsal = Rehearsal(start=start, end=end, company=company)
    emails_before = db.session.scalar(select(func.count(OutboxEmail.id)))
    _walk(start, end, limit)
    move_clock_forward(end)
    rehearsal.happened = _what_happened(start, end)
    rehearsal.emails_queued = db.session.scalar(select(func.count(OutboxEmail.id))) - emails_before
    return rehearsal


def _walk(start: datetime, end: datetime, limit: int) -> None:
    """Fire the timers due by ``end`` in order, each with the clock at its own moment."""
    from .deadlines import sweep_deadlines

    base = clock.instance_offset()
    for _step in range(MOST_STEPS):
        next_due = db.session.scalar(
            select(func.min(Timer.due_dt)).where(Timer.status == "pending", Timer.due_dt <= end))
        db.session.rollback()
        if next_due is None:
            return
        moment = max(clock.as_utc(next_due), clock.now_utc())
        clock.set_instance_offset(base + (moment - start))
        sweep_deadlines(limit=limit)


def _what_happened(start: datetime, end: datetime) -> Counter:
    rows = db.session.execute(
        select(Timer.window, Timer.kind, Timer.outcome)
        .where(Timer.status == "fired", Timer.fired_dt >= start, Timer.fired_dt <= end)
        .order_by(Timer.fired_dt, Timer.id)
    )
    windows = dispute_engine.definition.windows
    happened: Counter = Counter()
    for window, kind, outcome in rows:
        if outcome.startswith("reminded"):
            reminder = windows[window].reminders[int(kind.rsplit(":", 1)[1])]
            happened["escalation to the supervisor" if reminder.to == "supervisor" else "reminder"] += 1
        elif outcome.startswith("done: "):
            action = outcome.removeprefix("done: ")
            happened[_DONE.get(action, action.replace("_", " "))] += 1
        else:
            happened["step no longer needed"] += 1
    return happened


def clock_words(moment: datetime, company: Company | None) -> str:
    from .workdays import format_moment

    return format_moment(moment, company) if company is not None else f"{moment:%Y-%m-%d %H:%M} UTC"


_PLURALS = {"escalation to the supervisor": "escalations to the supervisor",
            "missed reply deadline": "missed reply deadlines", "team's vote closed": "teams' votes closed",
            "step no longer needed": "steps no longer needed"}


def _plural(word: str, count: int) -> str:
    return word if count == 1 else _PLURALS.get(word, word + "s")
