"""Item 4: the real vote POST under load, beside a hello-world Flask app on the same server.

Both apps run under gunicorn with deploy/gunicorn.conf.py (2 workers, its threads), Resolver on a
throw-away PostgreSQL server, and wrk drives each one on loopback for a fixed time.

What is measured is a team member changing their vote, as they may until the panel closes: each
request is a POST of the vote form to /p/v/<token> with the page's CSRF token and the session
cookie the member's own GET of the page gave them. Every request is a real change: the link's use
is logged, the vote row gets a new revision, the revision is kept, an audit event is written and
the team's count is taken again, all committed; the answer is the 303 back to the page (wrk does
not follow it). wrk rotates through the links of many seats on many disputes. Each dispute has a
team of five of whom four vote (one for each choice and one more for the company) and one never
does, so no count can settle and close the panel in the middle of the run.

Each request's reason names its run (the warm-up, the measured one) and its number in it, so no
request repeats an earlier one: Resolver records a vote sent again unchanged (a reload, a double
press) once, by design, and when both runs sent the same bodies the measured run's first requests
(as many as the warm-up sent) were answered 303 and wrote nothing. After the run, wrk's answers are
counted by status and the 303s set beside the revisions written to the database.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import common

BENCHMARK = "vote_load"
WORKERS = 2
CONNECTIONS = 8  # two per server thread (2 workers x 2 threads): each one always has the next request waiting
CHOICES = ("uphold", "resident", "compromise", "uphold")  # four voters of five: never settled

# Shared by both scripts: every answer counted by its status, and the totals written as one JSON line.
COUNT_SCRIPT = r"""
local threads = {}
statuses = {}

