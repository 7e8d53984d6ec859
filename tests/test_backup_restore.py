"""The backup that matters: a running Resolver, with a dispute in every state of the workflow and a team
member voting while `resolver backup` runs, is restored with `resolver restore` into a fresh folder (and,
on PostgreSQL, a fresh database). The restored Resolver shows the same pages, files and letters at the
links people were emailed, holds the vote as it stood at one moment (never half of it), and its
deadlines still fire.

The original runs in this process on a real WSGI server thread, on the movable clock (stood still), so
its pages and the restored one's are drawn at the same "now"; `resolver backup` and `resolver restore` run
as their own processes, as an operator runs them. The worker rests while the backup runs: each email it
sent would change a staff page on its own, between two votes, and the point is to pin down which of the
votes the backup caught.
"""
from __future__ import annotations

import difflib
import hashlib
import http.cookiejar
import os
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.serving import WSGIRequestHandler, make_server

from resolver import create_app
from resolver.demo import MANAGER_EMAIL, build_demo
from resolver.extensions import db
from resolver.history import verify_histories
from resolver.links import token_for
from resolver.migrations import upgrade_database
from resolver.models import (
    AccessLink, AuditEvent, Dispute, EvidenceFile, Letter, PanelMember, Property, Resident, Task, Unit, Vote, VoteRevision,
)
from resolver.walkthrough import Story, walk_dispute
from resolver.worker import run_round
from resolver.workflow.engine import dispute_engine

from .conftest import Inbox, free_port, is_postgres
from .fixtures_manager import PASSWORD, cheap_password_hashes

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = dispute_engine.definition

pytestmark = pytest.mark.slow


# One installation ------------------------------------------------------------------------------

@dataclass
class Instance:
    """One Resolver installation: its folder (the secret key that signs emailed links, the files, and
    on SQLite the database, as a newcomer's is) and, on PostgreSQL, a database on the test server."""

    folder: Path
    database_url: str | None  # None: SQLite in the folder
    address: str  # where people reach it; the links in its emails point here
    mail_port: int
    secret_key: str | None = None  # None: the one Resolver made in the folder the first time it ran

    def settings(self) -> dict:
        settings = {"INSTANCE_PATH": str(self.folder), "PUBLIC_BASE_URL": self.address,
                    "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.mail_port}
        settings |= {"DATABASE_URL": self.database_url} if self.database_url else {}
        return settings | ({"SECRET_KEY": self.secret_key} if self.secret_key else {})

    def environment(self) -> dict[str, str]:
        """The environment an operator's shell would give a `resolver` command on this machine."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("RESOLVER_")}
        env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", RESOLVER_INSTANCE_PATH=str(self.folder),
                   RESOLVER_PUBLIC_BASE_URL=self.address, RESOLVER_MAIL_SERVER="127.0.0.1",
                   RESOLVER_MAIL_PORT=str(self.mail_port))
        if self.secret_key:
            env["RESOLVER_SECRET_KEY"] = self.secret_key
        if self.database_url:
            env["RESOLVER_DATABASE_URL"] = self.database_url
            env["PATH"] = f"{postgres_tools()}{os.pathsep}{env.get('PATH', '')}"  # pg_dump and pg_restore
        return env

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "resolver", *args], env=self.environment(), cwd=self.folder.parent,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def run(self, *args: str) -> str:
        command = self.start(*args)
        out, err = command.communicate(timeout=120)
        assert command.returncode == 0, f"resolver {' '.join(args)} failed:\n{out}\n{err}"
        return out

    @contextmanager
    def app(self):
        app = create_app(self.settings())
        with app.app_context():
            try:
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()

    @contextmanager
    def serving(self):
        """The web app on a real server thread at the instance's address, for as long as the block runs."""
        with self.app() as app:
            db.session.remove()  # the server's threads open their own sessions
            port = urllib.parse.urlsplit(self.address).port
            server = make_server("127.0.0.1", port, app, threaded=True, request_handler=QuietRequests)
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            try:
                yield
            finally:
                server.shutdown()
                server.server_close()
                thread.join(timeout=30)


class QuietRequests(WSGIRequestHandler):
    def log_request(self, *args) -> None:
        """A few hundred requests: a line each would bury what a failure says."""


def postgres_tools() -> str:
    from .pgserver import find_bindir

    return str(find_bindir())


def database_for(fresh_database, name: str) -> str | None:
    """A new, empty database on the test server; on SQLite None (the instance keeps it in its folder)."""
    return fresh_database(f"{name}_{uuid.uuid4().hex[:8]}") if is_postgres() else None


# A person's browser ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Browser:
    """urllib with cookies, following redirects, no proxy: what a person's browser does."""

    def __init__(self, address: str):
        self.address = address
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                  urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def open(self, path: str, fields: dict | None = None) -> Answer:
        body = urllib.parse.urlencode(fields).encode() if fields is not None else None
        try:
            with self.opener.open(self.address + path, data=body, timeout=30) as response:
                return Answer(response.status, response.headers.get("Content-Type", ""), response.read())
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, error.headers.get("Content-Type", ""), error.read())

    def submit(self, path: str, fields: dict) -> Answer:
        """Post the form on the page at ``path``, with the security token the page carries."""
        page = self.open(path)
        return self.open(path, {**fields, "csrf_token": csrf_token(page.text)})

    def sign_in(self, email: str, password: str) -> None:
        answer = self.submit("/login", {"email": email, "password": password})
        assert answer.status == 200 and "Sign out" in answer.text, answer.text[:500]


def csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


# What people see -------------------------------------------------------------------------------

# Two things on a page are drawn afresh each time it is shown, restored or not, and are left out of the
# comparison: the security token of each form (made for each browser's session), and the key of the
# resident's evidence form (made for each drawing of the form, so a submission sent twice is saved once).
FRESH_EACH_TIME = re.compile(rb'(name="(?:csrf_token|form_key)"[^>]*value=")[^"]+(")')

View = tuple[int, str, str]


def seen(answer: Answer) -> View:
    """What a person sees of an answer: its status, its type, and its content (a file by its hash)."""
    if answer.content_type.startswith("text/html"):
        return answer.status, answer.content_type, FRESH_EACH_TIME.sub(rb"\1(fresh)\2", answer.body).decode()
    return answer.status, answer.content_type, hashlib.sha256(answer.body).hexdigest()


@dataclass
class Doors:
    """Every address a person may open about one dispute: the staff's pages and downloads, and the
    pages and files behind each link emailed to the resident and to each member of the team."""

    dispute_id: int
    state: str
    staff: list[str] = field(default_factory=list)
    resident: list[str] = field(default_factory=list)
    team: list[str] = field(default_factory=list)
    vote_links: list[str] = field(default_factory=list)  # each seat's vote page, in the order seated


def doors_of(dispute: Dispute) -> Doors:
    """Read from the original instance: its links signed with its own secret, as in its emails."""
    doors = Doors(dispute.id, dispute.state, staff=[f"/disputes/{dispute.id}"])
    files = db.session.scalars(select(EvidenceFile.id).where(EvidenceFile.dispute_id == dispute.id)
                               .order_by(EvidenceFile.id)).all()
    doors.staff += [f"/disputes/{dispute.id}/files/{file_id}" for file_id in files]
    letters = db.session.scalars(select(Letter.id).where(Letter.dispute_id == dispute.id,
                                                         Letter.pdf_sha256.is_not(None)).order_by(Letter.id)).all()
    doors.staff += [f"/disputes/{dispute.id}/letters/{letter_id}.pdf" for letter_id in letters]
    for task in db.session.scalars(select(Task).where(Task.dispute_id == dispute.id).order_by(Task.id)):
        if (task.detail or {}).get("ics_sha256"):
            doors.staff.append(f"/disputes/{dispute.id}/tasks/{task.id}.ics")
    links = db.session.scalars(select(AccessLink).where(AccessLink.dispute_id == dispute.id).order_by(AccessLink.id))
    for link in links:
        token = token_for(link)
        if link.purpose == "evidence":
            doors.resident += [f"/r/e/{token}", f"/r/e/{token}/status", *(f"/r/e/{token}/files/{f}" for f in files)]
        elif link.purpose == "outcome":
            doors.resident += [f"/r/o/{token}", f"/r/o/{token}/letter.pdf"]
        elif link.purpose == "vote":  # each member's page; the files, the same for all, through the first
            doors.vote_links.append(f"/p/v/{token}")
            doors.team += [f"/p/v/{token}", *(f"/p/v/{token}/files/{f}" for f in files if len(doors.vote_links) == 1)]
    return doors


@dataclass
class Visitors:
    """The office's manager, signed in, and the people who follow the links in their emails."""

    staff: Browser
    people: Browser

    @classmethod
    def of(cls, address: str) -> Visitors:
        staff = Browser(address)
        staff.sign_in(MANAGER_EMAIL, PASSWORD)
        return cls(staff, Browser(address))

    def look(self, *, staff: list[str], people: list[str], staff_first: bool) -> dict[str, View]:
        """What each page and file shows now, the staff's first or the people's first: a staff page counts
        the resident's visits to their own pages, so on the original the people look first (the staff pages
        then show the visits the backup will hold) and on the restored one the office looks first (before
        the people add visits of their own)."""
        shown_to = [(self.staff, staff), (self.people, people)]
        return {path: seen(browser.open(path))
                for browser, paths in (shown_to if staff_first else reversed(shown_to)) for path in paths}


