"""Emailed links have a pace: a resident's link sends evidence only so often an hour and a team
member's link votes only so often a minute, with a kind page when that is reached and nothing
changed; the same vote sent again is recorded once; a scanner's storm of visits adds a few rows,
not thousands, while the manager still sees how often the link was opened; and after 90 days the
access log is kept only as counts by day."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from resolver import clock
from resolver.extensions import db
from resolver.models import (
    AccessLogRollup, AuditEvent, LinkUse, LinkUseCount, SignInAttempt, SignInCount, Submission, Vote, VoteRevision,
)
from resolver.workdays import format_moment
from resolver.worker import run_round

from .test_panel_vote_page import REASON, page_text, post_vote, sent_case  # noqa: F401 (a fixture)
from .test_resident_support import ResidentForm, evidence_link, evidence_path


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def delivered(app, smtp) -> int:
    """Every email sent so far, as the real SMTP server received it (the worker sends the outbox)."""
    while not run_round(app).is_idle:
        pass
    return len(smtp.messages)


@pytest.fixture
def waiting(make_dispute, frozen_clock):
    dispute = make_dispute("awaiting_evidence", items=[{"description": "Carpet cleaning", "amount_cents": 15000}])
    db.session.commit()
    return dispute


# Sends per hour through one evidence link ---------------------------------------------------------

def test_thirty_sends_through_one_evidence_link_save_ten_and_the_rest_get_a_kind_page_and_no_email(
    app, client, waiting, manager, company, smtp
):
    statuses = []
    for n in range(10):
        statuses.append(ResidentForm(client, waiting).send(details=f"Send number {n}.").status_code)
    assert statuses == [303] * 10
    emails_after_ten = delivered(app, smtp)
    assert count(Submission) == 10 and emails_after_ten > 0

    for n in range(10, 30):
        refused = ResidentForm(client, waiting).send(details=f"Send number {n}.")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == str(3600 + 1)
    text = page_text(refused)
    assert "Please wait a little before sending again" in text
    assert "this page has already been sent 10 times in the last hour" in text
    assert "what you just sent was not saved and nobody was emailed about it" in text
    assert f"You can send again from {format_moment(clock.now_utc() + timedelta(hours=1), company)}" in text
    assert manager.name in text and manager.email in text and company.contact_phone in text  # who to ask
    assert f"This page is for {waiting.resident.name}" in text  # the resident's own layout
    assert count(Submission) == 10
    assert delivered(app, smtp) == emails_after_ten  # not one more email

    # An hour on, the link sends again.
    clock.advance(timedelta(hours=1, seconds=1))
    assert ResidentForm(client, waiting).send(details="Something I forgot.").status_code == 303
    assert count(Submission) == 11


# Votes: the same vote again is recorded once; a seat votes at most ten times a minute -------------

def test_the_same_vote_posted_fifty_times_is_one_revision_with_no_change_vote_history(client, sent_case):
    dispute, seats, paths = sent_case()
    for _ in range(50):
        clock.advance(timedelta(seconds=7))  # at a person's pace: the per-minute limit stays out of it
        response = post_vote(client, paths[0], choice="resident", reason=REASON, token_amount="25",
                             token_kind="coffee-shop gift card")
        assert response.status_code == 303
        assert "Your vote is recorded" in page_text(client.get(paths[0]))
    assert count(Vote) == 1 and count(VoteRevision) == 1
    assert count(AuditEvent, AuditEvent.dispute_id == dispute.id, AuditEvent.action == "change_vote") == 0
    assert count(AuditEvent, AuditEvent.dispute_id == dispute.id, AuditEvent.action == "vote") == 1
    # A real change is still a change.
    assert post_vote(client, paths[0], choice="compromise", reason="Partway.").status_code == 303
    assert count(VoteRevision) == 2
    assert count(AuditEvent, AuditEvent.dispute_id == dispute.id, AuditEvent.action == "change_vote") == 1


def test_a_seat_votes_at_most_ten_times_a_minute_and_the_eleventh_gets_a_kind_page(client, sent_case, company):
    dispute, seats, paths = sent_case(size=5)
    reasons = [f"Reason number {n}." for n in range(12)]
    statuses = [post_vote(client, paths[0], reason=reason).status_code for reason in reasons]
    assert statuses == [303] * 10 + [429] * 2
    refused = post_vote(client, paths[0], reason="One more try.")
    text = page_text(refused)
    assert refused.status_code == 429
    assert "Please wait a moment before sending again" in text
    assert "sent 10 times in the last minute" in text and "this last one was not saved" in text
    assert "Your vote as it was recorded before still stands" in text
    assert f"You can send again from {format_moment(clock.now_utc() + timedelta(minutes=1), company)}" in text
    assert dispute.manager.email in text
    db.session.expire_all()
    vote = db.session.scalars(select(Vote)).one()
    assert (vote.reason, vote.revision) == ("Reason number 9.", 10)

    clock.advance(timedelta(minutes=1, seconds=1))
    assert post_vote(client, paths[0], reason="After a minute.").status_code == 303


# The log of a link's uses: bounded under a storm -----------------------------------------------

STORM = 2000


def test_a_storm_of_visits_adds_a_few_rows_and_the_manager_still_sees_how_often(
    app, waiting, manager, signed_in_client
):
    path = evidence_path(waiting)
    link = evidence_link(waiting)
    for _ in range(STORM):
        # Each visit as far as the page's own work: the link checked and its use logged (the rendering
        # of the page, the same each time, is left out to keep the test quick).
        with app.test_request_context(path, headers={"User-Agent": "Scanner/1.0"}):
            assert app.preprocess_request() is None  # not refused
    kept = count(LinkUse, LinkUse.link_id == link.id)
    counted = count(LinkUseCount, LinkUseCount.link_id == link.id)
    assert kept + counted <= 25  # not 2,000
    total = db.session.scalar(select(func.sum(LinkUseCount.uses)).where(LinkUseCount.link_id == link.id))
    assert kept + total == STORM  # ... yet every visit is counted
    page = page_text(signed_in_client(manager).get(f"/disputes/{waiting.id}"))
    assert f"The resident opened their link {STORM} times" in page


# After 90 days: counts by day, and the detail goes ----------------------------------------------

def test_after_ninety_days_the_worker_keeps_counts_by_day_and_deletes_the_detail(
    app, client, waiting, manager, signed_in_client
):
    path = evidence_path(waiting)
    link = evidence_link(waiting)
    for _ in range(30):  # beyond the hour's kept uses: some are counted by the hour already
        client.get(path)
    first_day = clock.now_utc()
    clock.advance(timedelta(days=1))
    for _ in range(3):
        client.get(path)
    for ok in (False, False, True):
        db.session.add(SignInAttempt(email=manager.email, ip="203.0.113.9", attempted_dt=first_day, is_success=ok))
    db.session.commit()

    clock.advance(timedelta(days=91))  # the second day's visits are now 91 days old, the first's 92
    client.get(path)  # today's visit (the link has long expired, but it is logged) stays in full
    run_round(app)

    assert count(LinkUse, LinkUse.link_id == link.id) == 1  # only today's
    assert count(LinkUseCount, LinkUseCount.span == "hour") == 0
    days = db.session.execute(select(LinkUseCount.start_dt, LinkUseCount.uses).where(
        LinkUseCount.link_id == link.id, LinkUseCount.span == "day").order_by(LinkUseCount.start_dt)).all()
    assert [(day.date(), uses) for day, uses in days] == [
        (first_day.date(), 30), ((first_day + timedelta(days=1)).date(), 3)]
    assert count(SignInAttempt) == 0
    counted = db.session.execute(select(SignInCount.day_dt, SignInCount.is_success, SignInCount.attempts)
                                 .order_by(SignInCount.is_success)).all()
    assert [(day.date(), ok, n) for day, ok, n in counted] == [
        (first_day.date(), False, 2), (first_day.date(), True, 1)]
    [rollup] = db.session.scalars(select(AccessLogRollup)).all()
    # The rows deleted: 20 kept in full in the first hour (the other 10 were counted), 3 the next day.
    assert (rollup.link_uses, rollup.sign_in_attempts) == (23, 3)
    assert rollup.rolled_up_dt == clock.now_utc()

    run_round(app)  # the day is done: a second round counts nothing twice
    assert count(AccessLogRollup) == 1
    assert db.session.scalar(select(func.sum(LinkUseCount.uses)).where(LinkUseCount.link_id == link.id)) == 33
    page = page_text(signed_in_client(manager).get(f"/disputes/{waiting.id}"))
    assert "The resident opened their link 33 times" in page
