"""Time to inbox: from a resident sending their side to the receipt arriving at the mail server.

What a resident feels after pressing Send: how long until "We have your side" is in their inbox.
Each measure is one form sent, then the wait for its receipt at a real aiosmtpd server on loopback;
one after another, 20 times (3 in the quick run). The workers keep their usual 5-second poll: a
receipt that arrives sooner was sent because the commit woke a worker (``resolver.wakeup``).

- SQLite, ``resolver serve``: the form is posted over HTTP to serve, whose worker thread sends.
- SQLite, one ``resolver worker`` process beside a web server (the Procfile's shape on one machine): the
  form is posted to the app in this process and the worker, woken by the database's doorbell, sends.
- PostgreSQL, two ``resolver worker`` processes: the form is posted to the app in this process
  (through Flask's test client: the real view, its unit of work and commit, which sends NOTIFY),
  and whichever worker in another process wakes first sends the receipt.
"""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from .common import ROOT, free_port, make_app, median, postgres_database, row, seed_company, sqlite_url

NAME = "time_to_inbox"
SECRET = "benchmark-secret"  # make_app's: serve and the workers must read the same links
RECEIPT = "We have your side"
WAIT_AT_MOST = 30.0


# The mail server: when each receipt arrived --------------------------------------------------------

class Arrivals:
    """An aiosmtpd handler that notes when each receipt arrives (perf_counter of this process)."""

    def __init__(self):
        self.times: list[float] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        if f"Subject: {RECEIPT}".encode() in envelope.content:
            with self.arrived:
                self.times.append(time.perf_counter())
                self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, count: int) -> float:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.times) >= count, timeout=WAIT_AT_MOST):
                raise RuntimeError(f"receipt {count} did not arrive within {WAIT_AT_MOST:.0f} s")
            return self.times[count - 1]


@contextmanager
def mail_server():
    from aiosmtpd.controller import Controller

    arrivals = Arrivals()
    controller = Controller(arrivals, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, arrivals
    finally:
        controller.stop()


# Disputes waiting for the resident's side ----------------------------------------------------------

def open_disputes(app, count: int, tag: str) -> list[str]:
    """``count`` disputes waiting for the resident's side; returns their form paths. The invitations
    are marked sent: they are not what is measured."""
    from resolver.actors import Actor
    from resolver.clock import now_utc
    from resolver.extensions import db
    from resolver.links import current_link, token_for
    from resolver.migrations import upgrade_database
    from resolver.models import OutboxEmail, Resident, StaffUser
    from resolver.services import disputes

    with app.app_context():
        upgrade_database()
        ids = seed_company(tag=tag)
        staff = Actor.staff(db.session.get(StaffUser, ids["manager"]))
        resident = db.session.get(Resident, ids["resident"])
        paths = []
        for _ in range(count):
            dispute = disputes.create_dispute(staff, resident=resident, category="security deposit",
                                              issue="The carpet-cleaning charge on the deposit is unfair.")
            disputes.open_dispute(staff, dispute)
            db.session.flush()
            paths.append(f"/r/e/{token_for(current_link(dispute.id, 'evidence', resident_id=resident.id))}")
        db.session.execute(db.update(OutboxEmail).where(OutboxEmail.status == "pending")
                           .values(status="sent", sent_dt=now_utc()))
        db.session.commit()
        db.engine.dispose()
    return paths


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def form_fields(html: str) -> dict:
    return {"csrf_token": hidden(html, "csrf_token"), "form_key": hidden(html, "form_key"),
            "details": "The carpet was clean when I left; I have photos.",
            "suggested_resolution": "Refund the cleaning charge.", "suggested_amount": ""}


# Processes ---------------------------------------------------------------------------------------

def environment(database_url: str, mail_port: int) -> dict:
    values = {k: v for k, v in os.environ.items() if not k.startswith("RESOLVER_")}
    values.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", RESOLVER_DATABASE_URL=database_url,
                  RESOLVER_SECRET_KEY=SECRET, RESOLVER_MAIL_SERVER="127.0.0.1", RESOLVER_MAIL_PORT=str(mail_port),
                  RESOLVER_PUBLIC_BASE_URL="http://resolver.bench", RESOLVER_LOG_LEVEL="WARNING")
    return values


