"""Item 5: server time of the manager's busiest pages with a million disputes in PostgreSQL.

100 companies share one database; the rows are made with set-based SQL (generate_series), as a
company would have them after a few years: disputes spread over three years (ids grow with time),
most of them closed, the last month's still moving through every state, each with the people,
property and unit it names, its history (audit events), its deadlines (timers), and, where it got
that far, the team's seats and votes, the case packet and the letter. A manager of one company is
signed in through the real sign-in form, and the pages are fetched through the Flask test client:
the time is the server's work for the whole request, rendering included, with nothing cached
between requests but what PostgreSQL keeps.
"""
from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path

from . import common

BENCHMARK = "pages_at_scale"
COMPANIES = 100
PROPERTIES_PER_COMPANY = 10
UNITS_PER_PROPERTY = 200  # 2,000 homes per company; a quick run has a tenth
PASSWORD = "benchmark-password"

# The state of a dispute created in the last month, by its share in thousandths (cumulative bounds).
RECENT_STATES = [
    ("draft", 50), ("awaiting_evidence", 300), ("lapsed", 340), ("evidence_received", 470),
    ("panel_review", 620), ("deadlocked", 640), ("decided", 690), ("outcome_draft", 760),
    ("outcome_sent", 900), ("acknowledged", 940), ("withdrawn", 970), ("closed", 1000),
]
# Older disputes: closed after a letter, closed after lapsing, withdrawn, or referred and closed.
OLD_STATES = [("closed", 880), ("closed_lapsed", 940), ("withdrawn", 980), ("closed_referred", 1000)]


def run(quick: bool, workdir: Path) -> list[dict]:
    disputes = 10_000 if quick else 1_000_000
    repeats = {"dashboard": 15, "dispute page": 30, "reports": 5} if quick else \
        {"dashboard": 60, "dispute page": 120, "reports": 15}
    url = common.postgres_database(f"pages_{uuid.uuid4().hex[:8]}")
    app = common.make_app(workdir / "pages_at_scale", url)
    started = time.perf_counter()
    counts = seed(common.psycopg_dsn(url), disputes, units_per_property=20 if quick else UNITS_PER_PROPERTY)
    seeded_s = time.perf_counter() - started

    load = os.getloadavg()[0]
    timings = measure(app, repeats)
    rows = [common.row(BENCHMARK, "seeding", seeded_s, "s",
                       note=", ".join(f"{n:,} {table}" for table, n in counts.items())
                       + "; " + ", ".join(f"{step} {seconds:.0f} s" for step, seconds in SEED_STEPS.items()))]
    targets = {"dashboard": 50, "dispute page": 50, "reports": 150}
    for page, times in timings.items():
        ms = sorted(t * 1000 for t in times)
        p50 = common.median(ms)
        p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
        cpu = common.median(cpu_times[page]) * 1000
        rows.append(common.row(BENCHMARK, f"{page} p50", p50, "ms",
                               note=f"{len(ms)} requests; median CPU in Resolver's process {cpu:.0f} ms"))
        rows.append(common.row(BENCHMARK, f"{page} p95", p95, "ms", target=f"<= {targets[page]}",
                               met=p95 <= targets[page],
                               note=f"{disputes:,} disputes across {COMPANIES} companies; load average "
                                    f"{load:.1f} as it started"))
    return rows


# Measuring ---------------------------------------------------------------------------------------------

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
cpu_times: dict[str, list[float]] = {}  # this process's CPU time per request, by page, of the last measure()


