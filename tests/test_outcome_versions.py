"""Each verb of the written outcome checks the version of the page it was asked from: a form drawn
before someone else changed the dispute is refused by the verb itself, and nothing changes."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from resolver.actors import Actor
from resolver.errors import StaleDispute
from resolver.extensions import db
from resolver.models import ExtensionRequest, Letter, Task
from resolver.services import evidence, outcome

from .dispute_checks import refused


@pytest.fixture
def staff(manager):
    return Actor.staff(manager)


def letters(dispute) -> list[tuple]:
    return [(x.id, x.status, x.subject, x.token_cents, x.approved_dt) for x in db.session.scalars(
        select(Letter).where(Letter.dispute_id == dispute.id).order_by(Letter.id))]


def test_drafting_editing_and_approving_from_a_stale_page_are_refused(make_dispute, staff):
    dispute = make_dispute("decided", votes=("uphold", "compromise", "compromise"))
    stale = dispute.version - 1
    refused(StaleDispute, dispute, lambda: outcome.draft_outcome(staff, dispute, expected_version=stale))
    assert letters(dispute) == []

    letter = outcome.draft_outcome(staff, dispute, expected_version=dispute.version)
    db.session.commit()
    stale, before = dispute.version - 1, letters(dispute)
    refused(StaleDispute, dispute, lambda: outcome.edit_letter(staff, letter, subject="Another subject",
                                                               expected_version=stale))
    refused(StaleDispute, dispute, lambda: outcome.approve_letter(staff, letter, override_reason="Fine.",
                                                                  expected_version=stale))
    refused(StaleDispute, dispute, lambda: outcome.send_outcome(staff, dispute, expected_version=stale))
    assert letters(dispute) == before

    # The page as it is now goes through.
    outcome.edit_letter(staff, letter, subject="Our reply about your deposit", expected_version=dispute.version)
    assert letter.subject == "Our reply about your deposit"


def test_correcting_referring_and_finishing_a_task_from_a_stale_page_are_refused(make_dispute, staff):
    dispute = make_dispute("decided", votes=("uphold", "compromise", "compromise"))
    letter = outcome.draft_outcome(staff, dispute)
    outcome.approve_letter(staff, letter, override_reason="Checked by hand.")
    outcome.send_outcome(staff, dispute)
    db.session.commit()
    stale = dispute.version - 1
    refused(StaleDispute, dispute, lambda: outcome.correct_letter(staff, dispute, expected_version=stale))
    refused(StaleDispute, dispute, lambda: outcome.refer_out(staff, dispute, reason="Still disputed.",
                                                             expected_version=stale))
    outcome.respond_to_offer(Actor.resident(dispute.resident), dispute, accept=True)  # the offer becomes a task
    db.session.commit()
    stale = dispute.version - 1
    task = db.session.scalars(select(Task).where(Task.dispute_id == dispute.id, Task.done_dt.is_(None))).first()
    assert task is not None, "an accepted offer is the manager's task"
    refused(StaleDispute, dispute, lambda: outcome.complete_task(staff, task, expected_version=stale))
    assert db.session.get(Task, task.id).done_dt is None
    refused(StaleDispute, dispute, lambda: outcome.follow_up(staff, dispute, expected_version=stale))
    assert len(letters(dispute)) == 1


def test_answering_a_request_for_more_time_from_a_stale_page_is_refused(make_dispute, staff):
    dispute = make_dispute("awaiting_evidence")
    request = evidence.request_more_time(Actor.resident(dispute.resident), dispute, days=3, reason="Away.")
    db.session.commit()
    stale = dispute.version - 1
    refused(StaleDispute, dispute, lambda: evidence.answer_more_time(staff, dispute, request, grant=True,
                                                                     expected_version=stale))
    assert db.session.get(ExtensionRequest, request.id).status == "pending"
