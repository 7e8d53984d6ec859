"""Rehearsing the deadlines on the demo: `resolver tick --as-of` moves the instance's clock forward for
every process, fires what falls due on the way, says what happened; refused anywhere but on a demo."""
from __future__ import annotations

import re
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from resolver import clock, create_app
from resolver.extensions import db
from resolver.installation import refresh_clock, stored_clock_offset
from resolver.models import AuditEvent, OutboxEmail, Timer
from resolver.rehearsal import CannotRehearse, parse_moment

from .conftest import START


@pytest.fixture
def blank_app(tmp_path, fresh_database, frozen_clock):
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "test-secret",
                      "DATABASE_URL": fresh_database(f"rehearse_{uuid.uuid4().hex[:8]}")})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def run(blank_app):
    runner = blank_app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


def signed_in(app, output: str):
    password = re.search(r"password: (\S+)", output).group(1)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"email": "demo@aspen.test", "password": password,
                                       "csrf_token": token}).status_code == 302
    return client


def test_the_phrases_a_newcomer_types_are_understood():
    assert parse_moment("in 6 days", START) == START + timedelta(days=6)
    assert parse_moment("+6d", START) == START + timedelta(days=6)
    assert parse_moment("+12h", START) == START + timedelta(hours=12)
    assert parse_moment("2 weeks", START) == START + timedelta(weeks=2)
    assert parse_moment("2026-03-15", START) == START + timedelta(days=6)  # that day, at the time it is now
    assert parse_moment("2026-03-15T16:00", START) == START + timedelta(days=6)
    with pytest.raises(CannotRehearse, match="is not a time to move to"):
        parse_moment("next tuesday-ish", START)


def test_on_the_demo_six_days_ahead_fire_the_reminder_the_lapse_and_the_escalations_for_every_process(
    blank_app, run
):
    assert run("init").exit_code == 0
    demo = run("demo")
    assert demo.exit_code == 0, demo.output
    assert 'resolver tick --as-of "in 2 days"' in demo.output
    client = signed_in(blank_app, demo.output)
    assert 'data-testid="demo-clock"' not in client.get("/").get_data(as_text=True)

    result = run("tick", "--as-of", "in 6 days")
    assert result.exit_code == 0, result.output
    moved, happened = result.output.splitlines()
    assert moved == ("Moved this demo's clock forward 6 days: it is now 10:00 AM on Sunday 15 March 2026 "
                     "(America/Denver).")
    for what in (r"reminders?", r"lapses?", r"escalations? to the supervisor", r"last follow-ups?"):
        assert re.search(rf"\b\d+ {what}\b", happened), happened
    assert happened.endswith("emails queued, for `resolver serve` to deliver to its Mailbox (no mail server is set here).")
    assert clock.now_utc() == START + timedelta(days=6)
    assert stored_clock_offset() == timedelta(days=6)  # kept for the web app and every worker
    # Each timer fired at its own moment, not all at the end: the reminder went before the lapse.
    fired = db.session.execute(select(Timer.kind, Timer.fired_dt).where(Timer.status == "fired")
                               .order_by(Timer.fired_dt)).all()
    assert fired and all(START < at <= START + timedelta(days=6) for _, at in fired)
    assert len({at for _, at in fired}) > 1
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "lapse")) >= 2

    # Another process (the web app of `serve`) starts from the real clock and reads the moved one.
    clock.set_instance_offset(timedelta(0))
    blank_app.extensions.pop("resolver.clock_read", None)
    assert client.get("/").status_code == 302  # six days on, the 8-hour sign-in has ended: sign in again
    page = signed_in(blank_app, demo.output).get("/").get_data(as_text=True)
    assert 'data-testid="demo-clock"' in page
    assert "Demo clock moved forward 6 days" in page and "Sunday 15 March 2026" in page


def test_the_clock_never_moves_backwards_and_a_refusal_changes_nothing(blank_app, run):
    run("init")
    run("demo")
    before = db.session.scalar(select(func.count(OutboxEmail.id)))
    for when in ("2026-03-01", "yesterday"):
        refused = run("tick", "--as-of", when)
        assert refused.exit_code != 0
        assert "Nothing was changed" in refused.output or "is not a time to move to" in refused.output
    assert clock.now_utc() == START and stored_clock_offset() == timedelta(0)
    assert db.session.scalar(select(func.count(OutboxEmail.id))) == before


def test_moving_the_clock_is_refused_on_an_instance_with_a_real_company(blank_app, run):
    run("init")
    run("demo")
    made = run("create-company", "--slug", "birch", "--name", "Birch Homes", "--time-zone", "America/Denver",
               "--supervisor-email", "sam@birch.test", "--supervisor-name", "Sam Birch")
    assert made.exit_code == 0, made.output
    timers_before = db.session.scalar(select(func.count(Timer.id)).where(Timer.status == "pending"))

    refused = run("tick", "--as-of", "in 6 days")
    assert refused.exit_code != 0
    assert "only for a demo" in refused.output and "Nothing was changed" in refused.output
    assert clock.now_utc() == START and stored_clock_offset() == timedelta(0)
    assert db.session.scalar(select(func.count(Timer.id)).where(Timer.status == "pending")) == timers_before
    refresh_clock(blank_app)
    assert clock.now_utc() == START


def test_help_offers_the_rehearsal(run):
    result = run("tick", "--help")
    assert "--as-of" in result.output and "in 6 days" in result.output and "demo" in result.output
    top = subprocess.run([sys.executable, "-m", "resolver", "--help"], capture_output=True, text=True, timeout=60)
    assert 'resolver tick --as-of "in 2 days"' in " ".join(top.stdout.split()), top.stdout
