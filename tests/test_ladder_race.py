"""A double-tapping phone or a retrying proxy on "Ask the supervisor to look again": many presses sent
at once from several app processes against one PostgreSQL server. Exactly one request is recorded
(one task, one history event, one email each); every other press gets the page saying when it was asked.

Runs only when the suite runs on PostgreSQL (RESOLVER_TEST_DATABASE=postgresql); SQLite serialises
writes, so it cannot show the race.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest
from sqlalchemy import func, select

from resolver import clock
from resolver.extensions import db
from resolver.links import PUBLIC_ADDRESS, current_link, link_url
from resolver.models import AuditEvent, LadderRequest, OutboxEmail, Task

from .conftest import is_postgres
from .test_scale_postgres import worker_environment

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not is_postgres(), reason="runs with RESOLVER_TEST_DATABASE=postgresql"),
]

PROCESSES = 3
TAPS_PER_PROCESS = 6

# One app process: each press is its own browser (its own session and page token), drawn before the
# race starts; then all of them post at once.
PRESSER = textwrap.dedent(
    """
    import json, re, sys, threading, time
    from datetime import datetime
    from pathlib import Path
    from resolver import clock, create_app

    path, now, ready, go, taps = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    clock.freeze(datetime.fromisoformat(now))
    app = create_app()
    browsers = []
    for n in range(taps):
        browser = app.test_client()
        page = browser.get(path).get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        browsers.append((browser, token))
    results, started = [], threading.Barrier(taps)

    def press(browser, token):
        started.wait(timeout=60)
        response = browser.post(path + "/supervisor", data={"csrf_token": token, "message": "Please look again."})
        text = response.get_data(as_text=True)
        results.append({"status": response.status_code,
                        "told": "You asked for this to be looked at again on" in text})

    Path(ready).touch()
    while not Path(go).exists():
        time.sleep(0.005)
    threads = [threading.Thread(target=press, args=b) for b in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    print(json.dumps(results))
    """
)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_presses_sent_at_once_from_several_processes_record_one_request(
    app, make_dispute, supervisor, tmp_path, smtp_server
):
    dispute = make_dispute("outcome_sent", votes=("uphold", "compromise", "compromise"))
    db.session.commit()
    path = link_url(current_link(dispute.id, "outcome", resident_id=dispute.resident_id)).removeprefix(PUBLIC_ADDRESS)
    env = worker_environment(app, tmp_path, smtp_server.port)
    go = tmp_path / "go"
    processes = [
        subprocess.Popen([sys.executable, "-c", PRESSER, path, clock.now_utc().isoformat(),
                          str(tmp_path / f"ready{n}"), str(go), str(TAPS_PER_PROCESS)],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n in range(PROCESSES)
    ]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready{n}").exists() for n in range(PROCESSES)):
        assert time.monotonic() < deadline and all(p.poll() is None for p in processes), \
            [p.communicate()[1][-2000:] for p in processes if p.poll() is not None]
        time.sleep(0.01)
    go.touch()
    results = []
    for process in processes:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err[-3000:]
        results += json.loads(out.strip().splitlines()[-1])
    assert len(results) == PROCESSES * TAPS_PER_PROCESS

    winners = [r for r in results if r["status"] == 303]
    assert len(winners) == 1, results
    assert all(r["status"] == 200 and r["told"] for r in results if r is not winners[0]), results

    db.session.expire_all()
    assert count(LadderRequest, LadderRequest.dispute_id == dispute.id) == 1
    assert count(Task, Task.dispute_id == dispute.id, Task.kind == "review") == 1
    assert count(AuditEvent, AuditEvent.dispute_id == dispute.id, AuditEvent.action == "ladder_requested") == 1
    assert count(OutboxEmail, OutboxEmail.dispute_id == dispute.id,
                 OutboxEmail.template == "ladder_request_resident") == 1
