"""The one source of "now" in Resolver.

Every datetime Resolver stores is timezone-aware UTC. Tests and the demo move this clock instead
of sleeping; production code never calls ``datetime.now`` directly.

A demo instance may also be moved forward as a whole (``resolver tick --as-of``): that offset is kept
in the database (``resolver.installation``) so every process on the instance reads the same "now", and
each process sets it here with ``set_instance_offset``. It adds to whatever else the clock does;
``freeze(at)`` still means "now is ``at``".
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

_offset = timedelta(0)
_frozen: datetime | None = None
_instance_offset = timedelta(0)


def now_utc() -> datetime:
    if _frozen is not None:
        return _frozen + _instance_offset
    return datetime.now(timezone.utc) + _offset + _instance_offset


def freeze(at: datetime) -> None:
    """Stop the clock at ``at`` (aware); ``advance`` then moves it."""
    global _frozen
    if at.tzinfo is None:
        raise ValueError("the clock only holds aware datetimes")
    _frozen = at.astimezone(timezone.utc) - _instance_offset


def instance_offset() -> timedelta:
    return _instance_offset


def set_instance_offset(offset: timedelta) -> None:
    """How far this instance's clock runs ahead of the real one (read from the database)."""
    global _instance_offset
    _instance_offset = offset


def advance(delta: timedelta) -> datetime:
    """Move the clock forward, frozen or not; return the new now."""
    global _frozen, _offset
    if _frozen is not None:
        _frozen += delta
    else:
        _offset += delta
    return now_utc()


def move_to(moment: datetime) -> datetime:
    """Set the clock to ``moment`` (aware), frozen or not: a frozen clock stays there, a running one
    runs on from there. Return the new now."""
    global _frozen, _offset
    if moment.tzinfo is None:
        raise ValueError("the clock only holds aware datetimes")
    if _frozen is not None:
        _frozen = moment.astimezone(timezone.utc) - _instance_offset
    else:
        _offset = moment - datetime.now(timezone.utc) - _instance_offset
    return now_utc()


@contextmanager
def kept() -> Iterator[None]:
    """Put the clock back as it was when the block ends, whatever the block did to it."""
    global _frozen, _offset
    frozen, offset = _frozen, _offset
    try:
        yield
    finally:
        _frozen, _offset = frozen, offset


def reset() -> None:
    global _frozen, _offset, _instance_offset
    _frozen = None
    _offset = timedelta(0)
    _instance_offset = timedelta(0)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; every stored datetime is UTC, so say so."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)
