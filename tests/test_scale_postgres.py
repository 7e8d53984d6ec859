"""Faults a company running Resolver on PostgreSQL with several processes must survive.

These run only when the suite runs on PostgreSQL (RESOLVER_TEST_DATABASE=postgresql): several
real `resolver worker` processes against one real server, mail to the real test SMTP server.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from resolver.extensions import db
from resolver.models import AuditEvent, Company, Dispute, OutboxEmail, Property, Resident, StaffUser, Timer, Unit

from .conftest import is_postgres

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not is_postgres(), reason="runs with RESOLVER_TEST_DATABASE=postgresql"),
]

LONG_AGO = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)


def worker_environment(app, tmp_path: Path, smtp_port: int) -> dict:
    return {
        **os.environ,
        "RESOLVER_DATABASE_URL": app.config["DATABASE_URL"],
        "RESOLVER_SECRET_KEY": app.config["SECRET_KEY"],
        "RESOLVER_INSTANCE_PATH": str(tmp_path / "worker-instance"),
        "RESOLVER_MAIL_SERVER": "127.0.0.1",
        "RESOLVER_MAIL_PORT": str(smtp_port),
        "RESOLVER_PUBLIC_BASE_URL": "http://resolver.test",
        "RESOLVER_WORKER_POLL_SECONDS": "0.2",
    }


def start_workers(count: int, env: dict) -> list[subprocess.Popen]:
    """Start ``count`` workers, each logging to its own file (a pipe nobody reads would fill up and
    stall the worker in the middle of its batch)."""
    folder = Path(env["RESOLVER_INSTANCE_PATH"]).parent
    workers = []
    for _ in range(count):
        log_path = folder / f"worker-{len(list(folder.glob('worker-*.log')))}.log"
        with open(log_path, "w") as log:
            worker = subprocess.Popen([sys.executable, "-m", "resolver", "worker"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=log)
        worker.log_path = log_path
        workers.append(worker)
    return workers


def worker_logs(workers: list[subprocess.Popen]) -> str:
    return "\n".join(f"--- {w.log_path.name}\n" + w.log_path.read_text()[-1500:] for w in workers)


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def seed_due_work(disputes: int, emails: int) -> dict:
    """Disputes whose evidence window ended long ago, each with its due timer, plus queued mail."""
    company = Company(name="Scale Co", slug="scale", supervisor_email="boss@scale.test")
    db.session.add(company)
    db.session.flush()
    manager = StaffUser(company_id=company.id, email="m@scale.test", name="Mo Manager", role="manager")
    prop = Property(company_id=company.id, name="Tower")
    db.session.add_all([manager, prop])
    db.session.flush()
    unit = Unit(property_id=prop.id, label="1A")
    db.session.add(unit)
    db.session.flush()
    resident = Resident(company_id=company.id, unit_id=unit.id, name="Rae Resident", email="rae@mail.test")
    db.session.add(resident)
    db.session.flush()
    due = LONG_AGO + timedelta(days=5)
    db.session.execute(
        insert(Dispute),
        [
            dict(company_id=company.id, manager_id=manager.id, resident_id=resident.id, unit_id=unit.id,
                 state="awaiting_evidence", version=1, issue=f"Issue {n}", opened_dt=LONG_AGO,
                 evidence_due_dt=due, created_dt=LONG_AGO, category="", what_was_fixed="",
                 company_position="", decision_note="", close_reason="")
            for n in range(disputes)
        ],
    )
    ids = db.session.scalars(select(Dispute.id).where(Dispute.company_id == company.id)).all()
    db.session.execute(
        insert(Timer),
        [dict(dispute_id=i, window="evidence", kind="evidence:due", due_dt=due, status="pending",
              outcome="", created_dt=LONG_AGO) for i in ids],
    )
    db.session.execute(
        insert(OutboxEmail),
        [dict(company_id=company.id, template="note", message_id=f"<scale-{n}@resolver.test>",
              to_addr=f"person{n}@mail.test", to_name="", subject=f"Note {n}", body_text=f"Note number {n}.\n",
              body_html="", attachments=[], status="pending", created_dt=LONG_AGO, next_attempt_dt=LONG_AGO,
              attempts=0, last_error="") for n in range(emails)],
    )
    db.session.commit()
    return {"disputes": len(ids), "emails": emails}


def wait_until_done(expected_emails: int, smtp, workers, stalled_after: float = 120) -> None:
    """Wait while the workers make progress; fail once nothing has moved for ``stalled_after`` seconds
    (a busy machine sends slower, a stuck worker sends nothing)."""
    last_seen, last_moved = None, time.monotonic()
    while time.monotonic() - last_moved < stalled_after:
        db.session.rollback()
        pending_timers = db.session.scalar(select(func.count()).where(Timer.status == "pending"))
        unsent = db.session.scalar(select(func.count()).where(OutboxEmail.status == "pending"))
        if not pending_timers and not unsent and len(smtp.messages) >= expected_emails:
            return
        if (pending_timers, unsent, len(smtp.messages)) != last_seen:
            last_seen, last_moved = (pending_timers, unsent, len(smtp.messages)), time.monotonic()
        time.sleep(0.25)
    raise AssertionError(f"work not finished: {pending_timers} timers, {unsent} emails pending\n"
                         + worker_logs(workers))


def message_ids(smtp) -> Counter:
    return Counter(m["message"]["Message-ID"] for m in smtp.messages)


def test_four_workers_fire_every_deadline_once_and_send_every_email_once(app, smtp, tmp_path, smtp_server):
    seeded = seed_due_work(disputes=2000, emails=2000)
    workers = start_workers(4, worker_environment(app, tmp_path, smtp_server.port))
    try:
        # Every lapse queues two emails (the manager, and the resident told how to ask to reopen), on top
        # of the 2,000 already queued.
        wait_until_done(seeded["emails"] + 2 * seeded["disputes"], smtp, workers)
    finally:
        stop_workers(workers)
    assert all(w.returncode == 0 for w in workers), worker_logs(workers)
    lapses = db.session.execute(
        select(AuditEvent.dispute_id, func.count()).where(AuditEvent.action == "lapse").group_by(AuditEvent.dispute_id)
    ).all()
    assert len(lapses) == seeded["disputes"] and {count for _, count in lapses} == {1}
    assert db.session.scalar(select(func.count()).where(Dispute.state == "lapsed")) == seeded["disputes"]
    counts = message_ids(smtp)
    assert len(counts) == seeded["emails"] + 2 * seeded["disputes"]
    assert max(counts.values()) == 1, "an email was accepted twice"


def test_a_killed_worker_loses_nothing(app, smtp, tmp_path, smtp_server):
    seeded = seed_due_work(disputes=600, emails=600)
    env = worker_environment(app, tmp_path, smtp_server.port)
    env["RESOLVER_OUTBOX_LEASE_SECONDS"] = "2"
    [victim] = start_workers(1, env)
    deadline = time.monotonic() + 60
    while len(smtp.messages) < 50 and time.monotonic() < deadline:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert len(smtp.messages) < seeded["emails"] + 2 * seeded["disputes"], "the worker finished before it was killed"
    workers = start_workers(2, env)
    try:
        wait_until_done(seeded["emails"] + 2 * seeded["disputes"], smtp, workers)
    finally:
        stop_workers(workers)
    counts = message_ids(smtp)
    assert len(counts) == seeded["emails"] + 2 * seeded["disputes"], "an email was lost"
    # The only message that may arrive twice is one the server accepted in the instant before the
    # kill, before its row was marked sent; its Message-ID is the same, so mail clients merge it.
    assert sum(c - 1 for c in counts.values()) <= 1
    assert db.session.scalar(select(func.count()).where(Dispute.state == "lapsed")) == seeded["disputes"]


def test_worker_carries_on_after_the_database_restarts(app, smtp, tmp_path, smtp_server, postgres_server):
    if postgres_server is None:
        pytest.skip("needs the test run's own PostgreSQL server to restart it")
    seed_due_work(disputes=20, emails=20)
    workers = start_workers(1, worker_environment(app, tmp_path, smtp_server.port))
    try:
        wait_until_done(40, smtp, workers)
        db.session.remove()
        db.engine.dispose()
        postgres_server.restart()
        db.session.add(OutboxEmail(template="note", message_id="<after-restart@resolver.test>",
                                   to_addr="late@mail.test", subject="After the restart", body_text="Still here.\n",
                                   next_attempt_dt=LONG_AGO))
        db.session.commit()
        wait_until_done(41, smtp, workers, stalled_after=60)
    finally:
        stop_workers(workers)
    assert "<after-restart@resolver.test>" in message_ids(smtp)
    assert all(w.returncode == 0 for w in workers), worker_logs(workers)


RACE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from resolver import create_app
    from resolver.actors import Actor
    from resolver.errors import DomainError
    from resolver.extensions import db
    from resolver.models import Dispute, StaffUser
    from resolver.services import disputes
    from sqlalchemy.orm.exc import StaleDataError

    app = create_app()
    with app.app_context():
        dispute = db.session.get(Dispute, int(sys.argv[1]))
        manager = db.session.get(StaffUser, dispute.manager_id)
        dispute.company, dispute.resident  # load what the verb reads before the race starts
        Path(sys.argv[2]).touch()
        while not Path(sys.argv[3]).exists():
            time.sleep(0.01)
        try:
            disputes.withdraw_dispute(Actor.staff(manager), dispute, reason="process " + sys.argv[4])
            db.session.commit()
            print("won")
        except (DomainError, StaleDataError) as error:
            db.session.rollback()
            print("lost: this dispute changed" if isinstance(error, StaleDataError) else "lost: " + str(error))
    """
)


def test_two_app_processes_move_one_dispute_and_exactly_one_wins(app, make_dispute, tmp_path, smtp_server):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    env = worker_environment(app, tmp_path, smtp_server.port)
    go = tmp_path / "go"
    processes = [
        subprocess.Popen([sys.executable, "-c", RACE, str(dispute.id), str(tmp_path / f"ready{n}"), str(go), str(n)],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n in range(2)
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready{n}").exists() for n in range(2)) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    results = sorted(p.communicate(timeout=60)[0].strip() for p in processes)
    assert results[0].startswith("lost: this dispute changed"), results
    assert results[1] == "won", results
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).state == "withdrawn"
    withdrawals = db.session.scalar(
        select(func.count()).where(AuditEvent.dispute_id == dispute.id, AuditEvent.action == "withdraw")
    )
    assert withdrawals == 1
