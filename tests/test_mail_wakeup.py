"""Email leaves as soon as the change that queued it commits: the worker is woken, in `serve`'s own
process and in any other (by NOTIFY on PostgreSQL, by the doorbell file beside a SQLite database);
the poll still finds what no wake-up announced.

Every worker here polls only once a minute, and the clock stands still: an email that arrives within
seconds was sent because its commit woke the worker, not because the poll came round.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text

from resolver import clock
from resolver.extensions import db
from resolver.models import OutboxEmail
from resolver.worker import Worker

from .conftest import START, is_postgres
from .test_resident_support import ResidentForm

ROOT = Path(__file__).resolve().parents[1]
A_MINUTE = 60.0  # the poll interval of every worker here: far longer than any test waits
RECEIPT = "We have your side"


def arrived(smtp, address: str, timeout: float = 10.0):
    """The messages to ``address`` once one has arrived (waiting on the real SMTP server, not the poll)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if messages := smtp.to(address):
            return messages
        time.sleep(0.02)
    return []


@pytest.fixture
def worker_in_this_process(app):
    """A worker in a thread of the app's process, as `resolver serve` runs it, polling once a minute."""
    worker = Worker(app, poll_seconds=A_MINUTE)
    thread = worker.start_in_thread()
    yield worker
    worker.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()


def wait_out_the_invitation(smtp, address: str) -> None:
    """Let the worker send what was queued before it started (the resident's invitation) and settle."""
    assert arrived(smtp, address), "the invitation queued before the worker started went out"
    deadline = time.monotonic() + 10
    while db.session.scalar(select(OutboxEmail.id).where(OutboxEmail.status == "pending")) is not None:
        assert time.monotonic() < deadline, "the outbox emptied"
        db.session.expire_all()
        time.sleep(0.02)
    smtp.clear()


def test_a_receipt_queued_by_a_web_request_reaches_the_inbox_without_waiting_for_the_poll(
    client, smtp, waiting, worker_in_this_process
):
    resident = waiting.resident.email
    wait_out_the_invitation(smtp, resident)

    sent = ResidentForm(client, waiting).send(details="The carpet was spotless when I left.")
    assert sent.status_code == 303

    receipts = arrived(smtp, resident)
    assert receipts, "the receipt arrived within seconds, while the worker's poll was a minute away"
    assert receipts[0]["Subject"].startswith(RECEIPT)
    assert clock.now_utc() == START, "no time was made to pass"


def test_an_email_no_commit_announced_is_still_sent_by_the_poll(app, smtp):
    """A wake-up can be missed (a worker restarting, a dropped connection): the row is still there."""
    worker = Worker(app, poll_seconds=0.2)
    thread = worker.start_in_thread()
    try:
        deadline = time.monotonic() + 10
        while worker.rounds < 1:  # the first round is done: what comes now is found by the poll
            assert time.monotonic() < deadline
            time.sleep(0.01)
        db.session.execute(insert(OutboxEmail).values(
            template="password_reset", message_id=f"<{uuid.uuid4().hex}@resolver.test>", to_addr="quiet@aspen.test",
            to_name="", subject="Sent without a wake-up", body_text="Hello.\n", body_html="", attachments=[],
            status="pending", next_attempt_dt=clock.now_utc(), attempts=0, last_error="", has_links=False,
        ))  # written straight to the table: nothing marks the session, so no commit wakes the worker
        db.session.commit()
        assert arrived(smtp, "quiet@aspen.test"), "the poll found the email"
    finally:
        worker.stop()
        thread.join(timeout=10)


# A worker in another process, woken by NOTIFY (PostgreSQL) or the database's doorbell (SQLite) ------

@pytest.fixture
def worker_in_another_process(app, smtp_server, tmp_path):
    """``resolver worker`` in its own process on the test database, polling once a minute; returned
    once it listens for queued email."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RESOLVER_")}
    environment.update(
        PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1",
        RESOLVER_INSTANCE_PATH=str(tmp_path / "worker-instance"),
        RESOLVER_DATABASE_URL=app.config["DATABASE_URL"], RESOLVER_SECRET_KEY="test-secret",
        RESOLVER_MAIL_SERVER="127.0.0.1", RESOLVER_MAIL_PORT=str(smtp_server.port),
        RESOLVER_PUBLIC_BASE_URL="http://resolver.test", RESOLVER_WORKER_POLL_SECONDS=str(A_MINUTE),
    )
    process = subprocess.Popen([sys.executable, "-m", "resolver", "worker"], cwd=tmp_path, env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert "Worker started" in process.stdout.readline()
        if is_postgres():
            wait_until_listening()  # on SQLite, the invitation's arrival says the worker watches its doorbell
        yield process
    finally:
        process.kill()
        process.wait()
        process.stdout.close()


def wait_until_listening(timeout: float = 30.0) -> None:
    listeners = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                     "AND query = 'LISTEN resolver_outbox'")
    deadline = time.monotonic() + timeout
    while not db.session.scalar(listeners):
        db.session.rollback()
        assert time.monotonic() < deadline, "the worker listens for queued email"
        time.sleep(0.05)
    db.session.rollback()


@pytest.fixture
def waiting_in_real_time(make_dispute):
    """A dispute waiting for the resident's side, opened now by the real clock, which the worker in
    the other process reads: none of its deadlines falls due during the test."""
    clock.freeze(datetime.now(timezone.utc))
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    return dispute


def test_a_worker_in_another_process_sends_at_once_what_this_process_committed(
    client, smtp, waiting_in_real_time, worker_in_another_process
):
    waiting = waiting_in_real_time
    resident = waiting.resident.email
    assert arrived(smtp, resident, timeout=30), "the invitation queued before the worker started went out"
    smtp.clear()

    sent = ResidentForm(client, waiting).send(details="The carpet was spotless when I left.")
    assert sent.status_code == 303

    receipts = arrived(smtp, resident)
    assert receipts, "the receipt arrived within seconds, while the worker's poll was a minute away"
    assert receipts[0]["Subject"].startswith(RECEIPT)
