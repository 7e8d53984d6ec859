"""The command line as an operator uses it: build the database, add people, run a tick, load the demo."""
from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

from resolver import clock, create_app
from resolver.workflow.diagram import mermaid_diagram
from resolver.extensions import db
from resolver.models import Dispute, Letter, OutboxEmail, Resident, StaffUser, Timer
from resolver.workflow.definition import load_definition

from .conftest import START, free_port

ROOT = Path(__file__).resolve().parents[1]
# The company's first supervisor, whom create-company asks for when not given.
FIRST_SUPERVISOR = ("--supervisor-email", "pat.first@aspen.test", "--supervisor-name", "Pat First")


def password_matches(user: StaffUser, password: str) -> bool:
    """Check a password the way sign-in does."""
    from resolver.web.manager.auth import check_password

    return bool(check_password(user, password))


def sign_in(app, email: str, password: str):
    """Sign in through the real form, as the person would; return the response."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


@pytest.fixture
def blank_app(tmp_path, fresh_database, frozen_clock):
    """An app on a database with no tables at all, as on a new machine."""
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": fresh_database(f"cli_{uuid.uuid4().hex[:8]}"),
            "SECRET_KEY": "test-secret",
        }
    )
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def run(blank_app):
    runner = blank_app.test_cli_runner()

    def invoke(*args, input=None):
        return runner.invoke(args=list(args), input=input)

    return invoke


def test_init_creates_the_database_and_can_run_again(blank_app, run):
    first = run("init")
    assert first.exit_code == 0, first.output
    assert "Created the database" in first.output
    assert inspect(db.engine).has_table("dispute")
    again = run("init")
    assert again.exit_code == 0, again.output
    assert "up to date" in again.output


def test_commands_that_need_a_database_say_to_run_init_first(run):
    result = run("create-user", "--company", "aspen", "--email", "a@b.test", "--name", "A", input="longenough\n" * 2)
    assert result.exit_code != 0
    assert "resolver init" in result.output


def test_a_new_company_needs_no_command_before_create_company(blank_app, run):
    """A new company's first step is create-company: on a machine with no database it makes one."""
    from resolver.models import Company

    made = run("create-company", "--slug", "aspen", "--name", "Aspen Property Co", "--time-zone", "America/Denver",
               *FIRST_SUPERVISOR)
    assert made.exit_code == 0, made.output
    assert "Created the database" in made.output
    assert db.session.scalar(select(Company.name).where(Company.slug == "aspen")) == "Aspen Property Co"
    assert run("init").output.startswith("The database is up to date")


def test_create_user_makes_a_staff_member_who_can_sign_in(blank_app, run):
    assert run("init").exit_code == 0
    made = run("create-company", "--slug", "aspen", "--name", "Aspen Property Co", "--time-zone", "America/Denver",
               *FIRST_SUPERVISOR)
    assert made.exit_code == 0, made.output
    result = run(
        "create-user", "--company", "aspen", "--email", "Dana@Aspen.test", "--name", "Dana Whitfield",
        "--role", "manager", input="correct horse battery\ncorrect horse battery\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created manager Dana Whitfield <dana@aspen.test>" in result.output
    assert "correct horse" not in result.output  # the password is asked for, never echoed
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == "dana@aspen.test"))
    assert user.role == "manager" and user.company.slug == "aspen" and user.is_active
    assert password_matches(user, "correct horse battery")
    assert not password_matches(user, "wrong password")
    assert sign_in(blank_app, "dana@aspen.test", "correct horse battery").status_code == 302
    assert sign_in(blank_app, "dana@aspen.test", "wrong password").status_code == 401


def test_create_company_asks_for_the_time_zone_and_refuses_one_that_does_not_exist(blank_app, run):
    from resolver.models import Company

    run("init")
    asked = run("create-company", "--slug", "aspen", "--name", "Aspen Property Co", *FIRST_SUPERVISOR,
                input="Pacific/Auckland\n")
    assert asked.exit_code == 0, asked.output
    assert "Time zone the company counts deadlines in" in asked.output
    assert db.session.scalar(select(Company.time_zone).where(Company.slug == "aspen")) == "Pacific/Auckland"
    wrong = run("create-company", "--slug", "birch", "--name", "Birch Homes", "--time-zone", "Mars/Olympus_Mons",
                *FIRST_SUPERVISOR)
    assert wrong.exit_code != 0 and "is not a time zone" in wrong.output
    assert db.session.scalar(select(Company.id).where(Company.slug == "birch")) is None