function setup(thread)
  thread:set("offset", #threads * 7919)
  threads[#threads + 1] = thread
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do counts[status] = (counts[status] or 0) + count end
  end
  local by_status = {}
  for status, count in pairs(counts) do by_status[#by_status + 1] = string.format('"%d": %d', status, count) end
  io.write(string.format(
    'WRK-RESULT {"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "mean_us": %f, "statuses": {%s}}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, table.concat(by_status, ", ")))
end
"""

VOTE_SCRIPT = COUNT_SCRIPT + r"""
-- Rotates through the vote links in TARGETS, one line each: path, cookie, csrf token, choice.
local targets = {}
for line in io.lines(os.getenv("TARGETS")) do
  local path, cookie, csrf, choice = line:match("([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]+)")
  targets[#targets + 1] = {path = path, cookie = cookie, csrf = csrf, choice = choice}
end
local counter = 0
local run = os.getenv("RUN"):gsub(" ", "+")

function init(args)
  counter = offset or 0
end

function request()
  counter = counter + 1
  local t = targets[(counter % #targets) + 1]
  local body = "csrf_token=" .. t.csrf .. "&choice=" .. t.choice ..
    "&reason=Having+read+both+sides+again%2C+" .. run .. "+revision+" .. counter ..
    "&token_kind=&token_amount=&concession_amount="
  return wrk.format("POST", t.path, {
    ["Cookie"] = t.cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end
"""

HELLO_SCRIPT = COUNT_SCRIPT


def run(quick: bool, workdir: Path) -> list[dict]:
    if shutil.which("wrk") is None:
        return [common.row(BENCHMARK, "skipped", 0, "", note="wrk is not installed (Debian package wrk)")]
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        return [common.row(BENCHMARK, "skipped", 0, "", note="gunicorn is not installed (the production extra)")]
    workdir = workdir / "vote_load"
    workdir.mkdir(parents=True, exist_ok=True)
    disputes = 20 if quick else 250
    duration = 3 if quick else 15

    url = common.postgres_database(f"vote_load_{uuid.uuid4().hex[:8]}")
    app = common.make_app(workdir, url)
    with app.app_context():
        links = seed_open_panels(disputes)
    env = {
        **os.environ,
        "RESOLVER_DATABASE_URL": url,
        "RESOLVER_SECRET_KEY": app.config["SECRET_KEY"],
        "RESOLVER_INSTANCE_PATH": str(workdir / "instance"),
        "RESOLVER_PUBLIC_BASE_URL": "http://resolver.bench",
        "RESOLVER_WEB_WORKERS": str(WORKERS),
        "RESOLVER_LOG_LEVEL": "INFO",
    }

    hello = _serve("bench.hello_app:app", env, workdir / "hello.log")
    try:
        _wrk(hello.port, "/", HELLO_SCRIPT, workdir / "hello.lua", 1, {})  # warm-up
        cpu = _cpu_seconds(_children(hello.process.pid))
        hello_result = _wrk(hello.port, "/", HELLO_SCRIPT, workdir / "hello.lua", duration, {})
        hello_cpu = _cpu_seconds(_children(hello.process.pid)) - cpu
    finally:
        hello.stop()

    server = _serve("wsgi:app", env, workdir / "resolver.log")
    try:
        targets = _open_pages(server.port, links)
        (workdir / "targets.tsv").write_text("".join("\t".join(t) + "\n" for t in targets))
        targets_file = {"TARGETS": str(workdir / "targets.tsv")}
        # Every worker connected before the measured run.
        _wrk(server.port, "/", VOTE_SCRIPT, workdir / "vote.lua", 1, {**targets_file, "RUN": "warm-up"})
        database = _postgres_processes()
        app_cpu, db_cpu = _cpu_seconds(_children(server.process.pid)), _cpu_seconds(database)
        load = os.getloadavg()[0]
        vote = _wrk(server.port, "/", VOTE_SCRIPT, workdir / "vote.lua", duration,
                    {**targets_file, "RUN": "measured"})
        app_cpu = _cpu_seconds(_children(server.process.pid)) - app_cpu
        db_cpu = _cpu_seconds(database) - db_cpu
    finally:
        server.stop()  # lets the requests still in the server when wrk stopped finish
    recorded = _revisions(app, run="measured")

    rate = vote["requests"] / (vote["duration_us"] / 1e6)
    hello_rate = hello_result["requests"] / (hello_result["duration_us"] / 1e6)
    p50, p99 = vote["p50_us"] / 1000, vote["p99_us"] / 1000
    setup = (f"gunicorn {WORKERS} workers x 2 threads (deploy/gunicorn.conf.py), PostgreSQL, wrk 1 thread "
             f"{CONNECTIONS} connections {duration} s on loopback; {len(targets)} vote links on {disputes} disputes")
    # Up to one request per connection is still in the server when the run ends: written, never seen answered.
    # A 303 is a vote changed; anything else (a 429 when a seat has sent its 10 a minute) changed nothing.
    changed = vote["statuses"].get("303", 0)
    by_status = ", ".join(f"{count} x {status}" for status, count in sorted(vote["statuses"].items()))
    check = (f"{vote['requests']} answered ({by_status}; {vote['socket_errors']} socket errors); "
             f"{recorded} vote revisions written for the {changed} 303s"
             + ("" if 0 <= recorded - changed <= CONNECTIONS else " (MISMATCH)"))
    app_ms = 1000 * app_cpu / max(1, vote["requests"])
    db_ms = 1000 * db_cpu / max(1, vote["requests"])
    hello_ms = 1000 * hello_cpu / max(1, hello_result["requests"])
    cores = os.cpu_count() or 1
    return [
        common.row(BENCHMARK, "vote POST rate", rate, "req/s",
                   note=f"{setup}; load average {load:.1f} on {cores} cores as it started; watched, no target"),
        common.row(BENCHMARK, "vote POST p50", p50, "ms", note=check),
        common.row(BENCHMARK, "vote POST p99", p99, "ms", note="under a load far beyond any team's: watched, no target"),
        common.row(BENCHMARK, "hello-world GET rate", hello_rate, "req/s",
                   note=f"same server settings; p50 {hello_result['p50_us'] / 1000:.2f} ms, "
                        f"p99 {hello_result['p99_us'] / 1000:.2f} ms"),
        common.row(BENCHMARK, "vote rate / hello-world rate", rate / hello_rate, "ratio", better="higher"),
        # CPU time per request does not depend on what else the machine is running; the rates do.
        common.row(BENCHMARK, "CPU per vote: gunicorn workers", app_ms, "ms",
                   note=f"hello-world: {hello_ms:.2f} ms per request"),
        common.row(BENCHMARK, "CPU per vote: PostgreSQL", db_ms, "ms",
                   note=f"together at most {1000 * cores / max(0.001, app_ms + db_ms):.0f} votes/s on {cores} "
                        "idle cores"),
    ]


# Seeding: open panels through the real verbs -------------------------------------------------------

def seed_open_panels(disputes: int) -> list[tuple[str, str]]:
    """``disputes`` disputes with the team reviewing, each with five seats; returns (token, choice)
    for the four seats that will vote, ordered so that neighbouring requests hit different disputes."""
    from resolver.actors import Actor
    from resolver.extensions import db
    from resolver.links import token_for
    from resolver.models import AccessLink, PanelMember, Resident, StaffUser
    from resolver.services import disputes as verbs
    from resolver.services import evidence, panel

    ids = common.seed_company(panel_size=5, tag="vote")
    manager = db.session.get(StaffUser, ids["manager"])
    resident = db.session.get(Resident, ids["resident"])
    members = [db.session.get(PanelMember, m) for m in ids["members"]]
    staff = Actor.staff(manager)
    seats_by_rank: list[list[tuple[str, str]]] = [[] for _ in CHOICES]
    for n in range(disputes):
        dispute = verbs.create_dispute(
            staff, resident=resident, category="security deposit",
            issue=f"The resident says the carpet-cleaning charge on the deposit is unfair (case {n}).",
            what_was_fixed="We re-inspected the carpet and refunded the pet fee.",
            company_position="The carpet needed professional cleaning.",
        )
        verbs.open_dispute(staff, dispute)
        evidence.submit_evidence(
            Actor.resident(resident), dispute, form_key=uuid.uuid4().hex,
            details="The carpet was clean when I left; I have photos.",
            suggested_resolution="Refund the $150 cleaning charge.", suggested_amount_cents=15000,
        )
        seats = panel.seat_panel(staff, dispute, [m.id for m in members])
        panel.send_to_panel(staff, dispute)
        db.session.flush()
        for rank, (seat, choice) in enumerate(zip(seats, CHOICES)):
            link = db.session.scalars(
                db.select(AccessLink).where(AccessLink.seat_id == seat.id, AccessLink.purpose == "vote")
            ).one()
            seats_by_rank[rank].append((token_for(link), choice))
        db.session.commit()
    return [pair for rank in seats_by_rank for pair in rank]


def _revisions(app, run: str) -> int:
    """The vote revisions the wrk run named ``run`` wrote (its name is in each reason it sent)."""
    from resolver.extensions import db
    from resolver.models import VoteRevision

    with app.app_context():
        return db.session.scalar(db.select(db.func.count(VoteRevision.id))
                                 .where(VoteRevision.reason.contains(f", {run} revision ")))


# The members' own visits: a session cookie and the page's form token each ----------------------------

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _open_pages(port: int, links: list[tuple[str, str]]) -> list[tuple[str, str, str, str]]:
    def visit(pair):
        token, choice = pair
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("GET", f"/p/v/{token}")
            response = connection.getresponse()
            page = response.read().decode()
            if response.status != 200:
                raise RuntimeError(f"the vote page answered {response.status}")
            cookie = response.getheader("Set-Cookie").split(";", 1)[0]
            return (f"/p/v/{token}", cookie, _CSRF.search(page).group(1), choice)
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(visit, links))


# CPU accounting from /proc ---------------------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    try:
        return [int(n) for n in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _postgres_processes() -> list[int]:
    """The throw-away server's postmaster and its backends (the app's pooled connections among them)."""
    postmaster = int((common.postgres_server().data / "postmaster.pid").read_text().split()[0])
    return [postmaster, *_children(postmaster)]


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time the processes have used so far."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


# gunicorn and wrk -------------------------------------------------------------------------------------

class _Server:
    def __init__(self, process: subprocess.Popen, port: int, log):
        self.process, self.port, self.log = process, port, log

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def _serve(app: str, env: dict, log_path: Path) -> _Server:
    port = common.free_port()
    log = open(log_path, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(common.ROOT / "deploy" / "gunicorn.conf.py"), app],
        cwd=common.ROOT, env={**env, "RESOLVER_BIND": f"127.0.0.1:{port}"},
        stdout=log, stderr=subprocess.STDOUT,
    )
    server = _Server(process, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.close()
            raise RuntimeError(f"gunicorn stopped at start: {log_path.read_text()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz" if app.startswith("wsgi") else "/")
            if connection.getresponse().status == 200:
                connection.close()
                return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError("gunicorn did not answer within 60 s")


def _wrk(port: int, path: str, script: str, script_path: Path, duration: int, env: dict) -> dict:
    script_path.write_text(script)
    result = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{duration}s", "--timeout", "10s", "-s", str(script_path),
         f"http://127.0.0.1:{port}{path}"],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=duration + 60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed: {result.stderr[-2000:]}")
    line = next(line for line in result.stdout.splitlines() if line.startswith("WRK-RESULT "))
    return json.loads(line.removeprefix("WRK-RESULT "))
