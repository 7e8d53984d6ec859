"""Deadline sweep: finding and claiming the due timers among many open disputes.

Each size is N disputes waiting for the resident's side, each with its two timers (the deadline and
the reminder before it); 1 % of them are past their deadline (their reminder already fired), so N/100
timers are due among about 2N pending, their moments spread over an hour (as real deadlines are; all
at one moment would make PostgreSQL sort every due row to pick the first 500). The rows are made
with set-based SQL, not the ORM.

Measured, each the median of repeats on the same rows (a claim is rolled back, so the next repeat
finds the same work; on PostgreSQL the table is vacuumed after each rolled-back claim, as autovacuum
would between sweeps, so a repeat does not wade through the row versions the earlier ones left: a
real sweep claims each row once):
- find: Resolver's ``due_timers`` (the sweep's own query, a batch of 500, loaded as objects); on
  PostgreSQL it also locks them (``FOR UPDATE SKIP LOCKED``), which is the claim there.
- find, SQL only: the same query through the plain driver: the database's share.
- claim 500 (PostgreSQL): the sweep's claim statement (``resolver.deadlines.CLAIM_POSTGRESQL``: lock
  the batch with SKIP LOCKED and mark it fired, one UPDATE), through the plain driver, and through
  Resolver (``claim_due_timers``), each rolled back.
- sweep's own claim: ``sweep_deadlines`` of one batch with the timers' work replaced by nothing,
  so what is left is its claiming and the outcome it records per timer, each in a savepoint.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .common import make_app, median, postgres_database, psycopg_dsn, row, sqlite_url

NAME = "deadline_sweep"
BATCH = 500
CLAIM_REPEATS = 11  # each followed by a VACUUM of the timer table
NOW = datetime(2026, 3, 9, 16, 0, tzinfo=timezone.utc)
PAST, FUTURE = NOW - timedelta(hours=1), NOW + timedelta(days=3)
EARLIER, LATER = NOW - timedelta(days=2), NOW + timedelta(days=1)  # the reminders, 2 days before


def _sqlite_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", timespec="microseconds")


def seed_sqlite(path: str, disputes: int, due_every: int = 100) -> None:
    import sqlite3

    connection = sqlite3.connect(path)
    t = {name: _sqlite_time(value) for name, value in
         {"now": NOW, "past": PAST, "future": FUTURE, "earlier": EARLIER,
                                      "later": LATER}.items()}
    with connection:
        _people(connection, "?", t["now"])
        connection.execute(
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?) "
            "INSERT INTO dispute (id, company_id, manager_id, resident_id, state, version, category, issue, "
            "what_was_fixed, company_position, created_dt, opened_dt, evidence_due_dt, decision_note, close_reason) "
            "SELECT x, 1, 1, 1, 'awaiting_evidence', 2, '', 'A charge', '', '', ?, ?, "
            "strftime('%Y-%m-%d %H:%M:%S', CASE WHEN x % ? = 0 THEN ? ELSE ? END, "
            "'-' || (x % 3600) || ' seconds') || '.000000', '', '' FROM n",
            (disputes, t["now"], t["now"], due_every, t["past"], t["future"]))
        connection.execute(
            "INSERT INTO timer (dispute_id, \"window\", kind, due_dt, status, outcome, created_dt) "
            "SELECT id, 'evidence', 'evidence:due', evidence_due_dt, 'pending', '', created_dt FROM dispute")
        connection.execute(
            "INSERT INTO timer (dispute_id, \"window\", kind, due_dt, status, fired_dt, outcome, created_dt) "
            "SELECT id, 'evidence', 'evidence:remind:0', CASE WHEN id % ? = 0 THEN ? ELSE ? END, "
            "CASE WHEN id % ? = 0 THEN 'fired' ELSE 'pending' END, CASE WHEN id % ? = 0 THEN ? END, '', "
            "created_dt FROM dispute", (due_every, t["earlier"], t["later"], due_every, due_every, t["earlier"]))
    connection.execute("ANALYZE")
    connection.close()


def seed_postgres(dsn: str, disputes: int) -> None:
    import psycopg

    with psycopg.connect(dsn) as connection:
        _people(connection, "%s", NOW)
        connection.execute(
            "INSERT INTO dispute (id, company_id, manager_id, resident_id, state, version, category, issue, "
            "what_was_fixed, company_position, created_dt, opened_dt, evidence_due_dt, decision_note, close_reason) "
            "SELECT x, 1, 1, 1, 'awaiting_evidence', 2, '', 'A charge', '', '', %(now)s, %(now)s, "
            "CASE WHEN x %% 100 = 0 THEN %(past)s::timestamptz ELSE %(future)s::timestamptz END "
            "- (x %% 3600) * interval '1 second', '', '' FROM generate_series(1, %(n)s) AS x",
            {"n": disputes, "now": NOW, "past": PAST, "future": FUTURE})
        connection.execute("SELECT setval(pg_get_serial_sequence('dispute', 'id'), %s)", (disputes,))
        connection.execute(
            "INSERT INTO timer (dispute_id, \"window\", kind, due_dt, status, outcome, created_dt) "
            "SELECT id, 'evidence', 'evidence:due', evidence_due_dt, 'pending', '', created_dt FROM dispute")
        connection.execute(
            "INSERT INTO timer (dispute_id, \"window\", kind, due_dt, status, fired_dt, outcome, created_dt) "
            "SELECT id, 'evidence', 'evidence:remind:0', "
            "CASE WHEN id %% 100 = 0 THEN %(earlier)s::timestamptz ELSE %(later)s::timestamptz END, "
            "CASE WHEN id %% 100 = 0 THEN 'fired' ELSE 'pending' END, "
            "CASE WHEN id %% 100 = 0 THEN %(earlier)s::timestamptz END, '', created_dt FROM dispute",
            {"earlier": EARLIER, "later": LATER})
        connection.commit()
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def _people(connection, marker: str, now) -> None:
    m = marker
    connection.execute(
        f"INSERT INTO company (id, name, slug, time_zone, evidence_window_days, reply_window_days, panel_window_days, "
        f"follow_up_days, offer_valid_days, is_business_days, holidays, panel_size, is_panel_anonymous, "
        f"token_cap_cents, concession_cap_cents, supervisor_name, supervisor_email, supervisor_phone, "
        f"home_office_phone, contact_email, contact_phone, mediation_service_name, mediation_service_contact, "
        f"max_file_bytes, max_dispute_bytes, max_files, created_dt) VALUES (1, 'Scale Co', 'scale', "
        f"'America/Denver', 5, 7, 3, 7, 30, false, '[]', 3, true, 5000, 50000, '', '', '', '', '', '', '', '', "
        f"10485760, 52428800, 20, {m})", (now,))
    connection.execute(
        f"INSERT INTO staff_user (id, company_id, email, name, role, password_hash, is_active, created_dt) "
        f"VALUES (1, 1, 'm@scale.test', 'Mo Manager', 'manager', '', true, {m})", (now,))
    connection.execute("INSERT INTO resident (id, company_id, name, email, phone, preferred_language, external_id) "
                       "VALUES (1, 1, 'Rae Resident', 'rae@mail.test', '', 'en', '')")


FIND_SQL = ("SELECT id, dispute_id, \"window\", kind FROM timer WHERE status = 'pending' AND due_dt <= {m} "
            "ORDER BY due_dt, id LIMIT {n}")


def _plain_claim_sql() -> str:
    """The sweep's own claim statement, as psycopg takes it."""
    from sqlalchemy.dialects import postgresql

    from resolver.deadlines import CLAIM_POSTGRESQL

    return str(CLAIM_POSTGRESQL.compile(dialect=postgresql.psycopg.dialect()))


