"""The team's review keeps the invitation's promise: it closes when everyone seated has voted or when
its window ends, and a member can change their vote until then. Closing as soon as the result cannot
change is the company's choice, and then the invitation says so. A member's own pages (the
thank-you, their vote, the result once closed) always answer 200."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from resolver import clock
from resolver.actors import Actor
from resolver.deadlines import sweep_deadlines
from resolver.extensions import db
from resolver.models import Company, CompanyEvent, Dispute, Vote
from resolver.services import panel

from .dispute_checks import emails, history
from .test_manager_settings import RULES
from .test_panel_vote_page import REASON, csrf_of, page_text, post_vote, sent_case, snapshot  # noqa: F401

CHANGE_PROMISE = "You can change your vote until the review closes"
EARLY_CLOSE_WARNING = "The review closes as soon as the team's result is clear"


def state_of(dispute) -> str:
    db.session.expire_all()
    return db.session.get(Dispute, dispute.id).state


def member_page(client, path) -> str:
    """A member's page, which must answer 200, as its text."""
    response = client.get(path)
    assert response.status_code == 200, page_text(response)
    return page_text(response)


def test_the_third_member_still_votes_after_two_matching_votes(client, sent_case):
    dispute, seats, paths = sent_case()
    for path in paths[:2]:
        assert post_vote(client, path, choice="uphold").status_code == 303
    assert state_of(dispute) == "panel_review"
    assert panel.tally(dispute).early_close_reason == ""
    page = member_page(client, paths[2])
    assert "Please vote by" in page and "review is complete" not in page
    assert post_vote(client, paths[2], choice="resident").status_code == 303
    db.session.expire_all()
    assert len(db.session.scalars(select(Vote)).all()) == 3


def test_a_member_changes_their_vote_before_the_window_ends_and_the_change_counts(client, sent_case):
    dispute, seats, paths = sent_case()
    assert post_vote(client, paths[0], choice="uphold").status_code == 303
    assert post_vote(client, paths[1], choice="uphold").status_code == 303
    clock.advance(dispute.panel_due_dt - clock.now_utc() - timedelta(hours=1))  # an hour left
    assert post_vote(client, paths[0], choice="resident", reason="On reflection, the photos favour her.").status_code == 303
    page = member_page(client, paths[0])
    assert "Your vote is recorded (the resident's suggested resolution is granted)" in page
    assert "You can change it until the review closes" in page
    db.session.expire_all()
    vote = db.session.scalars(select(Vote).where(Vote.seat_id == seats[0].id)).one()
    assert (vote.choice, vote.revision) == ("resident", 2)
    assert panel.tally(db.session.get(Dispute, dispute.id)).counts == {"uphold": 1, "resident": 1, "compromise": 0}
    assert state_of(dispute) == "panel_review"


def test_the_review_closes_once_everyone_has_voted(client, sent_case, manager):
    dispute, seats, paths = sent_case()
    for path, choice in zip(paths, ("uphold", "uphold", "compromise")):
        assert post_vote(client, path, choice=choice).status_code == 303
    assert state_of(dispute) == "decided"
    decide = [e for e in history(dispute) if e.action == "decide"][0]
    assert "Everyone on the team has voted" in decide.reason
    assert [e.to_addr for e in emails(dispute, "panel_result")] == [manager.email]


def test_the_review_closes_at_its_windows_end_through_the_sweep(client, sent_case, frozen_clock, manager):
    dispute, seats, paths = sent_case()
    for path in paths[:2]:
        assert post_vote(client, path, choice="compromise").status_code == 303
    frozen_clock.advance(dispute.panel_due_dt - clock.now_utc() - timedelta(minutes=1))
    sweep_deadlines()
    assert state_of(dispute) == "panel_review"  # a minute left: the third member may still vote
    frozen_clock.advance(timedelta(minutes=1))
    sweep_deadlines()
    db.session.expire_all()
    closed = db.session.get(Dispute, dispute.id)
    assert (closed.state, closed.decision) == ("decided", "compromise")
    assert "The team's time is up." in [e for e in history(closed) if e.action == "decide"][0].reason
    assert [e.to_addr for e in emails(dispute, "panel_result")] == [manager.email]
    # The member who did not vote comes back to a kind page, not an error.
    page = member_page(client, paths[2])
    assert "The team's review is complete" in page and "You did not vote on this case." in page
    assert "The team decided that a compromise is fairer (2 of 2 votes)." in page


def test_the_invitation_and_reminder_promise_changes_unless_the_company_closes_early(sent_case):
    dispute, seats, paths = sent_case()
    [invitation, *_] = emails(dispute, "panel_invitation")
    for body in (invitation.body_text, invitation.body_html):
        assert CHANGE_PROMISE in body and "or sooner once everyone on the team has voted" in body
        assert EARLY_CLOSE_WARNING not in body
    db.session.commit()
    clock.advance(dispute.panel_due_dt - timedelta(days=1) - clock.now_utc())
    sweep_deadlines()
    [reminder, *_] = emails(dispute, "panel_reminder")
    assert "you can change your vote until the review closes" in reminder.body_text
    assert "as soon as the team's result is clear" not in reminder.body_text


