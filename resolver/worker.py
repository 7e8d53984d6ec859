"""The worker: fire due deadlines, then send the outbox, round after round; once a day count the access
log's old rows by day; file residents' replies from the mailbox, when one is set; and back up when a
backup is due (``resolver.backup.schedule``).

Between rounds it waits ``poll_seconds``, or less: a commit that queues email wakes it at once
(``resolver.wakeup``), so email leaves within a second; the poll finds whatever a wake-up missed,
and the deadlines that fall due.

Deadlines are rows and emails are rows, so the worker keeps nothing in memory: stopping it at
any moment loses nothing, and several workers may run at once (each round claims its rows).
A stop request (SIGTERM, SIGINT, or ``Worker.stop()``) lets the round in hand finish, then exits.
"""
from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass

from flask import Flask
from sqlalchemy.exc import IntegrityError

from .extensions import db
from .wakeup import listening

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Round:
    fired: int = 0  # timers fired
    sent: int = 0  # emails sent
    erased: int = 0  # disputes whose personal data was erased, their company's retention having run out
    received: int = 0  # replies read from the mailbox (RESOLVER_IMAP_HOST) that were new to Resolver

    @property
    def is_idle(self) -> bool:
        return not (self.fired or self.sent or self.erased or self.received)


def run_round(app: Flask) -> Round:
    """One sweep of due deadlines, then one batch of pending email, then one batch of expired personal
    data, then the access log's rollup if the day's is still to do, then the mailbox's new replies, then a
    backup if one is due (the slow work last: a slow mail server or a long backup holds up nothing else);
    each commits its own work."""
    from .access_log import roll_up_access_log
    from .backup.schedule import run_scheduled_backup
    from .deadlines import sweep_deadlines
    from .inbound.imap import poll_mailbox
    from .installation import load_clock
    from .mail import send_pending
    from .services.personal_data import sweep_retention

    with app.app_context():
        try:
            load_clock()  # a demo's clock may have been moved forward by another process
            fired = sweep_deadlines(limit=app.config["DEADLINE_BATCH"])
        finally:
            db.session.remove()
    with app.app_context():
        try:
            sent = send_pending(limit=app.config["OUTBOX_BATCH"])
        finally:
            db.session.remove()
    with app.app_context():
        try:
            erased = sweep_retention()
        finally:
            db.session.remove()
    with app.app_context():
        try:
            if roll_up_access_log() is not None:
                db.session.commit()
        except IntegrityError:  # another worker (or a `tick`) rolled up the same day a moment ago: it is done
            db.session.rollback()
        finally:
            db.session.remove()
    received = poll_mailbox(app)
    run_scheduled_backup(app)
    return Round(fired=fired, sent=sent, erased=erased, received=received)


class Worker:
    def __init__(self, app: Flask, poll_seconds: float | None = None):
        self.app = app
        self.poll_seconds = float(poll_seconds if poll_seconds is not None else app.config["WORKER_POLL_SECONDS"])
        self._stopping = threading.Event()
        self._woken = threading.Event()  # email was queued, or the worker is asked to stop
        self.rounds = 0

    @property
    def is_stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self, *_ignored) -> None:
        """Ask the loop to end after the round in hand (safe to call from a signal handler)."""
        self._stopping.set()
        self._woken.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def run(self) -> None:
        """Loop until stopped: work while there is work; when a round is idle, wait until email is
        queued or ``poll_seconds`` pass."""
        with listening(self._woken, self.app.config["SQLALCHEMY_DATABASE_URI"]):
            while not self._stopping.is_set():
                self._woken.clear()  # what is queued from here on wakes the wait below
                result = self._round()
                if result.is_idle and not self._stopping.is_set():
                    self._woken.wait(self.poll_seconds)
                elif not result.is_idle:
                    log.info("fired %d timers, sent %d emails, erased %d disputes' personal data, received %d "
                             "replies", result.fired, result.sent, result.erased, result.received)

    def _round(self) -> Round:
        try:
            return run_round(self.app)
        except Exception:  # a database hiccup must not end the loop; the rows are still there
            log.exception("worker round failed; trying again in %.0f s", self.poll_seconds)
            return Round()
        finally:
            self.rounds += 1

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="resolver-worker", daemon=True)
        thread.start()
        return thread
