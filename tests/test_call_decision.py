"""A team that decided on a call: the manager records who attended and each one's vote from the
dispute's page; the votes count, close the review and lead to the letter as votes by link do; each
member is emailed what was recorded, with a link to correct it for a while."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from resolver import clock
from resolver.actors import Actor
from resolver.errors import InvalidInput, WrongState
from resolver.extensions import db
from resolver.links import PUBLIC_ADDRESS
from resolver.mail import send_pending
from resolver.models import Dispute, PanelSeat, Vote, VoteRevision
from resolver.services import outcome, panel
from resolver.workdays import local

from .dispute_checks import emails, history, snapshot
from .fixtures_manager import csrf_from

REASONS = {
    "uphold": "The photos show stains the cleaning had to remove; the charge is fair.",
    "resident": "The move-out photos look clean to me; I would refund the charge.",
    "compromise": "Both sides have a point; half the charge seems fair.",
}


@pytest.fixture
def reviewing(make_dispute, manager, make_panel):
    """A case sent to a team of three; returns (dispute, seats)."""
    dispute = make_dispute("evidence_received")
    members = make_panel(dispute.company, size=3)
    seats = panel.seat_panel(Actor.staff(manager), dispute, [m.id for m in members])
    panel.send_to_panel(Actor.staff(manager), dispute)
    db.session.commit()
    return dispute, seats


def today(dispute) -> date:
    return local(clock.now_utc(), dispute.company).date()


def call_votes(seats, *choices, token_cents=None) -> list[panel.CallVote]:
    return [panel.CallVote(seat_id=seat.id, choice=choice, reason=REASONS[choice], token_cents=token_cents,
                           token_kind="coffee-shop gift card" if token_cents else "")
            for seat, choice in zip(seats, choices)]


def link_in(text: str) -> str:
    return re.search(re.escape(PUBLIC_ADDRESS) + r"(/p/v/\S+)", text).group(1)


def fresh(dispute) -> Dispute:
    db.session.expire_all()
    return db.session.get(Dispute, dispute.id)


# The call decides, as votes by link would -------------------------------------------------------

def test_a_call_with_all_three_members_decides_the_case_and_the_letter_follows(reviewing, manager, smtp):
    dispute, seats = reviewing
    staff = Actor.staff(manager)
    panel.record_call(staff, dispute, call_on=today(dispute),
                      votes=call_votes(seats, "compromise", "compromise", "uphold", token_cents=2500))
    db.session.commit()
    dispute = fresh(dispute)
    assert (dispute.state, dispute.decision, dispute.decided_by) == ("decided", "compromise", "panel")
    assert [e.to_addr for e in emails(dispute, "panel_result")] == [manager.email]
    votes = list(db.session.scalars(select(Vote).where(Vote.dispute_id == dispute.id)))
    assert {(v.recorded_by_id, v.call_on) for v in votes} == {(manager.id, today(dispute))}

    letter = outcome.draft_outcome(staff, dispute)
    db.session.commit()
    # The team's reasons reach the letter as a link vote's would.
    assert "half the charge seems fair" in letter.body_text.lower() or "compromise" in letter.body_text.lower()
    actions = [e.action for e in history(dispute)]
    assert actions.index("call_recorded") < actions.index("vote") < actions.index("decide")


def test_each_member_is_emailed_what_was_recorded_with_a_link_to_correct_it(reviewing, manager, smtp, client):
    dispute, seats = reviewing
    panel.record_call(Actor.staff(manager), dispute, call_on=today(dispute),
                      votes=call_votes(seats[:2], "resident", "uphold"))
    db.session.commit()
    send_pending()
    for seat, choice in zip(seats[:2], ("resident", "uphold")):
        [message] = [m for m in smtp.to(seat.member.email) if "from our call" in m["Subject"]]
        text = smtp.text_of(message)
        assert f"Hello {seat.member.name}" in text
        assert f"{manager.name} recorded your vote from the call" in text
        assert REASONS[choice] in " ".join(text.split())
        assert "you can correct it yourself until" in text
        assert "/p/v/" in smtp.html_of(message)
        page = client.get(re.search(r"https?://[^/\s]+(/p/v/\S+)", text).group(1))
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert f"recorded by {manager.name} from a call on" in html
    # The third member was not on the call: no email, no vote.
    assert [m for m in smtp.to(seats[2].member.email) if "from our call" in m["Subject"]] == []
    assert fresh(dispute).state == "panel_review"


def test_a_correction_changes_the_vote_and_the_history_shows_both(reviewing, manager, client):
    dispute, seats = reviewing
    panel.record_call(Actor.staff(manager), dispute, call_on=today(dispute),
                      votes=call_votes(seats[:2], "resident", "uphold"))
    db.session.commit()
    [email] = [e for e in emails(dispute, "panel_call_recorded") if e.to_addr == seats[1].member.email]
    path = link_in(email.body_text)
    corrected = "I said the charge stands, but only for the bedroom; a compromise is what I meant."
    response = client.post(path, data={"csrf_token": csrf_from(client.get(path).get_data(as_text=True)),
                                       "choice": "compromise", "reason": corrected})
    assert response.status_code == 303
    vote = db.session.scalars(select(Vote).where(Vote.seat_id == seats[1].id)).one()
    assert (vote.choice, vote.reason, vote.recorded_by_id, vote.call_on) == ("compromise", corrected, None, None)
    revisions = list(db.session.scalars(
        select(VoteRevision).where(VoteRevision.vote_id == vote.id).order_by(VoteRevision.revision)))
    assert [(r.choice, r.recorded_by_id is not None) for r in revisions] == [("uphold", True), ("compromise", False)]
    [change] = [e for e in history(dispute) if e.action == "change_vote"]
    assert change.actor_kind == "panel" and change.data["corrects_call_on"] == today(dispute).isoformat()
    page = client.get(path).get_data(as_text=True)
    assert "You corrected the vote recorded for you from the call on" in page


def test_a_correction_link_after_its_time_says_kindly_that_it_has_expired(reviewing, manager, client):
    dispute, seats = reviewing
    panel.record_call(Actor.staff(manager), dispute, call_on=today(dispute), votes=call_votes(seats[:1], "resident"))
    db.session.commit()
    [email] = emails(dispute, "panel_call_recorded")
    clock.advance(timedelta(days=2, minutes=1))
    response = client.get(link_in(email.body_text))
    html = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "The time to correct what was recorded for you from the call has passed" in html
    assert REASONS["resident"] not in html or "stands" in html
    assert dispute.manager.email in html


# Refused, changing nothing -------------------------------------------------------------------------

def test_a_call_is_refused_before_the_case_is_with_the_team(make_dispute, manager):
    dispute = make_dispute("evidence_received")
    db.session.commit()
    before = snapshot(dispute.id)
    with pytest.raises(WrongState) as refused:
        panel.record_call(Actor.staff(manager), dispute, call_on=today(dispute), votes=[])
    assert "while the case is with the team" in str(refused.value)
    db.session.rollback()
    assert snapshot(dispute.id) == before


def test_a_member_not_on_the_team_is_refused_and_nothing_is_recorded(reviewing, manager, make_dispute):
    dispute, seats = reviewing
    other = make_dispute("panel_review")
    outsider = db.session.scalars(select(PanelSeat).where(PanelSeat.dispute_id == other.id)).first()
    db.session.commit()
    before = snapshot(dispute.id)
    with pytest.raises(InvalidInput, match="Only members of this case's team"):
        panel.record_call(Actor.staff(manager), dispute, call_on=today(dispute),
                          votes=[*call_votes(seats[:1], "uphold"), panel.CallVote(outsider.id, "uphold", "Fine.")])
    db.session.rollback()
    assert snapshot(dispute.id) == before


def test_a_call_in_the_future_or_before_the_team_had_the_case_is_refused(reviewing, manager):
    dispute, seats = reviewing
    before = snapshot(dispute.id)
    for day, words in ((today(dispute) + timedelta(days=1), "cannot be in the future"),
                       (today(dispute) - timedelta(days=1), "cannot be before the case went to the team")):
        with pytest.raises(InvalidInput, match=words) as refused:
            panel.record_call(Actor.staff(manager), dispute, call_on=day, votes=call_votes(seats, "uphold"))
        assert refused.value.field == "call_on"
        db.session.rollback()
        assert snapshot(dispute.id) == before


def test_a_members_own_link_vote_is_never_replaced_by_the_call(reviewing, manager):
    dispute, seats = reviewing
    panel.record_vote(Actor.panel(seats[0].member), seats[0], choice="resident", reason=REASONS["resident"])
    db.session.commit()
    before = snapshot(dispute.id)
    with pytest.raises(WrongState, match="already voted by link"):
        panel.record_call(Actor.staff(manager), dispute, call_on=today(dispute),
                          votes=call_votes(seats, "uphold", "uphold", "uphold"))
    db.session.rollback()
    assert snapshot(dispute.id) == before
    # Recorded for the other two, the team decides with the member's own vote counted beside them.
    panel.record_call(Actor.staff(manager), dispute, call_on=today(dispute), votes=call_votes(seats[1:], "uphold", "uphold"))
    db.session.commit()
    assert (fresh(dispute).state, fresh(dispute).decision) == ("decided", "uphold")