def test_create_user_refuses_bad_input_and_changes_nothing(blank_app, run):
    run("init")
    run("create-company", "--slug", "aspen", "--name", "Aspen Property Co", "--time-zone", "America/Denver",
        *FIRST_SUPERVISOR)
    unknown = run("create-user", "--company", "nowhere", "--email", "a@b.test", "--name", "A", input="longenough\n" * 2)
    assert unknown.exit_code != 0 and "no company 'nowhere'" in unknown.output
    short = run("create-user", "--company", "aspen", "--email", "a@b.test", "--name", "A", input="short\nshort\n")
    assert short.exit_code != 0 and "at least 8 characters" in short.output
    role = run("create-user", "--company", "aspen", "--email", "a@b.test", "--name", "A", "--role", "owner",
               input="longenough\n" * 2)
    assert role.exit_code != 0
    ok = run("create-user", "--company", "aspen", "--email", "a@b.test", "--name", "A", input="longenough\n" * 2)
    assert ok.exit_code == 0, ok.output
    twice = run("create-user", "--company", "aspen", "--email", "a@b.test", "--name", "A", input="longenough\n" * 2)
    assert twice.exit_code != 0 and "already has an account" in twice.output
    assert db.session.scalar(select(func.count(StaffUser.id))) == 2  # the first supervisor, and A once


def test_tick_with_the_mail_server_down_says_so_in_one_line(app, make_dispute, caplog):
    from resolver.extensions import mail

    for state in ("awaiting_evidence", "evidence_received", "panel_review"):
        make_dispute(state)
    db.session.commit()
    waiting = db.session.scalar(select(func.count(OutboxEmail.id)).where(OutboxEmail.status == "pending"))
    assert waiting > 3
    app.config["MAIL_PORT"] = free_port()  # nothing listens there
    mail.init_app(app)
    with caplog.at_level(logging.INFO, logger="resolver.mail"):
        result = app.test_cli_runner().invoke(args=["tick"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"Fired 0 timers, sent 0 emails. {waiting} emails wait: could not connect to the mail server "
        f"127.0.0.1:{app.config['MAIL_PORT']}: Connection refused"
    ]
    said = [record.getMessage() for record in caplog.records if record.name.startswith("resolver.mail")]
    assert said == [f"the mail server is unavailable; {waiting} emails wait: could not connect to the mail server "
                    f"127.0.0.1:{app.config['MAIL_PORT']}: Connection refused"]


def test_tick_fires_a_due_timer_and_delivers_its_mail(app, smtp, make_dispute, manager):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["tick"])  # sends the invitation; no deadline has come yet
    assert first.exit_code == 0, first.output
    assert "Fired 0 timers" in first.output
    assert smtp.to(dispute.resident.email), "the evidence invitation went out"

    clock.advance(dispute.evidence_due_dt - clock.now_utc() + timedelta(minutes=1))
    result = runner.invoke(args=["tick"])
    assert result.exit_code == 0, result.output
    fired, sent = map(int, re.search(r"Fired (\d+) timers, sent (\d+) emails", result.output).groups())
    assert fired >= 1 and sent >= 1
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).state == "lapsed"
    assert db.session.scalar(
        select(Timer.status).where(Timer.dispute_id == dispute.id, Timer.kind == "evidence:due")
    ) == "fired"
    assert smtp.to(manager.email), "the manager was told the window lapsed"
    pending = db.session.scalar(select(func.count(OutboxEmail.id)).where(OutboxEmail.status == "pending"))
    assert pending == 0

    quiet = runner.invoke(args=["tick"])
    assert "Fired 0 timers, sent 0 emails" in quiet.output  # each timer fires once, each email goes once


