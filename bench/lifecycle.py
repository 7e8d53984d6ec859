"""Lifecycle throughput: whole disputes per second through Resolver's own verbs, beside a raw-SQL floor.

One lifecycle is 14 transactions, one per request a person would make: open (create + open), the
resident's submission, choosing a team of 5, sending the case, 5 votes (the fifth closes the panel),
drafting the letter, approving it, sending it, the resident's acknowledgement, closing. Each commits
as a request would, with its audit events, timers, links and rendered emails in the outbox. The
letter's PDF is replaced by a fixed small file here: WeasyPrint is measured apart (letter_render).

The floor writes the same rows (the same count per table, checked) with plain ``sqlite3`` or
psycopg statements, one transaction per step as above, into a database with the same schema: what
the writes cost without Resolver's Python around them.
"""
from __future__ import annotations

import json
import multiprocessing
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .common import make_app, median, no_pdf, postgres_database, psycopg_dsn, row, seed_company, sqlite_url

NAME = "lifecycle"
# Five votes that leave the result open until the last one: everyone votes, the fifth closes the panel.
VOTES = ("uphold", "compromise", "uphold", "compromise", "uphold")
TABLES = ("dispute", "audit_event", "timer", "access_link", "outbox_email", "submission", "panel_seat",
          "case_packet", "vote", "vote_revision", "letter")


# Through the verbs -----------------------------------------------------------------------------

def drive_lifecycle(ids: dict) -> int:
    """One dispute from opening to closed, through the service verbs, committing after each step."""
    from resolver.actors import Actor
    from resolver.extensions import db
    from resolver.models import Resident, StaffUser
    from resolver.services import disputes, evidence, outcome, panel

    manager = db.session.get(StaffUser, ids["manager"])
    resident = db.session.get(Resident, ids["resident"])
    staff = Actor.staff(manager)
    dispute = disputes.create_dispute(
        staff, resident=resident, issue="The carpet-cleaning charge on the deposit is unfair.",
        what_was_fixed="We re-inspected the carpet and refunded the pet fee.",
        company_position="The carpet needed professional cleaning.", category="security deposit",
    )
    disputes.open_dispute(staff, dispute)
    db.session.commit()
    evidence.submit_evidence(
        Actor.resident(resident), dispute, form_key=uuid.uuid4().hex,
        details="The carpet was clean when I left; I have photos.",
        suggested_resolution="Refund the $150 cleaning charge.", suggested_amount_cents=15000,
    )
    db.session.commit()
    seats = panel.seat_panel(staff, dispute, ids["members"])
    db.session.commit()
    panel.send_to_panel(staff, dispute)
    db.session.commit()
    for seat, choice in zip(seats, VOTES):
        panel.record_vote(
            Actor.panel(seat.member), seat, choice=choice, reason=f"{seat.member.name}: the photos point this way.",
            token_kind="coffee-shop gift card", token_cents=2500, concession_cents=5000 if choice != "uphold" else None,
        )
        db.session.commit()
    letter = outcome.draft_outcome(staff, dispute)
    db.session.commit()
    outcome.approve_letter(staff, letter)
    db.session.commit()
    outcome.send_outcome(staff, dispute)
    db.session.commit()
    outcome.acknowledge_outcome(Actor.resident(resident), dispute)
    db.session.commit()
    disputes.close_dispute(staff, dispute, reason="Resolved.")
    db.session.commit()
    if dispute.state != "closed":
        raise RuntimeError(f"the lifecycle ended {dispute.state}, not closed")
    db.session.remove()  # the next lifecycle starts with an empty session, as a new request would
    return dispute.id


def verbs_rate(app, ids: dict, count: int, cpu: list | None = None) -> float:
    """Lifecycles per second for ``count`` lifecycles in a row (and this process's CPU seconds for
    each one appended to ``cpu``)."""
    with app.app_context(), no_pdf():
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            drive_lifecycle(ids)
        if cpu is not None:
            cpu.append((time.process_time() - start_cpu) / count)
        return count / (time.perf_counter() - start)


