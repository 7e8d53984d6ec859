"""Waking the sender: email leaves as soon as the transaction that queued it commits.

``queue_email`` marks the session. When that session commits, two things happen:

- in this process, every waiting worker is woken (``resolver serve`` runs its worker in a thread);
- on PostgreSQL, the transaction also sends ``NOTIFY resolver_outbox``, which PostgreSQL delivers only
  if it commits, to every worker on any machine that listens (``listening``);
- on SQLite, whose processes share one machine and one database file, the commit rings a doorbell: it
  sets the time of a file beside the database (``resolver.db-outbox``), which a worker in another
  process (``resolver worker`` beside a web server) looks at five times a second.

A wake-up only makes the worker look now instead of later: the email is a row, and the worker's poll
finds it anyway, so a notification that is missed (a worker restarting, a dropped connection) costs
a few seconds, never an email.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, SessionTransaction

from .extensions import db

log = logging.getLogger("resolver.mail")

CHANNEL = "resolver_outbox"
_QUEUED = "resolver_email_queued"  # the session-info key of a transaction that queued email

_waiting: set[threading.Event] = set()
_waiting_lock = threading.Lock()


def mark_email_queued(session: Session) -> None:
    """Wake the sender when this session's transaction commits."""
    session.info[_QUEUED] = True


def wake_workers() -> None:
    """Wake every worker of this process that waits between rounds."""
    with _waiting_lock:
        for woken in _waiting:
            woken.set()


@event.listens_for(db.session, "before_commit")
def _notify_other_processes(session: Session) -> None:
    if session.info.get(_QUEUED) and not session.in_nested_transaction() and _is_postgres(session):
        session.execute(text(f"NOTIFY {CHANNEL}"))  # delivered by PostgreSQL when, and only if, this commits


@event.listens_for(db.session, "after_commit")
def _wake_this_process(session: Session) -> None:
    if session.info.get(_QUEUED) and not session.in_nested_transaction():
        wake_workers()
        if (doorbell := doorbell_of(session.get_bind().url)) is not None:
            _ring(doorbell)


@event.listens_for(db.session, "after_transaction_end")
def _forget_when_done(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_QUEUED, None)


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def doorbell_of(url: str | URL) -> Path | None:
    """The file beside a SQLite database whose time a commit that queued email sets (None for any other
    database, or one held in memory)."""
    url = make_url(url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(f"{url.database}-outbox")


def _ring(doorbell: Path) -> None:
    now = time.time_ns()  # to the nanosecond: two commits in the same clock tick still ring twice
    try:
        doorbell.touch()
        os.utime(doorbell, ns=(now, now))
    except OSError as error:
        log.warning("cannot ring the outbox's doorbell %s (%s); the worker's poll sends the email", doorbell, error)


@contextmanager
def listening(woken: threading.Event, database_url: str | None = None) -> Iterator[None]:
    """While inside, ``woken`` is set whenever email is queued: by a commit in this process, and, when
    ``database_url`` names a database other processes can reach, by a commit in any of them."""
    with _waiting_lock:
        _waiting.add(woken)
    listener = None
    if (database_url or "").startswith("postgresql"):
        listener = _Listener(database_url, woken)
    elif database_url and (doorbell := doorbell_of(database_url)) is not None:
        listener = _DoorbellWatch(doorbell, woken)
    try:
        if listener is not None:
            listener.start()
        yield
    finally:
        with _waiting_lock:
            _waiting.discard(woken)
        if listener is not None:
            listener.stop()


class _Listener:
    """A thread holding its own connection that LISTENs on ``CHANNEL`` and sets ``woken`` for each
    notification. If the connection fails it connects again a little later; meanwhile the poll sends."""

    RETRY_SECONDS = 5.0
    CHECK_SECONDS = 1.0  # how often the thread looks up from its socket to see if it should stop

    def __init__(self, database_url: str, woken: threading.Event):
        from sqlalchemy.engine import make_url

        self.conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.woken = woken
        self.stopping = threading.Event()
        self.connection = None
        self.thread = threading.Thread(target=self._run, name="resolver-outbox-listener", daemon=True)

    def start(self) -> None:
        """Listen before returning, so that a commit from now on wakes the worker (or say why not)."""
        self._connect()
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=self.CHECK_SECONDS * 5)

    def _connect(self) -> bool:
        import psycopg

        try:
            self.connection = psycopg.connect(self.conninfo, autocommit=True)
            self.connection.execute(f"LISTEN {CHANNEL}")
            return True
        except psycopg.Error as error:
            self._close()
            log.warning("cannot listen for queued email (%s); the outbox is polled meanwhile", error)
            return False

    def _close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def _run(self) -> None:
        import psycopg

        while not self.stopping.is_set():
            if self.connection is None:
                if self.stopping.wait(self.RETRY_SECONDS):
                    break
                if self._connect():
                    self.woken.set()  # anything queued while nobody listened is looked for now
                continue
            try:
                for _notification in self.connection.notifies(timeout=self.CHECK_SECONDS):
                    self.woken.set()
            except psycopg.Error as error:
                log.warning("stopped listening for queued email (%s); trying again in %.0f s",
                            error, self.RETRY_SECONDS)
                self._close()
        self._close()


class _DoorbellWatch:
    """A thread that looks at a SQLite database's doorbell five times a second and sets ``woken`` when
    its time has changed: a commit in another process queued email."""

    LOOK_SECONDS = 0.2

    def __init__(self, doorbell: Path, woken: threading.Event):
        self.doorbell = doorbell
        self.woken = woken
        self.seen: int | None = None  # the doorbell's time when last looked at (None: never rung)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="resolver-outbox-doorbell", daemon=True)

    def start(self) -> None:
        """Note the doorbell's time before returning, so that a ring from now on wakes the worker."""
        self.seen = self._rung_at()
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=self.LOOK_SECONDS * 10)

    def _rung_at(self) -> int | None:
        try:
            return self.doorbell.stat().st_mtime_ns
        except OSError:
            return None

    def _run(self) -> None:
        while not self.stopping.wait(self.LOOK_SECONDS):
            rung = self._rung_at()
            if rung != self.seen:
                self.seen = rung
                self.woken.set()