def measure(app, repeats: dict) -> dict[str, list[float]]:
    """Sign in as the manager of a company in the middle, then time each page ``repeats`` times."""
    from resolver.extensions import db
    from resolver.models import Dispute, StaffUser

    app.config["TESTING"] = False  # errors come back as pages with their status, as in production
    company_id = COMPANIES // 2
    with app.app_context():
        email = db.session.scalar(db.select(StaffUser.email).where(StaffUser.company_id == company_id,
                                                                    StaffUser.role == "manager").limit(1))
        # A spread of the company's disputes: open ones and closed ones, old and recent.
        ids = db.session.scalars(db.select(Dispute.id).where(Dispute.company_id == company_id)
                                 .order_by(Dispute.id)).all()
        db.session.remove()
    step = max(1, len(ids) // repeats["dispute page"])
    sample = ids[::-1][:repeats["dispute page"] // 2] + ids[::step][:repeats["dispute page"] // 2]

    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    answer = client.post("/login", data={"csrf_token": _CSRF.search(page).group(1), "email": email,
                                         "password": PASSWORD})
    if answer.status_code != 302:
        raise RuntimeError(f"the manager could not sign in ({answer.status_code})")

    def fetch(path: str, page: str | None = None) -> float:
        start, cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        response.get_data()
        elapsed = time.perf_counter() - start
        if page:
            cpu_times[page].append(time.process_time() - cpu)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
        return elapsed

    fetch("/")
    fetch("/reports")
    fetch(f"/disputes/{sample[0]}")  # warm: templates compiled, connections open
    timings: dict[str, list[float]] = {"dashboard": [], "dispute page": [], "reports": []}
    cpu_times.clear()
    cpu_times.update({page: [] for page in timings})
    dashboard_paths = ["/", "/?page=2", "/?state=panel_review", "/?state=all&page=3"]
    for n in range(repeats["dashboard"]):
        timings["dashboard"].append(fetch(dashboard_paths[n % len(dashboard_paths)], "dashboard"))
    for dispute_id in sample:
        timings["dispute page"].append(fetch(f"/disputes/{dispute_id}", "dispute page"))
    for _ in range(repeats["reports"]):
        timings["reports"].append(fetch("/reports", "reports"))
    return timings


# Seeding --------------------------------------------------------------------------------------------------

SEED_STEPS: dict[str, float] = {}  # seconds per step of the last seeding, for profiling it


def _state_case(table: list[tuple[str, int]], key: str) -> str:
    whens = " ".join(f"WHEN {key} < {bound} THEN '{state}'" for state, bound in table)
    return f"CASE {whens} END"


def seed(dsn: str, disputes: int, units_per_property: int = UNITS_PER_PROPERTY) -> dict[str, int]:
    """Everything the pages read, for ``disputes`` disputes across COMPANIES companies."""
    import psycopg
    from werkzeug.security import generate_password_hash

    password_hash = generate_password_hash(PASSWORD, method="scrypt")
    steps = SEED_STEPS
    steps.clear()
    units = COMPANIES * PROPERTIES_PER_COMPANY * units_per_property
    with psycopg.connect(dsn, autocommit=True) as connection:
        run_sql = connection.execute
        run_sql("SET synchronous_commit = off")
        # The rows are made consistent by construction: no per-row foreign-key trigger while loading
        # (the throw-away server's user is its superuser).
        run_sql("SET session_replication_role = replica")
        run_sql("SET maintenance_work_mem = '256MB'")
        run_sql("SET work_mem = '64MB'")
        run_sql("""
            INSERT INTO company (id, name, slug, time_zone, evidence_window_days, reply_window_days,
                panel_window_days, follow_up_days, offer_valid_days, is_business_days, holidays, panel_size,
                is_panel_anonymous, token_cap_cents, concession_cap_cents, supervisor_name, supervisor_email,
                supervisor_phone, home_office_phone, contact_email, contact_phone, mediation_service_name,
                mediation_service_contact, max_file_bytes, max_dispute_bytes, max_files, created_dt)
            SELECT c, 'Property Company ' || c, 'company-' || c,
                (ARRAY['America/Denver', 'America/New_York', 'America/Chicago', 'America/Los_Angeles'])[c %% 4 + 1],
                5, 7, 3, 7, 30, false, '[]'::json, 3, true, 5000, 50000, 'Sam Supervisor',
                'supervisor' || c || '@company' || c || '.test', '303-555-0100', '303-555-0199',
                'office@company' || c || '.test', '303-555-0123', 'Front Range Tenant-Landlord Mediation',
                'mediation.test, 303-555-0150', 10485760, 52428800, 20, now() - interval '4 years'
            FROM generate_series(1, %(companies)s) AS c
        """, {"companies": COMPANIES})
        # Four managers and a supervisor per company.
        run_sql("""
            INSERT INTO staff_user (id, company_id, email, name, role, password_hash, is_active, created_dt)
            SELECT (c - 1) * 5 + s, c, (CASE WHEN s = 5 THEN 'supervisor' ELSE 'manager' || s END)
                   || '@company' || c || '.test',
                (ARRAY['Morgan Reyes', 'Jordan Blake', 'Casey Ortiz', 'Riley Chen', 'Sam Supervisor'])[s],
                CASE WHEN s = 5 THEN 'supervisor' ELSE 'manager' END, %(hash)s, true, now() - interval '4 years'
            FROM generate_series(1, %(companies)s) AS c, generate_series(1, 5) AS s
        """, {"companies": COMPANIES, "hash": password_hash})
        run_sql("""
            INSERT INTO property (id, company_id, name, address, portfolio, external_id)
            SELECT (c - 1) * %(per)s + p, c, (ARRAY['Willow Court', 'Aspen Ridge', 'Cedar Commons', 'Maple House',
                   'Birch Gardens', 'Elm Terrace', 'Pine Lofts', 'Oak Crossing', 'Spruce Place', 'Juniper Flats'])
                   [(p - 1) %% 10 + 1] || ' ' || p, p || ' Main Street', CASE WHEN p %% 2 = 0 THEN 'North' ELSE 'South' END, ''
            FROM generate_series(1, %(companies)s) AS c, generate_series(1, %(per)s) AS p
        """, {"companies": COMPANIES, "per": PROPERTIES_PER_COMPANY})
        run_sql("""
            INSERT INTO unit (id, property_id, label)
            SELECT u, (u - 1) / %(per)s + 1, ((u - 1) %% %(per)s) / 10 + 1 || chr(65 + (u - 1) %% 10)
            FROM generate_series(1, %(units)s) AS u
        """, {"units": units, "per": units_per_property})
        # One resident per unit; unit u belongs to company (u - 1) / units-per-company + 1.
        run_sql("""
            INSERT INTO resident (id, company_id, unit_id, name, email, phone, preferred_language, external_id)
            SELECT u, (u - 1) / %(per_company)s + 1, u,
                (ARRAY['Tammy', 'Luis', 'Priya', 'Grace', 'Omar', 'Hannah', 'Wei', 'Marcus', 'Elena', 'Dev'])[u %% 10 + 1]
                || ' ' || (ARRAY['Rivera', 'Nguyen', 'Okafor', 'Smith', 'Kowalski', 'Haddad', 'Larsen', 'Mbeki'])
                [u %% 8 + 1], 'resident' || u || '@mail.test', '303-555-0142', 'en', ''
            FROM generate_series(1, %(units)s) AS u
        """, {"units": units, "per_company": PROPERTIES_PER_COMPANY * units_per_property})
        run_sql("""
            INSERT INTO panel_member (id, company_id, name, email, organisation, excluded_property_ids,
                excluded_portfolios, is_reserve, is_active)
            SELECT (c - 1) * 6 + m, c, 'Panelist ' || m, 'panelist' || m || '@peers' || c || '.test',
                'Peer Management ' || m, '[]'::json, '[]'::json, m = 6, true
            FROM generate_series(1, %(companies)s) AS c, generate_series(1, 6) AS m
        """, {"companies": COMPANIES})

        # Disputes: id n was written up at a time growing with n over three years; the last month's
        # are in every state, the older ones finished.
        recent = _state_case(RECENT_STATES, "h")
        old = _state_case(OLD_STATES, "h")
        run_sql(f"""
            CREATE TEMPORARY TABLE plan AS
            SELECT n, c AS company_id, created, h,
                   CASE WHEN created > now() - interval '30 days' THEN {recent} ELSE {old} END AS path,
                   (c - 1) * 5 + 1 + (n %% 4) AS manager_id,
                   (c - 1) * %(per_company)s + 1 + (n::bigint * 7919) %% %(per_company)s AS resident_id
            FROM (
                SELECT n, n %% %(companies)s + 1 AS c, (n::bigint * 2654435761) %% 1000 AS h,
                       now() - interval '1095 days' * (1 - n::float / %(total)s) - interval '1 hour' AS created
                FROM generate_series(1, %(total)s) AS n
            ) AS base
        """, {"total": disputes, "companies": COMPANIES, "per_company": PROPERTIES_PER_COMPANY * units_per_property})
        started = time.perf_counter()
        run_sql(_DISPUTES_SQL)
        run_sql("DROP TABLE plan")
        steps["dispute"] = time.perf_counter() - started
        # The history on one connection, the rest on another: the machine's two cores both load.
        _in_parallel(dsn, steps, [[("audit_event", _HISTORY_SQL)],
                                  [("panel", _PANEL_SQL), ("timer", _TIMERS_SQL), ("letter", _LETTERS_SQL)]])
        for table in ("company", "staff_user", "property", "unit", "resident", "panel_member", "dispute",
                      "audit_event", "timer", "case_packet", "panel_seat", "vote", "letter"):
            run_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        # As autovacuum would have left them: statistics, and the visibility map for index-only scans.
        _in_parallel(dsn, steps, [[("vacuum history", "VACUUM ANALYZE audit_event")],
                                  [("vacuum the rest", "VACUUM ANALYZE"
                                    " dispute, timer, case_packet, panel_seat, vote, letter, resident, unit,"
                                    " property, staff_user, panel_member, company")]])
        counts = {}
        for table in ("dispute", "audit_event", "timer", "panel_seat", "vote", "letter", "resident", "unit"):
            counts[table] = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return counts


def _in_parallel(dsn: str, steps: dict, lanes: list[list[tuple[str, str]]]) -> None:
    """Each lane's statements in order on a connection of its own, the lanes at the same time."""
    import psycopg
    from concurrent.futures import ThreadPoolExecutor

    def run_lane(lane):
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute("SET synchronous_commit = off")
            connection.execute("SET session_replication_role = replica")
            connection.execute("SET maintenance_work_mem = '256MB'")
            for name, sql in lane:
                started = time.perf_counter()
                connection.execute(sql)
                steps[name] = steps.get(name, 0) + time.perf_counter() - started

    with ThreadPoolExecutor(len(lanes)) as pool:
        list(pool.map(run_lane, lanes))


# Each dispute's dates follow from when it was written up; which of them are set follows from its path.
_DISPUTES_SQL = """
INSERT INTO dispute (id, company_id, manager_id, resident_id, unit_id, state, version, category, issue,
    what_was_fixed, company_position, created_dt, opened_dt, evidence_due_dt, lapsed_dt, evidence_received_dt,
    reply_due_dt, reply_breached_dt, panel_opened_dt, panel_due_dt, panel_closed_dt, decision, decided_by,
    decision_note, decided_dt, outcome_sent_dt, follow_up_due_dt, followed_up_dt, acknowledged_dt, referred_dt,
    withdrawn_dt, closed_dt, close_reason)
SELECT n, company_id, manager_id, resident_id, resident_id,
    CASE WHEN path LIKE 'closed%' THEN 'closed' ELSE path END,
    3,
    (ARRAY['security deposit', 'repairs', 'noise', 'rent and fees', 'move-out charges', 'parking'])[h % 6 + 1],
    'The resident says the ' || (ARRAY['carpet-cleaning charge', 'late fee', 'repair bill', 'parking fine'])[h % 4 + 1]
        || ' is unfair (case ' || n || ').',
    'We re-inspected and corrected what we found.', 'The charge follows the lease.',
    created,
    CASE WHEN path != 'draft' THEN created + interval '1 hour' END,
    CASE WHEN path != 'draft' THEN created + interval '5 days 1 hour' END,
    CASE WHEN path IN ('lapsed', 'closed_lapsed') THEN created + interval '5 days 1 hour 1 minute' END,
    CASE WHEN has_evidence THEN created + interval '2 days' END,
    CASE WHEN has_evidence THEN created + interval '9 days' END,
    CASE WHEN has_evidence AND h % 31 = 0 THEN created + interval '9 days' END,
    CASE WHEN has_panel THEN created + interval '3 days' END,
    CASE WHEN has_panel THEN created + interval '6 days' END,
    CASE WHEN has_decision OR path = 'deadlocked' THEN created + interval '5 days' END,
    CASE WHEN has_decision THEN (ARRAY['uphold', 'uphold', 'compromise', 'resident', 'uphold'])[h % 5 + 1] END,
    CASE WHEN has_decision THEN 'panel' END,
    '',
    CASE WHEN has_decision THEN created + interval '5 days' END,
    CASE WHEN has_letter THEN created + interval '7 days' + interval '1 hour' * (h % 72) END,
    CASE WHEN has_letter THEN created + interval '14 days' END,
    NULL,
    CASE WHEN path IN ('acknowledged', 'closed') THEN created + interval '9 days' END,
    CASE WHEN path = 'closed_referred' THEN created + interval '20 days' END,
    CASE WHEN path = 'withdrawn' THEN created + interval '3 days' END,
    CASE WHEN path LIKE 'closed%' THEN created + interval '25 days' END,
    CASE WHEN path LIKE 'closed%' THEN 'Resolved.' ELSE '' END
FROM (
    SELECT *,
        path NOT IN ('draft', 'awaiting_evidence', 'lapsed', 'closed_lapsed', 'withdrawn') AS has_evidence,
        path NOT IN ('draft', 'awaiting_evidence', 'lapsed', 'closed_lapsed', 'withdrawn', 'evidence_received')
            AS has_panel,
        path IN ('decided', 'outcome_draft', 'outcome_sent', 'acknowledged', 'closed', 'closed_referred')
            AS has_decision,
        path IN ('outcome_sent', 'acknowledged', 'closed', 'closed_referred') AS has_letter
    FROM plan
) AS p
"""

# The history: one event per step the dispute took, in order, a few hours apart (each with a stand-in
# hash: the pages never check the chain, ``resolver verify-history`` does).
_HISTORY_SQL = """
INSERT INTO audit_event (dispute_id, occurred_dt, actor_kind, actor_id, actor_label, action, from_state, to_state,
    reason, data, position, hash)
SELECT d.id, d.created_dt + interval '7 hours' * step.n,
    CASE WHEN step.action IN ('submit_evidence', 'acknowledge') THEN 'resident'
         WHEN step.action = 'vote' THEN 'panel'
         WHEN step.action IN ('decide', 'lapse') THEN 'system' ELSE 'staff' END,
    d.manager_id, 'Morgan Reyes', step.action, step.from_state, step.to_state, '', '{}'::json,
    step.n, md5(d.id || ':' || step.n) || md5(step.n || ':' || d.id)
FROM dispute AS d
JOIN LATERAL (
    SELECT n, action, from_state, to_state FROM (VALUES
        (1, 'create', NULL, 'draft'),
        (2, 'open', 'draft', 'awaiting_evidence'),
        (3, 'submit_evidence', 'awaiting_evidence', 'evidence_received'),
        (4, 'seat_panel', NULL, NULL),
        (5, 'send_to_panel', 'evidence_received', 'panel_review'),
        (6, 'vote', NULL, NULL),
        (7, 'vote', NULL, NULL),
        (8, 'decide', 'panel_review', 'decided'),
        (9, 'draft_outcome', 'decided', 'outcome_draft'),
        (10, 'send_outcome', 'outcome_draft', 'outcome_sent'),
        (11, 'acknowledge', 'outcome_sent', 'acknowledged'),
        (12, 'close', 'acknowledged', 'closed')
    ) AS path(n, action, from_state, to_state)
    WHERE n <= CASE d.state
        WHEN 'draft' THEN 1 WHEN 'awaiting_evidence' THEN 2 WHEN 'lapsed' THEN 2 WHEN 'withdrawn' THEN 2
        WHEN 'evidence_received' THEN 3 WHEN 'panel_review' THEN 6 WHEN 'deadlocked' THEN 7 WHEN 'decided' THEN 8
        WHEN 'outcome_draft' THEN 9 WHEN 'outcome_sent' THEN 10 WHEN 'acknowledged' THEN 11
        ELSE CASE WHEN d.lapsed_dt IS NOT NULL THEN 2 ELSE 12 END END
) AS step ON true
"""

# Deadlines: the evidence window's and the reply's, fired or cancelled once passed, pending while running.
_TIMERS_SQL = """
INSERT INTO timer (dispute_id, "window", kind, due_dt, status, fired_dt, outcome, created_dt)
SELECT id, 'evidence', 'evidence:due', evidence_due_dt,
    CASE WHEN state = 'awaiting_evidence' THEN 'pending' WHEN lapsed_dt IS NOT NULL THEN 'fired' ELSE 'cancelled' END,
    lapsed_dt, '', opened_dt
FROM dispute WHERE opened_dt IS NOT NULL
UNION ALL
SELECT id, 'reply', 'reply:due', reply_due_dt,
    CASE WHEN state IN ('evidence_received', 'panel_review', 'deadlocked', 'decided', 'outcome_draft') THEN 'pending'
         WHEN reply_breached_dt IS NOT NULL THEN 'fired' ELSE 'cancelled' END,
    reply_breached_dt, '', evidence_received_dt
FROM dispute WHERE reply_due_dt IS NOT NULL
"""

# The team: a packet and three seats per dispute that reached the panel; votes from every seat once
# decided, from the first seat while still reviewing.
_PANEL_SQL = """
INSERT INTO case_packet (id, dispute_id, version, frozen_dt, content, sha256)
SELECT id, id, 1, panel_opened_dt, '{"issue": "as the resident put it"}'::json, md5(id::text) || md5(id::text)
FROM dispute WHERE panel_opened_dt IS NOT NULL;

INSERT INTO panel_seat (id, dispute_id, panel_member_id, is_chair, seated_dt, invited_dt, recused_dt, recusal_reason,
    conflict_note)
SELECT d.id * 3 + s, d.id, (d.company_id - 1) * 6 + 1 + (d.id + s) % 5, s = 0, d.panel_opened_dt, d.panel_opened_dt,
    NULL, '', ''
FROM dispute AS d, generate_series(0, 2) AS s WHERE d.panel_opened_dt IS NOT NULL;

INSERT INTO vote (id, seat_id, dispute_id, packet_id, choice, reason, token_kind, token_cents, concession_cents,
    item_choices, cast_dt, changed_dt, revision)
SELECT seat.id, seat.id, d.id, d.id, COALESCE(d.decision, 'uphold'), 'The photos and the inspection report.',
    '', NULL, NULL, '{}'::json, d.panel_opened_dt + interval '1 hour' * (1 + seat.id % 40),
    d.panel_opened_dt + interval '1 hour' * (1 + seat.id % 40), 1
FROM panel_seat AS seat JOIN dispute AS d ON d.id = seat.dispute_id
WHERE d.state != 'panel_review' OR seat.id % 3 = 0;
"""

_LETTERS_SQL = """
INSERT INTO letter (id, dispute_id, version, status, subject, body_html, body_text, token_kind, token_cents,
    concession_cents, offer_expires_dt, tone_flags, tone_override_reason, draft_notes, pdf_sha256, created_dt,
    approved_by_id, approved_dt, sent_dt)
SELECT id, id, 1, CASE WHEN outcome_sent_dt IS NULL THEN 'draft' ELSE 'sent' END, 'Your dispute: our answer',
    '<p>Dear resident, thank you for your patience.</p>', 'Dear resident, thank you for your patience.',
    CASE WHEN id % 4 = 0 THEN 'coffee-shop gift card' ELSE '' END, CASE WHEN id % 4 = 0 THEN 2500 END,
    CASE WHEN id % 7 = 0 THEN 7500 END, NULL, '[]'::json, '', '[]'::json,
    CASE WHEN outcome_sent_dt IS NOT NULL THEN md5(id::text) || md5(id::text) END, decided_dt,
    CASE WHEN outcome_sent_dt IS NOT NULL THEN manager_id END, outcome_sent_dt, outcome_sent_dt
FROM dispute WHERE state = 'outcome_draft' OR outcome_sent_dt IS NOT NULL
"""
