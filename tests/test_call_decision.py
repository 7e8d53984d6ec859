"""A team that decided on a call: the manager records who attended and each one's vote from the
dispute's page; the votes count, close the review and lead to the letter as votes by link do; each
member is emailed what was recorded, with a link to correct it for a while."""
from __future__ import annotations

import re
import threading
from datetime import date, timedelta
from html import unescape

import pytest
from sqlalchemy import select

from resolver import clock
from resolver.actors import Actor
from resolver.errors import InvalidInput, WrongState
from resolver.extensions import db
from resolver.links import PUBLIC_ADDRESS
from resolver.mail import send_pending
from resolver.models import Dispute, Letter, PanelSeat, Vote, VoteRevision
from resolver.services import outcome, panel
from resolver.workdays import day_words, local

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

    outcome.draft_outcome(staff, dispute)
    db.session.commit()
    letter = db.session.scalars(select(Letter).where(Letter.dispute_id == dispute.id)).one()
    # The team's reasons and recommendation reach the letter as a link vote's would.
    body = " ".join(letter.body_text.split())
    assert f"“{REASONS['compromise']}”" in body and f"“{REASONS['uphold']}”" in body
    assert letter.token_cents == 2500
    actions = [e.action for e in history(dispute)]
    assert actions.index("call_recorded") < actions.index("vote") < actions.index("decide")
    # The members learn the review closed with the call's votes: no correction is offered then.
    send_pending()
    [message] = [m for m in smtp.to(seats[0].member.email) if "from our call" in m["Subject"]]
    text = " ".join(smtp.text_of(message).split())
    assert "the team's review of this case is complete, so the vote can no longer be changed" in text
    assert f"please tell {manager.name} at {manager.email} before the letter goes" in text


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


def test_a_correction_changes_the_vote_and_the_history_shows_both(reviewing, manager, client, signed_in_client):
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
    staff_page = unescape(signed_in_client(manager).get(f"/disputes/{dispute.id}").get_data(as_text=True))
    assert "Corrected by the member at" in staff_page and f"first recorded by {manager.name} from a call on" in staff_page
    assert "A team member corrected the vote recorded for them from the call on" in staff_page


def test_a_member_who_sends_the_record_back_unchanged_confirmed_it(reviewing, manager, client, signed_in_client):
    dispute, seats = reviewing
    panel.record_call(Actor.staff(manager), dispute, call_on=today(dispute), votes=call_votes(seats[:1], "resident"))
    db.session.commit()
    path = link_in(emails(dispute, "panel_call_recorded")[0].body_text)
    page = client.get(path).get_data(as_text=True)
    response = client.post(path, data={"csrf_token": csrf_from(page), "choice": "resident",
                                       "reason": REASONS["resident"]})
    assert response.status_code == 303
    assert "You confirmed the vote recorded for you from the call on" in client.get(path).get_data(as_text=True)
    staff_page = unescape(signed_in_client(manager).get(f"/disputes/{dispute.id}").get_data(as_text=True))
    assert "A team member confirmed the vote recorded for them from the call on" in staff_page
    assert "Confirmed by the member at" in staff_page
    # Their own now: a later call cannot replace it.
    with pytest.raises(WrongState, match="already voted by link"):
        panel.record_call(Actor.staff(manager), dispute, call_on=today(dispute), votes=call_votes(seats[:1], "uphold"))


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
    assert f"Your vote stands as it was recorded by {manager.name} from a call on" in html
    assert "the link in your first email about this case still lets you change your vote" in html
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
    # The letter tells the resident how the team gave its views: two on the call, one by link.
    letter = outcome.draft_outcome(Actor.staff(manager), fresh(dispute))
    assert f"Two of them went through it on a call on {day_words(today(dispute))}. All three gave their " \
           "view." in " ".join(letter.body_text.split())


# Through the manager's page ---------------------------------------------------------------------------

def call_form(dispute, seats, choices, *, day=None, **extra) -> dict:
    form = {"expected_version": str(fresh(dispute).version), "call_on": (day or today(dispute)).isoformat()}
    for seat, choice in zip(seats, choices):
        form.update({f"seat-{seat.id}-attended": "y", f"seat-{seat.id}-choice": choice,
                     f"seat-{seat.id}-reason": REASONS[choice]})
    return {**form, **extra}


def test_the_manager_records_the_call_from_the_page_and_the_page_says_so(
    reviewing, manager, signed_in_client
):
    dispute, seats = reviewing
    staff = signed_in_client(manager)
    page = staff.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert "Record a team call" in page
    response = staff.post(f"/disputes/{dispute.id}/call", call_form(dispute, seats[:2], ("resident", "resident"),
                                                                    **{f"seat-{seats[0].id}-token_amount": "$20"}))
    assert response.status_code == 303, response.get_data(as_text=True)
    page = unescape(staff.get(f"/disputes/{dispute.id}").get_data(as_text=True))
    assert page.count(f"Recorded by {manager.name} from a call on") == 2
    assert f"{manager.name} recorded the team's call on" in page and "2 members attended" in page
    assert page.count(f"{manager.name} recorded a team member's vote from the call on") == 2
    assert db.session.scalars(select(Vote).where(Vote.seat_id == seats[0].id)).one().token_cents == 2000