def differences(now: dict[str, View], then: dict[str, View]) -> str:
    """What differs between two looks at the same pages, said as a reader wants it ("" when nothing)."""
    said = []
    for path in sorted(set(now) | set(then)):
        if now.get(path) == then.get(path):
            continue
        if path not in now or path not in then:
            said.append(f"{path}: {'only before' if path in then else 'only now'}")
            continue
        (status, kind, content), (was_status, was_kind, was_content) = now[path], then[path]
        lines = difflib.unified_diff(was_content.splitlines(), content.splitlines(), "before", "now", n=1, lineterm="")
        said.append(f"{path}: {was_status} {was_kind} -> {status} {kind}\n" + "\n".join(list(lines)[:40]))
    return "\n\n".join(said)


# The instance to back up -----------------------------------------------------------------------

def build_original() -> tuple[list[Doors], Doors]:
    """The demo company, with a dispute in every state of the workflow (photos, sent letters and their
    PDFs, calendar reminders, deadlines to come), and one more just sent to a team that has not voted
    yet. Returns the doors of the demo's disputes, and of the new one."""
    with cheap_password_hashes():
        report = build_demo(password=PASSWORD)
    assert {dispute.state for dispute in report.made} == set(WORKFLOW.states), report.lines()
    company = report.company
    home = db.session.scalar(select(Property).where(Property.company_id == company.id).order_by(Property.id))
    unit = Unit(property_id=home.id, label="5D")
    db.session.add(unit)
    db.session.flush()
    resident = Resident(company_id=company.id, unit_id=unit.id, name="Rosa Delgado",
                        email="rosa.delgado@residents.test", phone="303-555-0177")
    db.session.add(resident)
    team = db.session.scalars(select(PanelMember).where(PanelMember.company_id == company.id)
                              .order_by(PanelMember.id).limit(company.panel_size)).all()
    story = Story(issue="Rosa says the $95 lock-change charge is unfair: the lock was broken when she moved in.",
                  what_was_fixed="We replaced the lock and checked the other doors on her floor.",
                  company_position="Our move-in inspection found the lock working.", category="deposit",
                  details="My move-in checklist says the lock stuck.", suggestion="Refund the $95.",
                  suggested_cents=9500)
    voting = walk_dispute("panel_review", manager=report.made[0].manager, resident=resident, story=story,
                          team=lambda _dispute: team)
    db.session.commit()
    return [doors_of(dispute) for dispute in report.made], doors_of(voting)


def deliver_all_email(app) -> None:
    while not run_round(app).is_idle:
        pass


# The team votes while the backup runs ----------------------------------------------------------

CHOICES = ("uphold", "compromise", "resident")


def watched(voting: Doors) -> dict[str, list[str]]:
    """What shows the team's votes: the dispute's staff pages, the dashboard, and the team's own pages.
    (The resident's pages do not show the votes; opening them during the votes would change the visits
    the staff page counts, a change finer than a vote, so they are looked at before.)"""
    return {"staff": ["/", *voting.staff], "people": voting.team}


def vote_while(running: subprocess.Popen, visitors: Visitors, voting: Doors, *, limit: int = 9) -> list[dict]:
    """Two of the team vote, then change their minds in turn (as the invitation allows until the review
    closes), until the command ``running`` has finished or each has sent ``limit`` times (a vote link
    sends at most ten times a minute, and the clock stands still here). The third does not vote, so the
    review stays open. Returns what the dispute's pages showed before the first vote and after each."""
    shown = [visitors.look(**watched(voting), staff_first=True)]
    for turn in range(2 * limit):
        if running.poll() is not None:
            break
        choice = CHOICES[turn % len(CHOICES)]
        answer = visitors.people.submit(voting.vote_links[turn % 2], {
            "choice": choice, "reason": f"Vote {turn + 1}: from the checklist and the photos, {choice}.",
            "token_kind": "", "token_amount": "", "concession_amount": "25.00" if choice != "uphold" else ""})
        assert answer.status == 200 and "Your vote is recorded" in answer.text, answer.text[:3000]
        shown.append(visitors.look(**watched(voting), staff_first=True))
    return shown


