"""The one source of "now" in Resolver.

Every datetime Resolver stores is timezone-aware UTC. Tests and the demo move this clock instead
of sleeping; production code never calls ``datetime.now`` directly.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

_offset = timedelta(0)
_frozen: datetime | None = None


def now_utc() -> datetime:
    if _frozen is not None:
        return _frozen
    return datetime.now(timezone.utc) + _offset


def freeze(at: datetime) -> None:
    """Stop the clock at ``at`` (aware); ``advance`` then moves it."""
    global _frozen
    if at.tzinfo is None:
        raise ValueError("the clock only holds aware datetimes")
    _frozen = at.astimezone(timezone.utc)


def advance(delta: timedelta) -> datetime:
    """Move the clock forward, frozen or not; return the new now."""
    global _frozen, _offset
    if _frozen is not None:
        _frozen += delta
    else:
        _offset += delta
    return now_utc()


def reset() -> None:
    global _frozen, _offset
    _frozen = None
    _offset = timedelta(0)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; every stored datetime is UTC, so say so."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)
