"""One machine, one command, links that work: `resolver serve --port N` on waitress, with
RESOLVER_PUBLIC_BASE_URL unset, on a fresh demo whose emails were queued before serve started; then the
deadlines rehearsed with `resolver tick --as-of` while serve runs. Every link of every email is followed."""
from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from .conftest import Inbox, free_port

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"https?://[^\s<>\"')]+")
# The emails a resident or a team member follows a link from (the list).
PEOPLE_LINKS = {"evidence_invitation": "/r/e/", "panel_invitation": "/p/v/", "outcome_letter": "/r/o/",
                "evidence_reminder": "/r/e/", "follow_up_resident": "/r/o/"}

pytestmark = pytest.mark.slow


def environment(tmp_path: Path, smtp_server) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESOLVER_")}  # no public address set
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", RESOLVER_INSTANCE_PATH=str(tmp_path / "instance"),
               RESOLVER_DATABASE_URL=f"sqlite:///{tmp_path / 'resolver.db'}",
               RESOLVER_MAIL_SERVER="127.0.0.1", RESOLVER_MAIL_PORT=str(smtp_server.port),
               RESOLVER_WORKER_POLL_SECONDS="0.2")
    return env


def resolver(env, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "resolver", *args], env=env, capture_output=True, text=True,
                          timeout=300, cwd=env["RESOLVER_INSTANCE_PATH"].rsplit("/", 1)[0])
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


class Browser:
    """urllib with cookies and no proxy, as a person's browser on this machine."""

    def __init__(self):
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                  urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, url: str, data: dict | None = None) -> tuple[int, str, dict]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(url, data=body, timeout=30) as response:
                return response.status, response.read().decode("utf-8", "replace"), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace"), dict(error.headers)

    def sign_in(self, base: str, email: str, password: str) -> None:
        _, page, _ = self.get(f"{base}/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        status, page, _ = self.get(f"{base}/login", {"email": email, "password": password, "csrf_token": token})
        assert status == 200 and "Sign out" in page, page[:500]


def read(database: Path, sql: str, **params) -> list:
    """The rows a query of serve's SQLite database gives, read beside the running server."""
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        rows = connection.execute(text(sql), params).all()
    engine.dispose()
    return rows


def templates_by_message_id(database: Path) -> dict[str, str]:
    return dict(read(database, "SELECT message_id, template FROM outbox_email"))


def pending(database: Path) -> int:
    return read(database, "SELECT count(*) FROM outbox_email WHERE status = 'pending'")[0][0]


def first_due(database: Path, kind: str) -> str:
    """When the first pending timer of this kind falls due, as `resolver tick --as-of` takes it."""
    due = read(database, "SELECT min(due_dt) FROM timer WHERE kind = :kind AND status = 'pending'", kind=kind)[0][0]
    return str(due).replace(" ", "T")


def wait_for(condition, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def follow_every_link(browser: Browser, messages, base: str, templates: dict[str, str]) -> dict[str, set[int]]:
    """Follow each link of each message; return the statuses seen for each template. Only Resolver's own
    answers count: 200, or 410 for a link a later step of the demo already withdrew (its page says why)."""
    seen: dict[str, set[int]] = {}
    for message in messages:
        template = templates[message["Message-ID"]]
        for url in set(LINK.findall(Inbox.text_of(message))):
            assert url.startswith(f"{base}/"), f"{template} links to {url}, not to where serve runs ({base})"
            status, page, _ = browser.get(url)
            assert status in (200, 410), f"{template}: {url} answered {status}"
            if status == 410:  # Resolver's own page, saying why the step is over
                assert '<main id="main"' in page and "<h1>" in page, page[:300]
            seen.setdefault(template, set()).add(status)
    return seen


def test_serve_on_any_port_makes_every_emails_links_answer_there_and_the_demo_can_be_rehearsed(
    tmp_path, smtp_server, smtp
):
    (tmp_path / "instance").mkdir()
    env = environment(tmp_path, smtp_server)
    database = tmp_path / "resolver.db"
    resolver(env, "init")
    demo = resolver(env, "demo")
    password = re.search(r"password: (\S+)", demo).group(1)

    # Before serve ever ran, nobody has said where Resolver is: emails with links wait, the rest go.
    tick = resolver(env, "tick")
    assert "emails with links wait: no public address is known" in tick or "of them have links" in tick, tick
    assert all(not LINK.search(Inbox.text_of(m["message"])) for m in smtp.messages)
    waiting = pending(database)
    assert waiting > 50

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = subprocess.Popen([sys.executable, "-m", "resolver", "serve", "--port", str(port)], env=env, cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while not any("Press Ctrl-C" in line for line in lines):
            line = serve.stdout.readline()
            assert line, "".join(lines) + serve.stderr.read()
            lines.append(line)
        assert f"Resolver is running at {base}/" in "".join(lines)
        browser = Browser()
        status, _, headers = browser.get(f"{base}/healthz")
        assert status == 200
        assert "werkzeug" not in headers.get("Server", "").lower() and headers.get("Server") == "waitress"

        # The demo's emails, queued before serve started, go out with links to serve's port.
        wait_for(lambda: pending(database) == 0, "serve's worker to send the demo's emails")
        templates = templates_by_message_id(database)
        delivered = [m["message"] for m in smtp.messages]
        seen = follow_every_link(browser, delivered, base, templates)
        for template in ("evidence_invitation", "panel_invitation", "outcome_letter"):
            assert 200 in seen.get(template, ()), f"no {template} link answered 200: {seen}"

        # Rehearse: to the resident's reminder (due at the end of the company's day three days on, which
        # "in 3 days" misses late in that day); four days more, the lapse, the escalations, the follow-up.
        reminder = first_due(database, "evidence:remind:0")
        for step, expected in ((reminder, ("reminder",)), ("+4d", ("lapse", "escalation", "last follow-up"))):
            smtp.clear()
            said = resolver(env, "tick", "--as-of", step)
            moved, happened = said.splitlines()[:2]
            assert moved.startswith("Moved this demo's clock forward"), said
            for what in expected:
                assert what in happened, said
            wait_for(lambda: pending(database) == 0, "the rehearsal's emails to go out")
            templates = templates_by_message_id(database)
            fresh = [m["message"] for m in smtp.messages]
            assert fresh, said
            seen = follow_every_link(browser, fresh, base, templates)
            for template in ("evidence_reminder",) if step == reminder else ("follow_up_resident",):
                assert seen.get(template) == {200}, f"{template}: {seen}"

        # The web app runs on the moved clock: the date the tick printed is the date the pages show.
        day = re.search(r"on (\w+day \d+ \w+ \d{4})", moved).group(1)
        browser = Browser()  # a week on, the earlier sign-in has ended
        browser.sign_in(base, "demo@aspen.test", password)
        _, page, _ = browser.get(f"{base}/")
        assert 'data-testid="demo-clock"' in page and day in page, day

        serve.send_signal(signal.SIGTERM)
        out, err = serve.communicate(timeout=60)
        assert serve.returncode == 0, err
        assert "Stopped." in out
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
        serve.stdout.close()  # closed here, not by the garbage collector during a later test
        serve.stderr.close()


def test_serve_on_a_port_in_use_says_so_and_which_option_to_use(tmp_path, smtp_server):
    env = environment(tmp_path, smtp_server)
    (tmp_path / "instance").mkdir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "resolver", "serve", "--port", str(port)], env=env,
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode != 0
    assert f"Cannot listen on 127.0.0.1:{port}" in done.stderr and "Try --port" in done.stderr
