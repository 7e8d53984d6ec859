"""A double-tapping phone or a retrying proxy on "Ask the supervisor to look again": many presses sent
at once from several app processes against one PostgreSQL server. Exactly one request is recorded
(one task, one history event, one email each); every other press gets the page saying when it was asked.

Runs only when the suite runs on PostgreSQL (RESOLVER_TEST_DATABASE=postgresql); SQLite serialises
writes, so it cannot show the race.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from resolver.extensions import db
from resolver.links import PUBLIC_ADDRESS, current_link, link_url
from resolver.models import AuditEvent, LadderRequest, OutboxEmail, Task

from .conftest import is_postgres
from .race import press_at_once

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not is_postgres(), reason="runs with RESOLVER_TEST_DATABASE=postgresql"),
]

PRESSES = [("/supervisor", {"message": "Please look again."})] * 6  # in each process


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_presses_sent_at_once_from_several_processes_record_one_request(
    app, make_dispute, supervisor, tmp_path, smtp_server
):
    dispute = make_dispute("outcome_sent", votes=("uphold", "compromise", "compromise"))
    db.session.commit()
    path = link_url(current_link(dispute.id, "outcome", resident_id=dispute.resident_id)).removeprefix(PUBLIC_ADDRESS)
    results = press_at_once(app, tmp_path, smtp_server.port, path, PRESSES,
                            said=r"(You asked for this to be looked at again) on")
    winners = [r for r in results if r["status"] == 303]
    assert len(winners) == 1, results
    # Every other press was told the request stands; past the link's pace (ten sends an hour, reached
    # when the machine is slow enough that the presses arrive one after another), that nothing was saved
    # and when it can send again.
    others = [r for r in results if r is not winners[0]]
    assert all((r["status"] == 200 and r["said"]) or r["status"] == 429 for r in others), results
    assert any(r["status"] == 200 for r in others), results

    db.session.expire_all()
    assert count(LadderRequest, LadderRequest.dispute_id == dispute.id) == 1
    assert count(Task, Task.dispute_id == dispute.id, Task.kind == "review") == 1
    assert count(AuditEvent, AuditEvent.dispute_id == dispute.id, AuditEvent.action == "ladder_requested") == 1
    assert count(OutboxEmail, OutboxEmail.dispute_id == dispute.id,
                 OutboxEmail.template == "ladder_request_resident") == 1