def count_whole_votes(dispute_id: int) -> int:
    """How many times the team voted (first votes and changes), having checked that each vote's
    revision, the rows that keep its revisions and the history's vote events all agree."""
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.dispute_id == dispute_id,
                                                         AuditEvent.action.in_(("vote", "change_vote")))).all()
    votes = db.session.scalars(select(Vote).where(Vote.dispute_id == dispute_id)).all()
    for vote in votes:
        kept = db.session.scalar(select(func.count(VoteRevision.id)).where(VoteRevision.vote_id == vote.id))
        recorded = sorted(event.data["revision"] for event in events if event.data["seat_id"] == vote.seat_id)
        assert kept == vote.revision and recorded == list(range(1, vote.revision + 1)), (vote.seat_id, kept, recorded)
    assert len(events) == sum(vote.revision for vote in votes)
    return len(events)


LINK = re.compile(r"https?://[^\s<>\"')]+")


def emailed_link_paths(smtp: Inbox, address: str) -> set[str]:
    """The paths of the links to a person's own pages in every email delivered so far."""
    links = {url for message in smtp.messages for url in LINK.findall(Inbox.text_of(message["message"]))}
    return {url.removeprefix(address) for url in links if re.match(rf"{re.escape(address)}/(r/e|r/o|p/v)/", url)}


# The test --------------------------------------------------------------------------------------

def test_a_running_resolver_backed_up_while_its_team_votes_comes_back_whole_and_its_deadlines_fire(
    tmp_path, smtp_server, smtp, frozen_clock, fresh_database
):
    # Both answer at the same address, as a company's Resolver does when it comes back on a new machine.
    address = f"http://127.0.0.1:{free_port()}"
    original = Instance(tmp_path / "original", database_for(fresh_database, "original"), address, smtp_server.port)
    with original.app() as app:
        upgrade_database()
        steady, voting = build_original()
        deliver_all_email(app)
    every = [*steady, voting]
    # The pages compared are the ones people reach from the links in their emails.
    assert emailed_link_paths(smtp, address) <= {path for doors in every for path in doors.resident + doors.team}
    steady_pages = {"staff": [path for doors in steady for path in doors.staff],
                    "people": [path for doors in every for path in doors.resident]
                    + [path for doors in steady for path in doors.team]}

    with original.serving():
        visitors = Visitors.of(address)
        # People follow their links, then the office looks (see Visitors.look). The backup starts, and the
        # team votes until it is over.
        steady_before = visitors.look(**steady_pages, staff_first=False)
        backup = original.start("backup", str(tmp_path / "backups"))
        shown = vote_while(backup, visitors, voting)
        out, err = backup.communicate(timeout=120)
        assert backup.returncode == 0, out + err
    assert len(shown) > 1, "the backup was over before the team's first vote"

    # The machine is gone. A fresh folder (and on PostgreSQL a fresh database) gets the backup, and the
    # secret key that signs the emailed links, which the company keeps apart from its backups (README).
    secret_key = (original.folder / "secret_key").read_text().strip()
    assert not any(secret_key.encode() in path.read_bytes() for path in (tmp_path / "backups").rglob("*") if path.is_file())
    restored = Instance(tmp_path / "restored", database_for(fresh_database, "restored"), address, smtp_server.port,
                        secret_key=secret_key)
    restored.folder.mkdir()
    restored.run("restore", str(tmp_path / "backups"))

    with restored.serving():
        visitors = Visitors.of(address)
        voting_pages = watched(voting)
        after = visitors.look(staff=steady_pages["staff"] + voting_pages["staff"],
                              people=steady_pages["people"] + voting_pages["people"], staff_first=True)
    steady_after = {path: after[path] for path in steady_before}
    voting_after = {path: after[path] for path in shown[0]}
    assert not (different := differences(steady_after, steady_before)), different
    # The votes sent while the backup ran are there whole or not at all: the restored Resolver shows what
    # the original showed between two of them, and its rows agree with its history.
    caught = [votes for votes, view in enumerate(shown) if view == voting_after]
    assert caught, ("the restored dispute shows what the original never did; nearest:\n"
                    + min((differences(voting_after, view) for view in shown), key=len))
    with restored.app():
        assert count_whole_votes(voting.dispute_id) in caught
        assert verify_histories().is_intact  # every dispute's history, chained event to event, as written

    # Its deadlines still fire: the clock moves past the end of a resident's evidence window.
    smtp.clear()
    waiting = next(doors for doors in steady if doors.state == "awaiting_evidence")
    with restored.app() as app:
        dispute = db.session.get(Dispute, waiting.dispute_id)
        resident, due = dispute.resident.email, dispute.evidence_due_dt
        db.session.remove()
        frozen_clock.move_to(due + timedelta(minutes=1))
        deliver_all_email(app)
        assert db.session.get(Dispute, waiting.dispute_id).state == "lapsed"
    told = [message["Subject"] for message in smtp.to(resident)]
    assert told == ["We did not get your side in time: you can ask us to reopen it"], told
