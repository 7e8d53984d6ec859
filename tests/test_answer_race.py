"""A double-tapping phone or a retrying proxy: many "accept" and "decline" answers to one offer, sent
at once from several app processes against one PostgreSQL server. Exactly one answer is recorded;
every other request gets the page saying what was recorded, and changes nothing.

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
from resolver.models import AuditEvent, Dispute, OfferAnswer, OutboxEmail
from resolver.services import outcome

from .conftest import is_postgres
from .test_scale_postgres import worker_environment

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not is_postgres(), reason="runs with RESOLVER_TEST_DATABASE=postgresql"),
]

PROCESSES = 3
TAPS_PER_PROCESS = 8  # half "accept", half "decline" in each process

# One app process: each tap is its own browser (its own session and page token), drawn before the race
# starts; then all of them post at once.
TAPPER = textwrap.dedent(
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
        browsers.append((browser, token, "accept" if n % 2 == 0 else "decline"))
    results, started = [], threading.Barrier(taps)

    def tap(browser, token, answer):
        started.wait(timeout=60)
        response = browser.post(path + "/offer", data={"csrf_token": token, "answer": answer})
        text = response.get_data(as_text=True)
        said = re.search(r"Your answer is already recorded: you ([^.]*) on", text)
        results.append({"answer": answer, "status": response.status_code,
                        "recorded": said.group(1) if said else None})

    Path(ready).touch()
    while not Path(go).exists():
        time.sleep(0.005)
    threads = [threading.Thread(target=tap, args=b) for b in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    print(json.dumps(results))
    """
)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_answers_sent_at_once_from_several_processes_record_exactly_one(app, make_dispute, tmp_path, smtp_server):
    dispute = make_dispute("outcome_sent", votes=("uphold", "compromise", "compromise"))
    db.session.commit()
    letter = outcome.sent_letter(dispute)
    path = link_url(current_link(dispute.id, "outcome", resident_id=dispute.resident_id)).removeprefix(PUBLIC_ADDRESS)
    env = worker_environment(app, tmp_path, smtp_server.port)
    go = tmp_path / "go"
    processes = [
        subprocess.Popen([sys.executable, "-c", TAPPER, path, clock.now_utc().isoformat(),
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
    answer = "accepted" if winners[0]["answer"] == "accept" else "declined"
    said = "accepted this offer" if answer == "accepted" else "said no, thank you, to this offer"
    # Every other tap was told, plainly, what stands.
    assert all(r["status"] == 200 and r["recorded"] == said for r in results if r is not winners[0]), results

    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).state == "outcome_sent"
    assert db.session.scalars(select(OfferAnswer.answer).where(OfferAnswer.letter_id == letter.id)).all() == [answer]
    db.session.refresh(letter)
    assert letter.offer_response == answer
    answers_in_history = count(AuditEvent, AuditEvent.dispute_id == dispute.id,
                               AuditEvent.action.in_(["offer_accepted", "offer_declined"]))
    assert answers_in_history == 1
    assert count(OutboxEmail, OutboxEmail.dispute_id == dispute.id,
                 OutboxEmail.template.in_(["offer_accepted", "offer_declined"])) == 1