def test_demo_builds_a_company_with_a_dispute_in_every_state(blank_app, run):
    assert run("init").exit_code == 0
    result = run("demo")
    assert result.exit_code == 0, result.output
    password = re.search(r"password: (\S+)", result.output).group(1)
    manager = db.session.scalar(select(StaffUser).where(StaffUser.email == "demo@aspen.test"))
    assert manager.company.name == "Aspen Property Co"
    assert password_matches(manager, password)
    assert sign_in(blank_app, "demo@aspen.test", password).status_code == 302
    states = set(db.session.scalars(select(Dispute.state)))
    assert set(load_definition("dispute").states) == states, result.output
    # The closed dispute has a lesson, so the training report has something to show a newcomer.
    assert db.session.scalar(select(Dispute.lessons_learned).where(Dispute.state == "closed")).startswith(
        "When a repair waits on a part")
    # One resident reads Resolver in Spanish, so a newcomer can see a letter written in another language.
    spanish = db.session.scalar(select(Dispute).join(Resident, Dispute.resident_id == Resident.id)
                                .where(Resident.preferred_language == "es"))
    letter = db.session.scalar(select(Letter).where(Letter.dispute_id == spanish.id, Letter.status == "sent"))
    assert letter.language == "es" and letter.body_text.startswith("Estimado/a Carlos Mendez:")
    assert clock.now_utc() == START, "the demo puts the clock back as it found it"
    # Deadlines still running are ahead of today, so nothing fires the moment the server starts.
    assert db.session.scalar(
        select(func.count(Timer.id)).where(Timer.status == "pending", Timer.due_dt <= clock.now_utc())
    ) == 0

    disputes_before = db.session.scalar(select(func.count(Dispute.id)))
    kept = run("demo")  # run again without --password: the password printed first still signs in
    assert kept.exit_code == 0, kept.output
    assert "password: unchanged" in kept.output
    db.session.expire_all()
    assert password_matches(db.session.get(StaffUser, manager.id), password)
    assert sign_in(blank_app, "demo@aspen.test", password).status_code == 302
    again = run("demo", "--password", "a-known-demo-password")
    assert again.exit_code == 0, again.output
    assert "nothing new was made" in again.output
    assert db.session.scalar(select(func.count(Dispute.id))) == disputes_before
    db.session.expire_all()
    assert password_matches(db.session.get(StaffUser, manager.id), "a-known-demo-password")


def test_the_readme_diagram_is_the_diagram_command_output(app):
    result = app.test_cli_runner().invoke(args=["diagram"])
    assert result.exit_code == 0
    assert result.output == mermaid_diagram()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```mermaid\n(.*?)```", readme, re.S)
    assert block, "the README shows the workflow diagram"
    assert block.group(1) == result.output, "regenerate it: resolver diagram"
    for state in load_definition("dispute").states:
        assert f"    {state}: " in result.output


def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_documents_every_setting():
    used = set()
    for path in [*(ROOT / "resolver").rglob("*.py"), *(ROOT / "deploy").glob("*"), ROOT / "wsgi.py"]:
        if path.is_file():
            used |= set(re.findall(r"RESOLVER_[A-Z_]+[A-Z]", path.read_text(encoding="utf-8", errors="replace")))
    from resolver.config import _ENVIRONMENT

    used |= {f"RESOLVER_{name}" for name in _ENVIRONMENT}
    missing = sorted(name for name in used if f"`{name}`" not in _readme())
    assert missing == [], "describe these in the README's configuration section"


def test_the_readme_says_why_each_dependency_is_there():
    import configparser

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    requirements = config["options"]["install_requires"].split("\n")
    for extra in config["options.extras_require"].values():
        requirements += extra.split("\n")
    names = {re.split(r"[<>=\[ ;]", line.strip(), maxsplit=1)[0] for line in requirements if line.strip()}
    section = _readme().split("## Why each dependency is here", 1)[1]
    missing = sorted(name for name in names if name.lower() not in section.lower())
    assert missing == [], "say in the README why these are needed"


def test_serve_builds_the_database_and_answers_on_its_port(tmp_path, smtp_server):
    """One machine, one command: migrations, worker and web app; SIGTERM stops it cleanly."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RESOLVER_")}
    environment.update(
        PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1",
        RESOLVER_INSTANCE_PATH=str(tmp_path / "instance"),
        RESOLVER_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
        RESOLVER_MAIL_SERVER="127.0.0.1", RESOLVER_MAIL_PORT=str(smtp_server.port),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "resolver", "serve", "--port", str(port)],
        cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        lines = []
        while not any("Press Ctrl-C" in line for line in lines):
            line = process.stdout.readline()
            assert line, "".join(lines) + process.stderr.read()
            lines.append(line)
        output = "".join(lines)
        assert "Database brought to revision" in output
        assert f"Resolver is running at http://127.0.0.1:{port}/" in output
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy
        with direct.open(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            assert response.status == 200
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        assert "Stopped." in out
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