def table_counts(app) -> dict[str, int]:
    from sqlalchemy import text

    from resolver.extensions import db

    with app.app_context():
        return {t: db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


# The floor ---------------------------------------------------------------------------------------

NOW = object()  # a default filled with the step's moment
TEXT = "Dear Tammy, " + "thank you for telling us about the deposit. " * 30  # about an email's text part
HTML = "<p>" + TEXT.replace(". ", ".</p><p>") * 3 + "</p>"  # and its HTML part


class Floor:
    """Plain driver statements, prepared once: the cheapest way to write a lifecycle's rows."""

    def __init__(self, connection, dialect: str, metadata):
        self.connection = connection
        self.dialect = dialect
        self.cursor = connection.cursor()
        self.marker = "?" if dialect == "sqlite" else "%s"
        self.defaults = {}
        for table in metadata.sorted_tables:
            fixed = {}
            for column in table.columns:
                if column.primary_key or column.default is None:
                    continue
                value = column.default.arg
                if callable(value):  # now_utc for the *_dt columns, list or dict for JSON
                    value = NOW if column.name.endswith("_dt") else value(None)
                fixed[column.name] = value
            self.defaults[table.name] = fixed
        self.sql: dict = {}
        self.history_ends: dict = {}  # dispute id: (position, hash) of its last event

    def value(self, value):
        if isinstance(value, datetime):
            return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ") if self.dialect == "sqlite" \
                else value
        if isinstance(value, (list, dict)):
            return json.dumps(value)
        return value

    def insert(self, table: str, now: datetime, **values) -> int:
        merged = {**self.defaults[table], **values}
        merged = {k: (now if v is NOW else v) for k, v in merged.items()}
        key = (table, tuple(merged))
        sql = self.sql.get(key)
        if sql is None:
            columns = ", ".join(f'"{name}"' for name in merged)
            markers = ", ".join([self.marker] * len(merged))
            sql = self.sql[key] = f"INSERT INTO {table} ({columns}) VALUES ({markers}) RETURNING id"
        self.cursor.execute(sql, [self.value(v) for v in merged.values()])
        return self.cursor.fetchone()[0]

    def update(self, sql: str, *params) -> None:
        self.cursor.execute(sql.replace("?", self.marker), [self.value(p) for p in params])

    def commit(self) -> None:
        self.connection.commit()

    # One lifecycle, step by step -------------------------------------------------------------

    def audit(self, now, dispute_id, kind, actor_id, action, from_state, to_state, data=None, reason=""):
        from resolver.history import chain_hash

        # Each event takes the next place in its dispute's history and is hashed onto the one before it.
        position, previous = self.history_ends.get(dispute_id, (0, ""))
        fields = dict(dispute_id=dispute_id, position=position + 1, occurred_dt=now, actor_kind=kind,
                      actor_id=actor_id, actor_label="Morgan Manager", action=action, from_state=from_state,
                      to_state=to_state, reason=reason, data=data or {})
        fields["hash"] = chain_hash(previous, fields)
        self.history_ends[dispute_id] = (fields["position"], fields["hash"])
        self.insert("audit_event", now, **fields)

    def email(self, now, ids, dispute_id, template, to_addr, attachments=None):
        self.insert("outbox_email", now, company_id=ids["company"], dispute_id=dispute_id, template=template,
                    message_id=f"<{uuid.uuid4().hex}@resolver.local>", to_addr=to_addr, to_name="Tammy Rivera",
                    subject="Please send your side of the deposit question by Friday 14 March",
                    body_text=TEXT, body_html=HTML, attachments=attachments or [], next_attempt_dt=now)

    def timers(self, now, dispute_id, window, due):
        """The window's deadline and its reminders, as the workflow definition lists them."""
        from resolver.workflow.definition import load_definition

        reminders = load_definition("dispute").windows[window].reminders
        dues = [(f"{window}:due", due)] + [(f"{window}:remind:{i}", due - r.before) for i, r in enumerate(reminders)]
        for kind, moment in dues:
            if moment > now or kind.endswith(":due"):
                self.insert("timer", now, dispute_id=dispute_id, window=window, kind=kind, due_dt=moment)

    def cancel(self, dispute_id, window):
        self.update("UPDATE timer SET status = 'cancelled', fired_dt = NULL, outcome = ? WHERE dispute_id = ? "
                    "AND \"window\" = ? AND status = 'pending'", "the dispute moved on", dispute_id, window)

    def lifecycle(self, ids: dict) -> int:
        m, r = ids["manager"], ids["resident"]
        now = datetime.now(timezone.utc)
        evidence_due, reply_due = now + timedelta(days=5), now + timedelta(days=7)
        panel_due, follow_up_due = now + timedelta(days=3), now + timedelta(days=7)
        # 1. open
        d = self.insert("dispute", now, company_id=ids["company"], manager_id=m, resident_id=r, unit_id=ids["unit"],
                        state="awaiting_evidence", version=2, category="security deposit",
                        issue="The carpet-cleaning charge on the deposit is unfair.",
                        what_was_fixed="We re-inspected the carpet and refunded the pet fee.",
                        company_position="The carpet needed professional cleaning.", created_dt=now, opened_dt=now,
                        evidence_due_dt=evidence_due)
        self.audit(now, d, "staff", m, "create", None, "draft")
        self.audit(now, d, "staff", m, "open", "draft", "awaiting_evidence")
        self.timers(now, d, "evidence", evidence_due)
        self.insert("access_link", now, nonce=uuid.uuid4().hex, dispute_id=d, purpose="evidence", resident_id=r,
                    expires_dt=evidence_due + timedelta(days=30))
        self.email(now, ids, d, "evidence_invitation", "tammy@mail.test")
        self.commit()
        # 2. the resident's side
        self.update("UPDATE dispute SET state = 'evidence_received', version = version + 1, evidence_received_dt = ?, "
                    "reply_due_dt = ? WHERE id = ?", now, reply_due, d)
        self.cancel(d, "evidence")
        self.timers(now, d, "reply", reply_due)
        self.audit(now, d, "resident", r, "submit_evidence", "awaiting_evidence", "evidence_received",
                   {"files": 0, "first": True})
        self.insert("submission", now, dispute_id=d, form_key=uuid.uuid4().hex, received_dt=now,
                    details="The carpet was clean when I left; I have photos.",
                    suggested_resolution="Refund the $150 cleaning charge.", suggested_amount_cents=15000)
        self.email(now, ids, d, "evidence_receipt", "tammy@mail.test")
        self.email(now, ids, d, "evidence_arrived", "manager@aspen.test")
        self.commit()
        # 3. the team
        self.update("UPDATE dispute SET version = version + 1 WHERE id = ?", d)
        seats = [self.insert("panel_seat", now, dispute_id=d, panel_member_id=member, seated_dt=now)
                 for member in ids["members"]]
        self.audit(now, d, "staff", m, "seat_panel", "evidence_received", "evidence_received",
                   {"members": [{"id": member, "name": "Panelist", "organisation": "Peer Management"}
                                for member in ids["members"]]})
        self.commit()
        # 4. the case goes to the team
        self.update("UPDATE dispute SET state = 'panel_review', version = version + 1, panel_opened_dt = ?, "
                    "panel_due_dt = ? WHERE id = ?", now, panel_due, d)
        packet = self.insert("case_packet", now, dispute_id=d, version=1, frozen_dt=now,
                             content={"dispute_id": d, "company_side": {"issue": TEXT[:300]}, "resident_side": TEXT[:400]},
                             sha256="0" * 64)
        self.timers(now, d, "panel", panel_due)
        self.audit(now, d, "staff", m, "send_to_panel", "evidence_received", "panel_review")
        for seat in seats:
            self.insert("access_link", now, nonce=uuid.uuid4().hex, dispute_id=d, purpose="vote", seat_id=seat,
                        expires_dt=panel_due + timedelta(days=30))
            self.update("UPDATE panel_seat SET invited_dt = ? WHERE id = ?", now, seat)
            self.email(now, ids, d, "panel_invitation", "panelist@peers.test")
        self.audit(now, d, "staff", m, "packet_frozen", "panel_review", "panel_review",
                   {"packet_version": 1, "sha256": "0" * 64, "members": ["Panelist"] * 5})
        self.commit()
        # 5-9. five votes; the fifth closes the panel
        for seat, member, choice in zip(seats, ids["members"], VOTES):
            fields = dict(choice=choice, reason="Panelist: the photos point this way.",
                          token_kind="coffee-shop gift card", token_cents=2500,
                          concession_cents=5000 if choice != "uphold" else None, item_choices={})
            vote = self.insert("vote", now, seat_id=seat, dispute_id=d, packet_id=packet, cast_dt=now, changed_dt=now,
                               revision=1, **fields)
            self.insert("vote_revision", now, vote_id=vote, revision=1, recorded_dt=now, **fields)
            self.audit(now, d, "panel", member, "vote", "panel_review", "panel_review",
                       {"seat_id": seat, "revision": 1, "packet_version": 1})
            self.commit()
        self.update("UPDATE dispute SET state = 'decided', version = version + 1, panel_closed_dt = ?, decision = ?, "
                    "decided_dt = ?, decided_by = 'panel' WHERE id = ?", now, "uphold", now, d)
        self.cancel(d, "panel")
        self.update("UPDATE access_link SET revoked_dt = ?, revoked_reason = ? WHERE dispute_id = ? AND purpose = 'vote' "
                    "AND revoked_dt IS NULL", now, "the team's review closed", d)
        self.audit(now, d, "system", None, "decide", "panel_review", "decided", {"seated": 5, "voted": 5},
                   "Everyone on the team has voted.")
        self.email(now, ids, d, "panel_result", "manager@aspen.test")
        self.commit()
        # 10. the draft letter
        letter = self.insert("letter", now, dispute_id=d, version=1, status="draft", subject="Our written reply",
                             body_text=TEXT * 2, body_html=HTML, token_kind="coffee-shop gift card",
                             token_cents=2500, created_dt=now)
        self.update("UPDATE dispute SET state = 'outcome_draft', version = version + 1 WHERE id = ?", d)
        self.audit(now, d, "staff", m, "draft_outcome", "decided", "outcome_draft", {"letter_id": letter, "version": 1})
        self.commit()
        # 11. approval
        self.update("UPDATE letter SET status = 'approved', approved_dt = ?, approved_by_id = ? WHERE id = ?",
                    now, m, letter)
        self.audit(now, d, "staff", m, "letter_approved", "outcome_draft", "outcome_draft",
                   {"letter_id": letter, "version": 1, "tone_flags": [], "sent_anyway": False})
        self.commit()
        # 12. sending
        self.update("UPDATE letter SET status = 'sent', sent_dt = ?, pdf_sha256 = ?, body_html = ? WHERE id = ?",
                    now, "0" * 64, HTML, letter)
        self.update("UPDATE dispute SET state = 'outcome_sent', version = version + 1, outcome_sent_dt = ?, "
                    "follow_up_due_dt = ? WHERE id = ?", now, follow_up_due, d)
        self.cancel(d, "reply")
        self.timers(now, d, "follow_up", follow_up_due)
        self.insert("access_link", now, nonce=uuid.uuid4().hex, dispute_id=d, purpose="outcome", resident_id=r,
                    expires_dt=follow_up_due + timedelta(days=60))
        self.audit(now, d, "staff", m, "send_outcome", "outcome_draft", "outcome_sent", {"letter_id": letter})
        self.email(now, ids, d, "outcome_letter", "tammy@mail.test",
                   [{"filename": "letter.pdf", "content_type": "application/pdf", "sha256": "0" * 64}])
        self.commit()
        # 13. acknowledgement
        self.update("UPDATE dispute SET state = 'acknowledged', version = version + 1, acknowledged_dt = ? "
                    "WHERE id = ?", now, d)
        self.cancel(d, "follow_up")
        self.audit(now, d, "resident", r, "acknowledge", "outcome_sent", "acknowledged")
        self.email(now, ids, d, "outcome_acknowledged", "manager@aspen.test")
        self.commit()
        # 14. closed
        self.update("UPDATE dispute SET state = 'closed', version = version + 1, closed_dt = ?, close_reason = ? "
                    "WHERE id = ?", now, "Resolved.", d)
        self.update("UPDATE access_link SET revoked_dt = ?, revoked_reason = ? WHERE dispute_id = ? "
                    "AND revoked_dt IS NULL", now, "the dispute is closed", d)
        self.audit(now, d, "staff", m, "close", "acknowledged", "closed", reason="Resolved.")
        self.commit()
        return d


def floor_connection(url: str):
    if url.startswith("sqlite"):
        import sqlite3

        connection = sqlite3.connect(url.removeprefix("sqlite:///"))
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
            connection.execute(f"PRAGMA {pragma}")
        return connection, "sqlite"
    import psycopg

    return psycopg.connect(psycopg_dsn(url)), "postgresql"


def floor_rate(url: str, ids: dict, count: int, cpu: list | None = None) -> float:
    from resolver.models import Base

    connection, dialect = floor_connection(url)
    try:
        floor = Floor(connection, dialect, Base.metadata)
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            floor.lifecycle(ids)
        if cpu is not None:
            cpu.append((time.process_time() - start_cpu) / count)
        return count / (time.perf_counter() - start)
    finally:
        connection.close()


# Measuring -----------------------------------------------------------------------------------------

def compare(workdir: Path, label: str, verbs_url: str, floor_url: str, count: int, repeats: int):
    """Median lifecycles/s through the verbs and on the floor, alternating, and whether the rows match."""
    app = make_app(workdir / f"{label}-verbs", verbs_url)
    floor_app = make_app(workdir / f"{label}-floor", floor_url)
    with app.app_context():
        ids = seed_company()
    with floor_app.app_context():
        floor_ids = seed_company()
    verbs_rate(app, ids, 1)  # warm: templates compiled, statements cached
    floor_rate(floor_url, floor_ids, 1)
    verbs, floor, verbs_cpu, floor_cpu = [], [], [], []
    for _ in range(repeats):
        verbs.append(verbs_rate(app, ids, count, verbs_cpu))
        floor.append(floor_rate(floor_url, floor_ids, count, floor_cpu))
    made, floor_made = table_counts(app), table_counts(floor_app)
    same = made == floor_made
    mismatch = "" if same else "; rows differ: " + ", ".join(
        f"{t} {made[t]} vs {floor_made[t]}" for t in TABLES if made[t] != floor_made[t])
    for engine_app in (app, floor_app):
        with engine_app.app_context():
            from resolver.extensions import db

            db.engine.dispose()
    cpu = (median(verbs_cpu) * 1000, median(floor_cpu) * 1000)
    return median(verbs), median(floor), same, mismatch, cpu


def _parallel_worker(url: str, workdir: str, tag: str, seconds: float, ready, go, results) -> None:
    app = make_app(Path(workdir) / f"proc-{tag}", url, create=False)
    with app.app_context():
        ids = seed_company(tag=tag)
    verbs_rate(app, ids, 1)
    ready.put(tag)
    go.wait()
    with app.app_context(), no_pdf():
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            drive_lifecycle(ids)
            done += 1
        results.put((done, time.perf_counter() - start))


def parallel_rate(url: str, workdir: Path, processes: int, seconds: float, run: int) -> float:
    """Lifecycles per second from ``processes`` processes working at once on one PostgreSQL database."""
    # Forked, so the workers start with Resolver already imported; no connection is open to share.
    context = multiprocessing.get_context("fork")
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    workers = [context.Process(target=_parallel_worker,
                               args=(url, str(workdir), f"p{run}-{i}", seconds, ready, go, results))
               for i in range(processes)]
    for worker in workers:
        worker.start()
    try:
        for _ in workers:
            ready.get(timeout=120)
        go.set()
        finished = [results.get(timeout=seconds + 120) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.terminate()
    return sum(done / elapsed for done, elapsed in finished)


def run(quick: bool, workdir: Path) -> list[dict]:
    count, repeats = (1, 1) if quick else (15, 3)
    rows = []
    verbs, floor, same, mismatch, cpu = compare(workdir, "sqlite", sqlite_url(workdir / "sqlite-verbs"),
                                                sqlite_url(workdir / "sqlite-floor"), count, repeats)
    ratio = floor / verbs
    note = f"14 commits a lifecycle; same rows as the verbs: {'yes' if same else 'no'}{mismatch}"
    rows += [
        row(NAME, "SQLite, service verbs", verbs, "lifecycles/s",
            note="median of %d runs of %d; watched, no target (nobody waits on throughput)" % (repeats, count)),
        row(NAME, "SQLite, raw sqlite3 floor", floor, "lifecycles/s", note=note),
        row(NAME, "SQLite, floor / verbs", ratio, "x", better="lower"),
        row(NAME, "SQLite, CPU per lifecycle, verbs", cpu[0], "ms",
            note=f"this process's CPU time (the database is in it too); floor: {cpu[1]:.1f} ms, "
                 f"{cpu[0] / cpu[1]:.0f}x less"),
    ]
    url = postgres_database("lifecycle_verbs")
    floor_url = postgres_database("lifecycle_floor")
    verbs, floor, same, mismatch, cpu = compare(workdir, "pg", url, floor_url, count, repeats)
    ratio = floor / verbs
    rows += [
        row(NAME, "PostgreSQL, service verbs", verbs, "lifecycles/s",
            note="1 process; median of %d runs of %d; watched, no target" % (repeats, count)),
        row(NAME, "PostgreSQL, raw psycopg floor", floor, "lifecycles/s",
            note=f"same rows as the verbs: {'yes' if same else 'no'}{mismatch}"),
        row(NAME, "PostgreSQL, floor / verbs", ratio, "x", better="lower"),
        row(NAME, "PostgreSQL, client CPU per lifecycle, verbs", cpu[0], "ms",
            note=f"this process only, not the server; floor: {cpu[1]:.1f} ms"),
    ]
    seconds = 1.0 if quick else 10.0
    parallel_url = postgres_database("lifecycle_parallel")
    app = make_app(workdir / "pg-parallel", parallel_url)  # makes the tables
    with app.app_context():
        from resolver.extensions import db

        db.engine.dispose()
    ones, twos = [], []
    for attempt in range(1 if quick else 2):
        ones.append(parallel_rate(parallel_url, workdir, 1, seconds, 2 * attempt))
        twos.append(parallel_rate(parallel_url, workdir, 2, seconds, 2 * attempt + 1))
    one, two = median(ones), median(twos)
    rows += [
        row(NAME, "PostgreSQL, 1 process", one, "lifecycles/s", note=f"{seconds:.0f} s of lifecycles"),
        row(NAME, "PostgreSQL, 2 processes", two, "lifecycles/s", note="both at once, one database"),
        row(NAME, "PostgreSQL, 2 processes / 1", two / one, "x", better="higher",
            note="the server shares the machine's 2 cores"),
    ]
    return rows
