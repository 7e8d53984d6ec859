"""The instance's own settings, kept in the database so every process on it agrees: the public address
links in emails point at, and how far a demo's clock has been moved forward.

``RESOLVER_PUBLIC_BASE_URL`` wins when it is set; otherwise ``resolver serve`` records the address it
serves on, and a worker or ``resolver tick`` on the same database reads it from here.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from . import clock
from .extensions import db
from .models import INSTALLATION_ID, Company, Installation

NO_PUBLIC_ADDRESS = (
    "no public address is known for the links in them. Set RESOLVER_PUBLIC_BASE_URL to the address people "
    "reach Resolver at (e.g. https://resolver.example.com), or start `resolver serve`, which records the "
    "address it serves on"
)

# The web app reads the demo clock's offset again at most this often (a request is far more frequent).
CLOCK_REFRESH_SECONDS = 1.0


def installation_row() -> Installation:
    """The one row, made when first needed (two processes making it at once: one wins, both read it)."""
    row = db.session.get(Installation, INSTALLATION_ID)
    if row is not None:
        return row
    try:
        with db.session.begin_nested():
            row = Installation(id=INSTALLATION_ID)
            db.session.add(row)
    except IntegrityError:
        row = db.session.get(Installation, INSTALLATION_ID, populate_existing=True)
    return row


# The public address -------------------------------------------------------------------------


def stored_public_address() -> str:
    """The address `resolver serve` recorded ("" when it never ran on this database)."""
    return db.session.scalar(select(Installation.public_base_url).where(Installation.id == INSTALLATION_ID)) or ""


def public_address() -> str | None:
    """Where people reach this instance, for links in emails: RESOLVER_PUBLIC_BASE_URL, else the
    address `resolver serve` recorded; None when nobody has said."""
    address = current_app.config.get("PUBLIC_BASE_URL") or stored_public_address()
    return address.rstrip("/") if address else None


def record_public_address(url: str, now: datetime | None = None) -> None:
    """Keep ``url`` as the instance's public address, and commit."""
    row = installation_row()
    if row.public_base_url != url:
        row.public_base_url = url
        row.public_base_url_dt = now or clock.now_utc()
    db.session.commit()


# The demo clock ------------------------------------------------------------------------------


def stored_clock_offset() -> timedelta:
    """How far the instance's clock is ahead, as committed. Read on a connection of its own, which it
    gives back at once: a long-running command (a worker) holds no transaction open for it."""
    with db.engine.connect() as connection:
        seconds = connection.scalar(
            select(Installation.clock_offset_seconds).where(Installation.id == INSTALLATION_ID))
    return timedelta(seconds=seconds or 0)


def load_clock() -> timedelta:
    """Set this process's clock to the instance's (needs an app context); return the offset."""
    offset = stored_clock_offset()
    clock.set_instance_offset(offset)
    return offset


def refresh_clock(app: Flask) -> None:
    """Before a request: read the instance's clock again if a second has passed since the last time.
    A database not yet upgraded (no table) costs the request nothing: the clock stays as it was."""
    state = app.extensions.setdefault("resolver.clock_read", {"at": float("-inf")})
    if time.monotonic() - state["at"] < CLOCK_REFRESH_SECONDS:
        return
    state["at"] = time.monotonic()
    try:
        load_clock()
    except SQLAlchemyError:
        return


def is_demo_instance() -> bool:
    """Only demo companies live here (and there is at least one)."""
    flags = set(db.session.scalars(select(Company.is_demo).distinct()))
    return flags == {True}


def move_clock_forward(to: datetime) -> timedelta:
    """Move the instance's clock forward to ``to`` for every process on it, and commit; return by how much."""
    load_clock()  # from the instance's "now", not this process's idea of it
    now = clock.now_utc()
    if to < now:
        raise ValueError("the clock only moves forward")
    step = to - now
    row = installation_row()
    offset = timedelta(seconds=row.clock_offset_seconds or 0) + step
    row.clock_offset_seconds = round(offset.total_seconds())
    row.clock_moved_dt = to
    db.session.commit()
    clock.set_instance_offset(timedelta(seconds=row.clock_offset_seconds))
    return step