def test_a_company_that_chose_early_close_says_so_and_the_review_closes_once_the_result_is_clear(
        client, sent_case):
    dispute, seats, paths = sent_case(is_panel_closing_early=True)
    [invitation, *_] = emails(dispute, "panel_invitation")
    for body in (invitation.body_text, invitation.body_html):
        assert EARLY_CLOSE_WARNING in body and "votes can no longer be cast or changed" in body
        assert CHANGE_PROMISE not in body
    assert post_vote(client, paths[0], choice="uphold").status_code == 303
    assert post_vote(client, paths[1], choice="uphold").status_code == 303
    assert state_of(dispute) == "decided"
    assert "The result can no longer change" in [e for e in history(dispute) if e.action == "decide"][0].reason
    page = member_page(client, paths[2])
    assert "The team's review is complete" in page and 'id="vote-form"' not in client.get(paths[2]).get_data(
        as_text=True)
    clock.advance(timedelta(days=1))
    sweep_deadlines()
    assert not emails(dispute, "panel_reminder")  # nobody is reminded to vote on a closed review


def test_every_page_a_member_sees_after_voting_and_after_the_close_answers_200(client, sent_case):
    dispute, seats, paths = sent_case(chair=2)
    file_id = panel.current_packet(dispute).content["evidence"][0]["id"]
    token = csrf_of(client.get(paths[2]))  # the page as it was before the close, sent again later
    # The thank-you page after each vote; the last vote closes the review.
    for path, choice in zip(paths, ("uphold", "uphold", "resident")):
        response = post_vote(client, path, choice=choice)
        assert response.status_code == 303
        thanks = client.get(response.headers["Location"])
        assert thanks.status_code == 200 and "Your vote is recorded" in page_text(thanks)
    assert "with it the team's review is complete" in page_text(thanks)
    assert state_of(dispute) == "decided"
    # Each member's link now shows what they voted and the team's result.
    for path, mine in zip(paths, ("the company's position stands", "the company's position stands",
                                  "the resident's suggested resolution is granted")):
        page = member_page(client, path)
        assert "The team's review is complete" in page and f"Your vote: {mine}." in page
        assert "The team decided that the company's position stands (2 of 3 votes)." in page
    # A vote, a step aside or a decision sent after the close: a clear page, nothing changed.
    before = snapshot(dispute.id)
    for url, data in ((paths[2], {"choice": "uphold", "reason": REASON}),
                      (f"{paths[2]}/step-aside", {"recusal_reason": "Too late now."}),
                      (f"{paths[2]}/decide", {"decision": "uphold", "note": "Me too."})):
        late = client.post(url, data={"csrf_token": token, **data})
        assert late.status_code == 200 and "Nothing was changed." in page_text(late), url
        assert "Your vote: the resident's suggested resolution is granted." in page_text(late)
    assert snapshot(dispute.id) == before
    # The case's files were for the review; once it is over they are not offered.
    assert client.get(f"{paths[0]}/files/{file_id}").status_code == 404
    # A stranger's made-up link still gets its error.
    assert client.get(paths[0][:-4] + "abcd").status_code == 404


def test_a_split_team_s_members_see_the_result_before_and_after_the_manager_decides(client, sent_case, manager):
    dispute, seats, paths = sent_case()
    for path, choice in zip(paths, ("uphold", "resident", "compromise")):
        assert post_vote(client, path, choice=choice).status_code == 303
    assert state_of(dispute) == "deadlocked"
    for path in paths:
        assert f"The team was split, so {manager.name} will decide" in member_page(client, path)
    panel.decide_deadlock(Actor.staff(manager), db.session.get(Dispute, dispute.id), decision="compromise",
                          note="Both sides had a point.")
    db.session.commit()
    for path in paths:
        page = member_page(client, path)
        assert f"The team was split, so {manager.name} decided that a compromise is fairer." in page


def test_a_supervisor_chooses_early_close_in_the_settings_and_the_history_says_so(signed_in_client, supervisor,
                                                                                 company):
    staff = signed_in_client(supervisor)
    assert "Close the team's review as soon as its result cannot change" in staff.get("/settings").get_data(
        as_text=True)
    assert staff.post("/settings/company", {**RULES, "is_panel_closing_early": "on"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Company, company.id).is_panel_closing_early
    event = db.session.scalars(select(CompanyEvent).where(CompanyEvent.action == "rules_changed")).one()
    assert event.data["changed"]["is_panel_closing_early"] == [False, True]
    assert "closing the team&#39;s review as soon as its result cannot change (on)" in staff.get(
        "/settings").get_data(as_text=True)
    assert staff.post("/settings/company", RULES).status_code == 303  # the box left unticked turns it off
    db.session.expire_all()
    assert not db.session.get(Company, company.id).is_panel_closing_early
