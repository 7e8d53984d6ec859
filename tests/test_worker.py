"""The worker as it runs in production: a separate process that fires deadlines and sends mail, and
stops cleanly on SIGTERM without losing or repeating anything it had in hand."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from resolver import clock
from resolver.extensions import db
from resolver.models import Dispute, OutboxEmail, Timer
from resolver.worker import Worker, run_round

ROOT = Path(__file__).resolve().parents[1]


def wait_for(condition, timeout: float = 30.0, what: str = "the worker"):
    """Poll another process's progress (it runs on the real clock, so there is no clock to move)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def disputes_past_their_deadline(app, make_dispute):
    """``make(n)``: n disputes opened ten real days ago, so their evidence windows have ended."""

    def make(count: int) -> list[int]:
        clock.freeze(datetime.now(timezone.utc) - timedelta(days=10))
        ids = [make_dispute("awaiting_evidence").id for _ in range(count)]
        db.session.commit()
        return ids

    return make


@pytest.fixture
def start_worker(app, smtp_server, tmp_path):
    processes = []

    def start() -> subprocess.Popen:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("RESOLVER_")}
        environment.update(
            PYTHONPATH=str(ROOT),
            PYTHONUNBUFFERED="1",
            RESOLVER_INSTANCE_PATH=str(tmp_path / "worker-instance"),
            RESOLVER_DATABASE_URL=app.config["DATABASE_URL"],
            RESOLVER_SECRET_KEY="test-secret",
            RESOLVER_MAIL_SERVER="127.0.0.1",
            RESOLVER_MAIL_PORT=str(smtp_server.port),
            RESOLVER_PUBLIC_BASE_URL="http://resolver.test",
            RESOLVER_WORKER_POLL_SECONDS="0.2",
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "resolver", "worker"],
            cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        processes.append(process)
        first_line = process.stdout.readline()
        assert "Worker started" in first_line, first_line + process.stderr.read()
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def stop(process: subprocess.Popen) -> tuple[int, str, str]:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


def fresh(model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


def test_the_worker_lapses_an_overdue_dispute_and_sends_the_mail(
    app, smtp, disputes_past_their_deadline, start_worker
):
    (dispute_id,) = disputes_past_their_deadline(1)
    dispute = fresh(Dispute, dispute_id)
    resident_email, manager_email = dispute.resident.email, dispute.manager.email
    worker = start_worker()

    wait_for(lambda: fresh(Dispute, dispute_id).state == "lapsed", what="the evidence window to lapse")
    wait_for(lambda: smtp.to(manager_email), what="the manager's lapse notice")
    assert smtp.to(resident_email), "the invitation queued before the worker started went out too"
    wait_for(lambda: db.session.scalar(select(OutboxEmail.id).where(OutboxEmail.status == "pending")) is None,
             what="the outbox to empty")

    code, out, err = stop(worker)
    assert code == 0, err
    assert "Worker stopped" in out
    delivered = len(smtp.messages)
    assert delivered == len(db.session.scalars(select(OutboxEmail).where(OutboxEmail.status == "sent")).all())


def test_sigterm_mid_batch_loses_nothing_and_repeats_nothing(app, smtp, disputes_past_their_deadline, start_worker):
    ids = disputes_past_their_deadline(25)
    worker = start_worker()
    wait_for(lambda: smtp.messages, what="the first email")
    code, out, err = stop(worker)  # while the round is in hand
    assert code == 0, err
    assert "Worker stopped" in out

    db.session.expire_all()
    for timer in db.session.scalars(select(Timer).where(Timer.dispute_id.in_(ids))):
        assert timer.status in ("pending", "fired", "cancelled")
        if timer.kind == "evidence:due":
            state = db.session.get(Dispute, timer.dispute_id).state
            # Fired means done, and pending means still to do: never claimed and dropped.
            assert (timer.status, state) in {("fired", "lapsed"), ("pending", "awaiting_evidence")}
    sent = db.session.scalars(select(OutboxEmail).where(OutboxEmail.status == "sent")).all()
    assert len(smtp.messages) == len(sent), "every email marked sent arrived, and none arrived unmarked"

    # What was left is picked up by the next run, exactly once.
    while not run_round(app).is_idle:
        pass
    db.session.expire_all()
    states = set(db.session.scalars(select(Dispute.state).where(Dispute.id.in_(ids))))
    assert states == {"lapsed"}
    rows = db.session.scalars(select(OutboxEmail)).all()
    assert {row.status for row in rows} == {"sent"}
    assert len(smtp.messages) == len(rows)
    message_ids = [m["message"]["Message-ID"] for m in smtp.messages]
    assert len(set(message_ids)) == len(message_ids), "no email was sent twice"


def test_a_worker_in_a_thread_stops_when_asked(app):
    worker = Worker(app, poll_seconds=30)
    thread = worker.start_in_thread()
    wait_for(lambda: worker.rounds >= 1, what="the first round")
    worker.stop()  # wakes the idle wait at once rather than after 30 seconds
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_a_failed_round_does_not_end_the_loop(app, monkeypatch, caplog):
    """A database hiccup is logged and the next round runs; the rows it left are still there."""
    import resolver.worker as worker_module

    calls = []

    def flaky_round(_app):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database is locked")
        worker.stop()
        return worker_module.Round()

    monkeypatch.setattr(worker_module, "run_round", flaky_round)
    worker = Worker(app, poll_seconds=0)
    worker.run()
    assert len(calls) == 2
    assert "worker round failed" in caplog.text