@contextmanager
def running(args: list[str], env: dict, ready: str, folder: Path):
    """A Resolver process, once it has printed a line containing ``ready``; stopped at the end."""
    process = subprocess.Popen(args, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    try:
        for line in process.stdout:
            if ready in line:
                break
        else:
            raise RuntimeError(f"{' '.join(args[2:])} ended before it was ready")
        yield process
    finally:
        process.terminate()
        process.wait(timeout=60)
        process.stdout.close()


def measure(send_form, paths: list[str], arrivals: Arrivals) -> list[float]:
    """Seconds from each form's POST to its receipt at the mail server, one form at a time."""
    seconds = []
    for number, path in enumerate(paths, start=1):
        sent_at = send_form(path)
        seconds.append(arrivals.wait_for(number) - sent_at)
    return seconds


# SQLite, resolver serve ----------------------------------------------------------------------------

def on_sqlite_with_serve(count: int, workdir: Path) -> list[float]:
    import requests

    url = sqlite_url(workdir / "sqlite")
    with mail_server() as (mail_port, arrivals):
        paths = open_disputes(make_app(workdir / "sqlite", url, mail_port=mail_port, create=False), count, "serve")
        port = free_port()
        env = environment(url, mail_port) | {"RESOLVER_INSTANCE_PATH": str(workdir / "serve-instance")}
        with running([sys.executable, "-m", "resolver", "serve", "--port", str(port)], env, "Press Ctrl-C", workdir):
            browser = requests.Session()
            browser.trust_env = False  # loopback, never a proxy

            def send_form(path: str) -> float:
                page = browser.get(f"http://127.0.0.1:{port}{path}", timeout=30)
                started = time.perf_counter()
                answer = browser.post(f"http://127.0.0.1:{port}{path}", data=form_fields(page.text),
                                      files={"files": ("", b"", "application/octet-stream")},
                                      allow_redirects=False, timeout=30)
                if answer.status_code != 303:
                    raise RuntimeError(f"the form was not taken: {answer.status_code}")
                return started

            return measure(send_form, paths, arrivals)


# PostgreSQL, two workers in other processes ----------------------------------------------------------

def listeners(app) -> int:
    from sqlalchemy import text

    from resolver.extensions import db

    with app.app_context():
        count = db.session.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                       "AND query = 'LISTEN resolver_outbox'"))
        db.session.remove()
    return count


def on_postgres_with_two_workers(count: int, workdir: Path) -> list[float]:
    from resolver.extensions import db

    url = postgres_database("time_to_inbox")
    with mail_server() as (mail_port, arrivals):
        app = make_app(workdir / "postgres", url, mail_port=mail_port, create=False)
        paths = open_disputes(app, count, "workers")
        env = environment(url, mail_port)
        with running([sys.executable, "-m", "resolver", "worker"], env | {"RESOLVER_INSTANCE_PATH": str(workdir / "w1")},
                     "Worker started", workdir), \
             running([sys.executable, "-m", "resolver", "worker"], env | {"RESOLVER_INSTANCE_PATH": str(workdir / "w2")},
                     "Worker started", workdir):
            deadline = time.monotonic() + WAIT_AT_MOST
            while listeners(app) < 2:
                if time.monotonic() > deadline:
                    raise RuntimeError("the workers did not start listening")
                time.sleep(0.05)
            seconds = measure(posting_in_this_process(app), paths, arrivals)
        with app.app_context():
            db.engine.dispose()
        return seconds


def posting_in_this_process(app):
    """Send a resident's form through ``app`` in this process: a web server's commit, and no worker of its own."""
    client = app.test_client()

    def send_form(path: str) -> float:
        page = client.get(path).get_data(as_text=True)
        started = time.perf_counter()
        answer = client.post(path, data={**form_fields(page), "files": (io.BytesIO(b""), "")},
                             content_type="multipart/form-data")
        if answer.status_code != 303:
            raise RuntimeError(f"the form was not taken: {answer.status_code}")
        return started

    return send_form


# SQLite, a worker in another process -----------------------------------------------------------------

def on_sqlite_with_a_worker(count: int, workdir: Path) -> list[float]:
    """As the Procfile runs Resolver on one machine: a web server and ``resolver worker`` beside it, on
    one SQLite database; the commit rings the database's doorbell."""
    from resolver.extensions import db

    url = sqlite_url(workdir / "sqlite-worker")
    with mail_server() as (mail_port, arrivals):
        app = make_app(workdir / "sqlite-worker", url, mail_port=mail_port, create=False)
        paths = open_disputes(app, count, "worker")
        env = environment(url, mail_port) | {"RESOLVER_INSTANCE_PATH": str(workdir / "worker-instance")}
        with running([sys.executable, "-m", "resolver", "worker"], env, "Worker started", workdir):
            seconds = measure(posting_in_this_process(app), paths, arrivals)
        with app.app_context():
            db.engine.dispose()
        return seconds


def run(quick: bool, workdir: Path) -> list[dict]:
    count = 3 if quick else 20
    rows = []
    for label, measured in (("SQLite, resolver serve", on_sqlite_with_serve),
                            ("SQLite, a worker in another process", on_sqlite_with_a_worker),
                            ("PostgreSQL, 2 workers in other processes", on_postgres_with_two_workers)):
        seconds = measured(count, workdir)
        middle, worst = median(seconds), max(seconds)
        note = (f"{count} receipts, one at a time; from the form's POST to the message at a local aiosmtpd; "
                f"workers poll every 5 s; load average {os.getloadavg()[0]:.1f}")
        rows += [row(NAME, f"{label}: median", middle, "s", target="<= 1", met=middle <= 1, note=note),
                 row(NAME, f"{label}: max", worst, "s", target="<= 2", met=worst <= 2)]
    return rows
