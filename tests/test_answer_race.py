"""A double-tapping phone or a retrying proxy: many "accept" and "decline" answers to one offer, sent
at once from several app processes against one PostgreSQL server. Exactly one answer is recorded;
every other request gets the page saying what was recorded, and changes nothing.

Runs only when the suite runs on PostgreSQL (RESOLVER_TEST_DATABASE=postgresql); SQLite serialises
writes, so it cannot show the race.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from resolver.extensions import db
from resolver.links import PUBLIC_ADDRESS, current_link, link_url
from resolver.models import AuditEvent, Dispute, OfferAnswer, OutboxEmail
from resolver.services import outcome

from .conftest import is_postgres
from .race import press_at_once

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not is_postgres(), reason="runs with RESOLVER_TEST_DATABASE=postgresql"),
]

TAPS = [("/offer", {"answer": "accept" if n % 2 == 0 else "decline"}) for n in range(8)]  # in each process


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_answers_sent_at_once_from_several_processes_record_exactly_one(app, make_dispute, tmp_path, smtp_server):
    dispute = make_dispute("outcome_sent", votes=("uphold", "compromise", "compromise"))
    db.session.commit()
    letter = outcome.sent_letter(dispute)
    path = link_url(current_link(dispute.id, "outcome", resident_id=dispute.resident_id)).removeprefix(PUBLIC_ADDRESS)
    results = press_at_once(app, tmp_path, smtp_server.port, path, TAPS,
                            said=r"Your answer is already recorded: you ([^.]*) on")
    winners = [r for r in results if r["status"] == 303]
    assert len(winners) == 1, results
    answer = "accepted" if winners[0]["form"]["answer"] == "accept" else "declined"
    said = "accepted this offer" if answer == "accepted" else "said no, thank you, to this offer"
    # Every other tap was told, plainly, what stands; past the link's pace (ten sends an hour), that
    # nothing was saved and when it can send again.
    others = [r for r in results if r is not winners[0]]
    assert all((r["status"] == 200 and r["said"] == said) or r["status"] == 429 for r in others), results
    assert any(r["status"] == 200 for r in others), results

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