@pytest.mark.parametrize("change, field, words", [
    ({"call_on": "2099-01-01"}, "call_on", "cannot be in the future"),
    ({"call_on": ""}, "call_on", "Pick a date"),
    ("no-reason", "reason", "Give their reason"),
    ("no-one", "attended", "Tick who attended the call"),
    ("over-cap", "token_amount", "at most"),
])
def test_a_refused_call_shows_the_page_again_with_the_reason_and_changes_nothing(
    reviewing, manager, signed_in_client, change, field, words
):
    dispute, seats = reviewing
    staff = signed_in_client(manager)
    form = call_form(dispute, seats, ("uphold", "uphold", "compromise"))
    if change == "no-reason":
        form[f"seat-{seats[1].id}-reason"] = "  "
    elif change == "no-one":
        form = {k: v for k, v in form.items() if not k.endswith("-attended")}
    elif change == "over-cap":
        form[f"seat-{seats[2].id}-token_amount"] = "5000"
    else:
        form.update(change)
    before = snapshot(dispute.id)
    response = staff.post(f"/disputes/{dispute.id}/call", form)
    html = unescape(response.get_data(as_text=True))
    assert response.status_code in (409, 422), html
    assert words in html and "Nothing was changed." in html
    if change == "no-reason":
        assert f"{seats[1].member.name}: Give their reason" in html
    assert REASONS["compromise"] in html or change == "no-one"  # what was typed is shown again
    assert snapshot(dispute.id) == before


def test_the_page_refuses_a_call_when_the_case_is_not_with_the_team(make_dispute, manager, signed_in_client):
    dispute = make_dispute("decided")
    db.session.commit()
    staff = signed_in_client(manager)
    assert "while the case is with the team" in unescape(staff.get(f"/disputes/{dispute.id}/call").get_data(as_text=True))
    before = snapshot(dispute.id)
    response = staff.post(f"/disputes/{dispute.id}/call", {"expected_version": str(dispute.version),
                                                          "call_on": today(dispute).isoformat()})
    assert response.status_code == 409 and "while the case is with the team" in unescape(response.get_data(as_text=True))
    assert snapshot(dispute.id) == before


def test_the_call_page_shows_a_link_vote_and_offers_no_way_to_replace_it(reviewing, manager, signed_in_client):
    dispute, seats = reviewing
    panel.record_vote(Actor.panel(seats[0].member), seats[0], choice="resident", reason=REASONS["resident"])
    db.session.commit()
    html = signed_in_client(manager).get(f"/disputes/{dispute.id}/call").get_data(as_text=True)
    assert "Voted by link at" in html and "Their own vote stands" in html
    assert f'name="seat-{seats[0].id}-attended"' not in html
    assert f'name="seat-{seats[1].id}-attended"' in html


# At the same moment as a vote by link -----------------------------------------------------------------

def test_a_call_and_the_members_own_vote_by_link_at_the_same_moment_never_lose_the_members_vote(
    app, reviewing, manager, signed_in_client, client
):
    dispute, seats = reviewing
    [invitation] = [e for e in emails(dispute, "panel_invitation") if e.to_addr == seats[0].member.email]
    vote_path = link_in(invitation.body_text)
    staff = signed_in_client(manager)
    call = call_form(dispute, seats[:2], ("uphold", "uphold"), csrf_token=staff.csrf())
    own = {"choice": "resident", "reason": REASONS["resident"],
           "csrf_token": csrf_from(client.get(vote_path).get_data(as_text=True))}
    both_ready = threading.Barrier(2)
    answers = {}

    def send(name, browser, path, form):
        both_ready.wait(timeout=30)
        answers[name] = browser.post(path, data=form)

    threads = [threading.Thread(target=send, args=("call", staff.client, f"/disputes/{dispute.id}/call", call)),
               threading.Thread(target=send, args=("own", client, vote_path, own))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert answers["own"].status_code == 303
    db.session.expire_all()
    vote = db.session.scalars(select(Vote).where(Vote.seat_id == seats[0].id)).one()
    # Whichever came first, the member's own vote is the one that stands.
    assert (vote.choice, vote.recorded_by_id) == ("resident", None)
    revisions = [(r.choice, r.recorded_by_id) for r in db.session.scalars(
        select(VoteRevision).where(VoteRevision.vote_id == vote.id).order_by(VoteRevision.revision))]
    if answers["call"].status_code == 303:  # the call first: the member's vote changed what it recorded
        assert revisions == [("uphold", manager.id), ("resident", None)]
    else:  # the member first: the call was refused whole, saying why
        assert answers["call"].status_code == 409
        assert "already voted by link" in answers["call"].get_data(as_text=True) or \
            "changed while you were looking" in answers["call"].get_data(as_text=True)
        assert revisions == [("resident", None)]
        assert "call_recorded" not in [e.action for e in history(dispute)]