def _vacuum_timers(url: str) -> None:
    import psycopg

    with psycopg.connect(psycopg_dsn(url), autocommit=True) as connection:
        connection.execute("VACUUM timer")


def measure(app, url: str, dialect: str, repeats: int, batch: int) -> dict:
    """Medians in milliseconds: find (Resolver), find (SQL), claim (PostgreSQL), the sweep's own claim."""
    from resolver import deadlines
    from resolver.extensions import db
    from resolver.models import Timer

    def timed_batch(take, after, repeats: int) -> float:
        """Median milliseconds of ``take()`` (which must return the batch) after one warm-up."""
        times = []
        for _ in range(repeats + 1):
            start = time.perf_counter()
            rows = take()
            times.append(time.perf_counter() - start)
            if len(rows) != batch:
                raise RuntimeError(f"got {len(rows)} due timers, not {batch}")
            db.session.rollback()
            after()
        return median(times[1:]) * 1000

    out: dict[str, float] = {}
    with app.app_context():
        out["find"] = timed_batch(lambda: deadlines.due_timers(NOW, batch), db.session.expunge_all, repeats)
    claim_repeats = min(repeats, CLAIM_REPEATS)
    if dialect == "postgresql":  # the claim as the sweep makes it, through Resolver
        with app.app_context():
            out["claim_resolver"] = timed_batch(lambda: deadlines.claim_due_timers(NOW, batch),
                                                lambda: _vacuum_timers(url), claim_repeats)

    if dialect == "sqlite":
        import sqlite3

        connection = sqlite3.connect(url.removeprefix("sqlite:///"))
        marker, now = "?", _sqlite_time(NOW)
    else:
        import psycopg

        connection = psycopg.connect(psycopg_dsn(url))
        marker, now = "%s", NOW
    find = FIND_SQL.format(m=marker, n=batch)
    claim = _plain_claim_sql()
    try:
        times, claims = [], []
        for _ in range(repeats + 1):
            start = time.perf_counter()
            connection.execute(find, (now,)).fetchall()
            times.append(time.perf_counter() - start)
            connection.rollback()
            if dialect == "postgresql" and len(claims) <= claim_repeats:
                start = time.perf_counter()
                claimed = connection.execute(claim, {"now": now, "limit": batch}).fetchall()
                claims.append(time.perf_counter() - start)
                connection.rollback()
                if len(claimed) != batch:
                    raise RuntimeError(f"claimed {len(claimed)} due timers, not {batch}")
                _vacuum_timers(url)
        out["find_sql"] = median(times[1:]) * 1000
        if claims:
            out["claim"] = median(claims[1:]) * 1000
    finally:
        connection.close()

    # The sweep as Resolver runs it, with nothing for the timers to do: its claiming, per timer.
    real_fire = deadlines.fire_timer
    deadlines.fire_timer = lambda timer, now: "measured"
    try:
        sweeps = []
        for _ in range(max(2, repeats // 6) + 1):
            with app.app_context():
                start = time.perf_counter()
                fired = deadlines.sweep_deadlines(limit=batch, now=NOW)
                sweeps.append(time.perf_counter() - start)
                if fired != batch:
                    raise RuntimeError(f"the sweep fired {fired}, not {batch}")
                db.session.execute(db.update(Timer).where(Timer.outcome == "measured")
                                   .values(status="pending", fired_dt=None, outcome=""))
                db.session.commit()
        out["sweep_claim"] = median(sweeps[1:]) * 1000
    finally:
        deadlines.fire_timer = real_fire
    with app.app_context():
        db.engine.dispose()
    return out


def run(quick: bool, workdir: Path) -> list[dict]:
    sizes = (5_000,) if quick else (100_000, 1_000_000)
    repeats = 3 if quick else 31
    rows = []
    for dialect in ("sqlite", "postgresql"):
        label = "SQLite" if dialect == "sqlite" else "PostgreSQL"
        for size in sizes:
            name = f"{dialect}-{size}"
            if dialect == "sqlite":
                url = sqlite_url(workdir / name)
            else:
                url = postgres_database(f"sweep_{size}")
            app = make_app(workdir / name, url)
            start = time.perf_counter()
            if dialect == "sqlite":
                seed_sqlite(url.removeprefix("sqlite:///"), size)
            else:
                seed_postgres(psycopg_dsn(url), size)
            seeded = time.perf_counter() - start
            batch = min(BATCH, size // 100)
            figures = measure(app, url, dialect, repeats, batch)
            is_big = size == sizes[-1]
            scale = f"{size:,} open disputes, {size // 100:,} due"
            rows.append(row(NAME, f"{label} {size:,}: find {batch} due (due_timers)", figures["find"], "ms",
                            target="<= 10" if is_big else None, met=figures["find"] <= 10 if is_big else None,
                            note=f"{scale}; seeded in {seeded:.0f} s"))
            rows.append(row(NAME, f"{label} {size:,}: find {batch} due, SQL only", figures["find_sql"], "ms",
                            note="the same columns through the plain driver"))
            if "claim" in figures:
                rows.append(row(NAME, f"{label} {size:,}: claim {batch} (lock + mark fired)", figures["claim"], "ms",
                                target="<= 5" if is_big else None, met=figures["claim"] <= 5 if is_big else None,
                                note="the sweep's statement: one UPDATE of the rows a FOR UPDATE SKIP LOCKED "
                                     "subquery locked; plain driver"))
                rows.append(row(NAME, f"{label} {size:,}: claim {batch} (claim_due_timers)", figures["claim_resolver"],
                                "ms", note="the same statement through Resolver, as sweep_deadlines claims"))
            rows.append(row(NAME, f"{label} {size:,}: sweep's own claim of {batch}", figures["sweep_claim"], "ms",
                            note="sweep_deadlines with the timers' work replaced by nothing"))
    return rows
