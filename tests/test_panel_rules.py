"""The resolution team's rules, through the verbs: choosing the team and its conflicts, the frozen
packet, votes and their versions, recusal, the count (quorum, majority, tie, early close, the
deadline) and the combined recommendation, driven by a movable clock."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from resolver import clock
from resolver.actors import Actor
from resolver.deadlines import sweep_deadlines
from resolver.errors import DeadlinePassed, InvalidInput, NotAllowed, WrongState
from resolver.extensions import db
from resolver.models import AccessLink, CasePacket, PanelMember, PanelSeat, Vote, VoteRevision
from resolver.services import panel

from .dispute_checks import actions, emails, history, templates

REASON = "The inspection photos are clear, but the charge was never explained to the resident."


@pytest.fixture
def case(make_dispute, make_panel, manager):
    """``case(size=5, items=None, **company settings)``: a dispute with its team seated and the case sent."""

    def make(size: int = 5, items=None, chair: int | None = None, **settings):
        dispute = make_dispute("evidence_received", items=items)
        for name, value in settings.items():
            setattr(dispute.company, name, value)
        members = make_panel(dispute.company, size=size)
        seats = panel.seat_panel(Actor.staff(manager), dispute, [m.id for m in members],
                                 chair_id=members[chair].id if chair is not None else None)
        panel.send_to_panel(Actor.staff(manager), dispute)
        db.session.commit()
        return dispute, seats

    return make


def live_vote_links() -> list[AccessLink]:
    return db.session.scalars(
        select(AccessLink).where(AccessLink.purpose == "vote", AccessLink.revoked_dt.is_(None))
    ).all()


def vote(seat, choice, **extra):
    extra.setdefault("reason", REASON)
    return panel.record_vote(Actor.panel(seat.member), seat, choice=choice, **extra)


# Choosing the team -------------------------------------------------------------------------------

def test_the_team_must_be_an_odd_number_from_the_company_roster(make_dispute, make_panel, make_company, manager):
    dispute = make_dispute("evidence_received")
    members = make_panel(dispute.company, size=4)
    staff = Actor.staff(manager)
    with pytest.raises(InvalidInput, match="odd number"):
        panel.seat_panel(staff, dispute, [m.id for m in members])
    stranger = make_panel(make_company(), size=1)[0]
    with pytest.raises(InvalidInput, match="not on this company's roster"):
        panel.seat_panel(staff, dispute, [members[0].id, members[1].id, stranger.id])
    with pytest.raises(InvalidInput, match="chair must be one of"):
        panel.seat_panel(staff, dispute, [m.id for m in members[:3]], chair_id=members[3].id)
    assert db.session.scalars(select(PanelSeat)).all() == []
    seats = panel.seat_panel(staff, dispute, [m.id for m in members[:3]], chair_id=members[0].id)
    assert [s.member for s in seats] == members[:3] and seats[0].is_chair
    assert "seat_panel" in actions(dispute)


def test_conflicts_are_named_and_refused_unless_the_manager_accepts_a_soft_one(make_dispute, make_panel, manager):
    dispute = make_dispute("evidence_received")
    staff = Actor.staff(manager)
    a, b, c, d, e = make_panel(dispute.company, size=5)
    b.reports_to_id = manager.id
    c.excluded_property_ids = [dispute.unit.property.id]
    d.excluded_portfolios = ["north"]  # the factory's property is in the North portfolio
    e.email = manager.email
    assert panel.conflicts_for(dispute, a) == []
    assert panel.conflicts_for(dispute, b) == [f"{b.name} reports to {manager.name}, the manager of this dispute"]
    assert "must not judge disputes at" in panel.conflicts_for(dispute, c)[0]
    assert "must not judge the North portfolio" in panel.conflicts_for(dispute, d)[0]
    assert "is the manager of this dispute" in panel.conflicts_for(dispute, e)[0]
    assert set(panel.conflicts_for(dispute)) == {b.id, c.id, d.id, e.id}
    assert a.id not in panel.conflicts_for(dispute) and a in panel.propose_panel(dispute, size=5)
    assert not {b, c, d, e} & set(panel.propose_panel(dispute, size=9))

    with pytest.raises(InvalidInput, match=f"{b.name} reports to"):
        panel.seat_panel(staff, dispute, [a.id, b.id, make_panel(dispute.company, 1)[0].id])
    with pytest.raises(InvalidInput, match="must not judge"):
        panel.seat_panel(staff, dispute, [a.id, c.id, b.id], conflict_note="We know, it's fine.")
    others = make_panel(dispute.company, size=1)
    seats = panel.seat_panel(staff, dispute, [a.id, b.id, others[0].id],
                             conflict_note="Only peer with HOA experience; different office.")
    assert "Only peer with HOA experience" in seats[1].conflict_note and seats[0].conflict_note == ""
    assert history(dispute)[-1].data["accepted_conflicts"]


def test_a_supervisor_of_the_manager_is_a_reporting_line_too(make_dispute, make_panel, manager, company):
    from resolver.models import StaffUser

    dispute = make_dispute("evidence_received")
    boss, regional, peer = make_panel(dispute.company, size=3)
    db.session.add(StaffUser(company_id=company.id, email=boss.email.upper(), name="Bea Boss", role="supervisor"))
    company.supervisor_email = regional.email
    db.session.flush()
    assert panel.conflicts_for(dispute, boss) == [f"{boss.name} supervises {manager.name}, the manager of this dispute"]
    assert "supervises" in panel.conflicts_for(dispute, regional)[0]
    assert panel.conflicts_for(dispute, peer) == []
    with pytest.raises(InvalidInput, match="supervises"):
        panel.seat_panel(Actor.staff(manager), dispute, [boss.id, regional.id, peer.id])
    seats = panel.seat_panel(Actor.staff(manager), dispute, [boss.id, regional.id, peer.id],
                             conflict_note="A small office: the supervisors are the only peers free this week.")
    assert "supervises" in seats[0].conflict_note


def test_a_conflict_that_arose_after_seating_stops_the_case_going_out(make_dispute, make_panel, manager):
    dispute = make_dispute("evidence_received")
    members = make_panel(dispute.company, size=3)
    panel.seat_panel(Actor.staff(manager), dispute, [m.id for m in members])
    members[2].excluded_portfolios = ["North"]
    with pytest.raises(InvalidInput, match=f"{members[2].name} must not judge the North portfolio"):
        panel.send_to_panel(Actor.staff(manager), dispute)
    assert dispute.state == "evidence_received" and emails(dispute, "panel_invitation") == []


def test_the_proposal_spreads_the_work_and_keeps_the_reserve_for_replacements(make_dispute, make_panel, manager):
    dispute = make_dispute("evidence_received")
    members = make_panel(dispute.company, size=5)
    members[0].is_reserve = True
    proposal = panel.propose_panel(dispute)
    assert len(proposal) == dispute.company.panel_size == 3
    assert members[0] not in proposal
    assert panel.propose_replacement(dispute) == members[0]


# The packet and the invitations ------------------------------------------------------------------

def test_sending_freezes_the_packet_without_the_residents_contact_details(case, resident):
    dispute, seats = case(size=3, items=[{"description": "Carpet cleaning", "amount_cents": 15000,
                                          "company_reason": "Stains in the living room."}])
    packet = db.session.scalars(select(CasePacket).where(CasePacket.dispute_id == dispute.id)).one()
    text = str(packet.content)
    assert packet.version == 1 and len(packet.sha256) == 64
    assert "Refund the $150 cleaning charge." in text and "The carpet needed professional cleaning." in text
    assert packet.content["resident"]["initials"] == resident.initials and packet.content["resident"]["unit"]
    for private in (resident.name, resident.email, resident.phone):
        assert private not in text
    assert packet.content["items"][0]["description"] == "Carpet cleaning"
    assert dispute.state == "panel_review" and dispute.panel_opened_dt == clock.now_utc()
    # The team's time ends early enough to write the letter inside the reply window.
    assert dispute.panel_due_dt <= dispute.reply_due_dt - timedelta(days=2)
    invitations = emails(dispute, "panel_invitation")
    assert sorted(e.to_addr for e in invitations) == sorted(s.member.email for s in seats)
    links = db.session.scalars(select(AccessLink).where(AccessLink.purpose == "vote")).all()
    assert {link.seat_id for link in links} == {s.id for s in seats}
    assert all(link.expires_dt > dispute.panel_due_dt for link in links)
    assert "packet_frozen" in actions(dispute) and "send_to_panel" in actions(dispute)


def test_a_resident_who_typed_their_contact_details_in_is_still_anonymous(make_dispute, make_panel, manager,
                                                                          resident):
    from resolver.models import Submission

    dispute = make_dispute("evidence_received")
    submission = db.session.scalars(select(Submission).where(Submission.dispute_id == dispute.id)).one()
    submission.details = f"Call me on {resident.phone} or write to {resident.email}. {resident.name}"
    members = make_panel(dispute.company, size=3)
    panel.seat_panel(Actor.staff(manager), dispute, [m.id for m in members])
    panel.send_to_panel(Actor.staff(manager), dispute)
    details = panel.current_packet(dispute).content["resident_side"][0]["details"]
    assert resident.phone not in details and resident.email not in details and resident.name not in details
    assert "[phone removed]" in details and "[email removed]" in details


def test_contact_details_the_manager_wrote_down_are_left_out_of_the_packet_too(make_dispute, make_panel, manager,
                                                                               resident):
    from resolver.models import EvidenceFile, Submission

    dispute = make_dispute(
        "evidence_received", items=[{"description": "Carpet cleaning", "amount_cents": 15000,
                                     "company_reason": f"{resident.name} agreed on {resident.phone}."}],
        what_was_fixed=f"Called {resident.name} on {resident.phone} and re-cleaned the carpet.",
        company_position=f"We wrote to {resident.email}; the charge stands.",
    )
    submission = db.session.scalars(select(Submission).where(Submission.dispute_id == dispute.id)).one()
    db.session.add(EvidenceFile(submission_id=submission.id, dispute_id=dispute.id,
                                original_name=f"{resident.name} move-out.pdf", content_type="application/pdf",
                                size_bytes=10, sha256="0" * 64))
    members = make_panel(dispute.company, size=3)
    panel.seat_panel(Actor.staff(manager), dispute, [m.id for m in members])
    panel.send_to_panel(Actor.staff(manager), dispute)
    content = panel.current_packet(dispute).content
    text = str(content)
    for private in (resident.name, resident.email, resident.phone):
        assert private not in text
    assert "re-cleaned the carpet" in content["company_side"]["what_was_fixed"]
    assert content["evidence"][0]["name"].endswith("move-out.pdf")


# Votes -------------------------------------------------------------------------------------------

def test_a_member_changes_their_vote_and_every_version_is_kept(case):
    dispute, seats = case()
    first = vote(seats[0], "uphold")
    second = vote(seats[0], "compromise", reason="On reflection, meet them partway.", concession_cents=5000)
    assert first is second and second.revision == 2 and second.choice == "compromise"
    revisions = db.session.scalars(select(VoteRevision).order_by(VoteRevision.revision)).all()
    assert [(r.revision, r.choice) for r in revisions] == [(1, "uphold"), (2, "compromise")]
    assert second.packet_id == panel.current_packet(dispute).id
    assert actions(dispute)[-2:] == ["vote", "change_vote"]
    assert all("choice" not in e.data for e in history(dispute))  # how they voted stays private until close


def test_bad_votes_are_refused_and_change_nothing(case):
    dispute, seats = case()
    cap = dispute.company.token_cap_cents
    refusals = [
        (dict(choice="maybe"), "Choose one"),
        (dict(choice="uphold", reason="   "), "give your reason"),
        (dict(choice="uphold", token_cents=cap + 1), "at most"),
        (dict(choice="uphold", concession_cents=dispute.company.concession_cap_cents + 100), "at most"),
        (dict(choice="uphold", token_cents=-5), "cannot be negative"),
    ]
    for fields, message in refusals:
        with pytest.raises(InvalidInput, match=message):
            vote(seats[0], **fields)
        db.session.rollback()
    with pytest.raises(NotAllowed, match=f"belongs to {seats[0].member.name}"):
        panel.record_vote(Actor.panel(seats[1].member), seats[0], choice="uphold", reason=REASON)
    assert db.session.scalars(select(Vote)).all() == []


def test_a_member_conflicted_after_seating_cannot_vote(case):
    dispute, seats = case(size=3)
    seats[0].member.excluded_property_ids = [dispute.unit.property.id]
    with pytest.raises(NotAllowed, match="conflict of interest"):
        vote(seats[0], "uphold")
    assert db.session.scalars(select(Vote)).all() == []


def test_one_vote_per_seat_is_the_databases_rule(case):
    dispute, seats = case(size=3)
    packet = panel.current_packet(dispute)
    for _ in range(2):
        db.session.add(Vote(seat_id=seats[0].id, dispute_id=dispute.id, packet_id=packet.id, choice="uphold",
                            reason=REASON))
    with pytest.raises(IntegrityError):
        db.session.flush()


def test_two_first_votes_from_one_member_racing_make_one_row(app, case):
    """Both requests saw no vote yet; the second insert fails on the constraint, not on a check."""
    dispute, seats = case(size=3)
    seat_id = seats[0].id
    with app.app_context():
        other_seat = db.session.get(PanelSeat, seat_id)
        assert db.session.scalars(select(Vote)).first() is None  # both looked before either wrote
        vote(seats[0], "uphold")
        db.session.commit()
        with pytest.raises(IntegrityError):
            db.session.add(Vote(seat_id=other_seat.id, dispute_id=dispute.id,
                                packet_id=panel.current_packet(dispute).id, choice="resident", reason=REASON))
            db.session.flush()
        db.session.rollback()
    assert len(db.session.scalars(select(Vote)).all()) == 1


# The count ---------------------------------------------------------------------------------------

def test_everyone_voted_closes_the_panel_at_once_and_a_split_deadlocks(case):
    dispute, seats = case(size=3)
    for seat, choice in zip(seats, ("uphold", "resident", "compromise")):
        vote(seat, choice)
    assert dispute.state == "deadlocked" and dispute.panel_closed_dt == clock.now_utc()
    assert dispute.decision is None
    event = [e for e in history(dispute) if e.action == "deadlock"][0]
    assert "Everyone on the team has voted" in event.reason and "split" in event.reason
    assert event.data["counts"] == {"uphold": 1, "resident": 1, "compromise": 1}


def test_a_company_that_chose_it_closes_the_panel_once_the_result_cannot_change(case):
    dispute, seats = case(size=5, is_panel_closing_early=True)
    vote(seats[0], "resident")
    vote(seats[1], "resident")
    assert dispute.state == "panel_review"
    vote(seats[2], "uphold")
    assert dispute.state == "panel_review"  # 2 against 1: the other two could still turn it
    vote(seats[3], "resident")
    assert dispute.state == "decided" and dispute.decision == "resident" and dispute.decided_by == "panel"
    assert "can no longer change" in [e for e in history(dispute) if e.action == "decide"][0].reason
    with pytest.raises(WrongState, match="closed"):
        vote(seats[4], "uphold")


def test_at_the_deadline_a_majority_of_a_quorum_decides(case):
    dispute, seats = case(size=5)
    vote(seats[0], "compromise", token_cents=1000, token_kind="coffee card", concession_cents=2000)
    vote(seats[1], "compromise", token_cents=4000, token_kind="coffee card", concession_cents=8000)
    vote(seats[2], "uphold", token_cents=5000)
    db.session.commit()
    clock.advance(dispute.panel_due_dt - clock.now_utc())
    sweep_deadlines()
    db.session.refresh(dispute)
    assert dispute.state == "decided" and dispute.decision == "compromise"
    result = panel.tally(dispute)
    assert (result.voted, result.seated, result.choice) == (3, 5, "compromise")
    # The median of the winning side only: the losing vote's $50 does not count.
    assert result.token_cents == 2500 and result.token_kind == "coffee card" and result.concession_cents == 5000


def test_without_a_quorum_the_panel_deadlocks_and_the_manager_decides(case, manager):
    dispute, seats = case(size=5)
    vote(seats[0], "resident")
    vote(seats[1], "resident")
    db.session.commit()
    clock.advance(dispute.panel_due_dt - clock.now_utc())
    sweep_deadlines()
    db.session.refresh(dispute)
    assert dispute.state == "deadlocked"
    assert "at least 3 must vote" in [e for e in history(dispute) if e.action == "deadlock"][0].reason
    with pytest.raises(InvalidInput, match="Say why"):
        panel.decide_deadlock(Actor.staff(manager), dispute, decision="resident", note="")
    panel.decide_deadlock(Actor.staff(manager), dispute, decision="resident", note="Both who voted agreed.")
    assert dispute.state == "decided" and dispute.decided_by == "manager" and dispute.decision_note
    assert actions(dispute)[-1] == "manager_decides"


def test_a_tie_among_the_voters_deadlocks(case):
    dispute, seats = case(size=5)
    for seat, choice in zip(seats, ("uphold", "uphold", "resident", "resident")):
        vote(seat, choice)
    panel.close_panel(Actor.system(), dispute)
    assert dispute.state == "deadlocked"


def test_the_chair_may_decide_a_split_and_nobody_else_on_the_team_may(case, smtp):
    dispute, seats = case(size=3, chair=0)
    for seat, choice in zip(seats, ("uphold", "resident", "compromise")):
        vote(seat, choice)
    assert dispute.state == "deadlocked"
    assert [e.to_addr for e in emails(dispute, "panel_chair_decides")] == [seats[0].member.email]
    # Every member's link still shows them the result; only the chair's page offers the decision.
    assert sorted(link.seat_id for link in live_vote_links()) == sorted(seat.id for seat in seats)
    with pytest.raises(NotAllowed, match="chair or the manager"):
        panel.decide_deadlock(Actor.panel(seats[1].member), dispute, decision="resident", note="Mine.")
    panel.decide_deadlock(Actor.panel(seats[0].member), dispute, decision="compromise", note="Meet halfway.")
    assert dispute.state == "decided" and dispute.decided_by == "chair"
    assert "panel_chair_decided" in templates(dispute)


def test_a_recused_member_is_replaced_from_the_reserve_and_their_vote_stops_counting(case, make_panel, manager):
    dispute, seats = case(size=3)
    reserve = make_panel(dispute.company, size=1)[0]
    reserve.is_reserve = True
    vote(seats[0], "resident")
    with pytest.raises(InvalidInput, match="why you are stepping aside"):
        panel.recuse(Actor.panel(seats[0].member), seats[0], reason="")
    proposed = panel.recuse(Actor.panel(seats[0].member), seats[0], reason="I know the resident's family.")
    assert proposed == reserve
    recusal = emails(dispute, "panel_recusal")[0]
    assert recusal.to_addr == manager.email and reserve.name in recusal.body_text
    assert "I know the resident's family." in recusal.body_text
    assert panel.tally(dispute).voted == 0 and panel.tally(dispute).seated == 2
    with pytest.raises(NotAllowed, match="stepped aside"):
        vote(seats[0], "uphold")
    new_seat = panel.replace_seat(Actor.staff(manager), dispute, reserve.id)
    assert emails(dispute, "panel_invitation")[-1].to_addr == reserve.email
    for seat in (seats[1], new_seat):
        vote(seat, "uphold")
    assert dispute.state == "panel_review"  # seats[2] has not voted yet
    vote(seats[2], "resident")
    assert dispute.state == "decided" and dispute.decision == "uphold"
    assert "recuse" in actions(dispute) and "replace_seat" in actions(dispute)


def test_a_vote_after_the_deadline_is_refused_even_before_the_sweep(case):
    dispute, seats = case(size=3)
    clock.advance(dispute.panel_due_dt - clock.now_utc() + timedelta(seconds=1))
    with pytest.raises(DeadlinePassed, match="ended"):
        vote(seats[0], "uphold")
    assert db.session.scalars(select(Vote)).all() == []


def test_per_item_decisions_follow_the_team_item_by_item(case):
    items = [{"description": "Carpet cleaning", "amount_cents": 15000},
             {"description": "Wall repainting", "amount_cents": 30000}]
    dispute, seats = case(size=3, items=items)
    carpet, walls = dispute.items
    with pytest.raises(InvalidInput, match="not on this dispute"):
        vote(seats[0], "uphold", item_choices={"999999": "resident"})
    vote(seats[0], "compromise", item_choices={str(carpet.id): "resident", str(walls.id): "uphold"})
    vote(seats[1], "compromise", item_choices={str(carpet.id): "resident"})
    vote(seats[2], "uphold")
    assert dispute.state == "decided" and dispute.decision == "compromise"
    assert (carpet.decision, carpet.granted_cents) == ("resident", 15000)
    assert (walls.decision, walls.granted_cents) == ("uphold", 0)


def test_a_changed_vote_is_stored_and_counted_with_its_new_choices(case):
    items = [{"description": "Carpet cleaning", "amount_cents": 15000},
             {"description": "Wall repainting", "amount_cents": 30000}]
    dispute, seats = case(size=5, items=items)
    carpet, walls = dispute.items
    first = vote(seats[0], "compromise", item_choices={str(carpet.id): "resident"}, concession_cents=5000)
    cast = clock.now_utc()
    clock.advance(timedelta(minutes=5))
    vote(seats[0], "uphold", item_choices={str(walls.id): "resident"}, token_cents=1500)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Vote, first.id)
    assert (stored.choice, stored.item_choices, stored.revision) == ("uphold", {str(walls.id): "resident"}, 2)
    assert (stored.token_cents, stored.token_kind, stored.concession_cents) == (1500, "gift card", None)
    assert stored.cast_dt == cast and stored.changed_dt == clock.now_utc()
    assert [r.choice for r in db.session.scalars(select(VoteRevision).order_by(VoteRevision.revision))] == [
        "compromise", "uphold"]
    result = panel.tally(dispute)
    assert result.counts == {"uphold": 1, "resident": 0, "compromise": 0} and result.voted == 1


def test_progress_shows_who_voted_not_how_until_the_panel_closes(case):
    dispute, seats = case(size=3)
    vote(seats[0], "resident")
    progress = panel.panel_progress(dispute)
    assert [s.status for s in progress.seats] == ["voted", "not voted yet", "not voted yet"]
    assert all(s.choice is None for s in progress.seats) and not progress.shows_choices
    assert progress.waiting_for == [seats[1].member.name, seats[2].member.name]
    dispute.company.is_panel_anonymous = False
    assert panel.panel_progress(dispute).seats[0].choice == "resident"
    dispute.company.is_panel_anonymous = True
    vote(seats[1], "resident")
    vote(seats[2], "uphold")
    assert dispute.state == "decided"
    assert panel.panel_progress(dispute).seats[0].choice == "resident"


def test_the_manager_gets_the_result_the_moment_the_panel_closes(case, manager):
    dispute, seats = case(size=3)
    vote(seats[0], "uphold", token_cents=2500, token_kind="coffee card")
    vote(seats[1], "uphold", token_cents=1500, token_kind="coffee card")
    assert emails(dispute, "panel_result") == []  # the third member may still vote
    vote(seats[2], "resident")
    result = emails(dispute, "panel_result")
    assert len(result) == 1 and result[0].to_addr == manager.email
    assert "The team decided" in result[0].subject and "$20" in result[0].body_text
    assert len(live_vote_links()) == 3  # each member's link now shows them the result
    assert panel.close_panel(Actor.system(), dispute) is dispute  # closing twice changes nothing
    assert len(emails(dispute, "panel_result")) == 1


def test_reminders_go_only_to_members_who_have_not_voted(case):
    dispute, seats = case(size=3)
    vote(seats[0], "uphold")
    db.session.commit()
    clock.advance(dispute.panel_due_dt - timedelta(days=1) - clock.now_utc())
    sweep_deadlines()
    reminders = emails(dispute, "panel_reminder")
    assert sorted(e.to_addr for e in reminders) == sorted(s.member.email for s in seats[1:])
    assert all("/p/v/" in e.body_text for e in reminders)


def test_every_state_change_is_audited(case, manager):
    dispute, seats = case(size=3)
    for seat, choice in zip(seats, ("uphold", "resident", "compromise")):
        vote(seat, choice)
    panel.decide_deadlock(Actor.staff(manager), dispute, decision="uphold", note="Records support it.")
    moves = [(e.action, e.from_state, e.to_state) for e in history(dispute) if e.is_state_change]
    assert moves[-3:] == [("send_to_panel", "evidence_received", "panel_review"),
                          ("deadlock", "panel_review", "deadlocked"),
                          ("manager_decides", "deadlocked", "decided")]


def test_the_roster_member_model_keeps_its_exclusions(company):
    member = PanelMember(company_id=company.id, name="Pat Peer", email="pat@peers.test",
                         excluded_property_ids=[1, 2], excluded_portfolios=["South"])
    db.session.add(member)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(PanelMember, member.id).excluded_portfolios == ["South"]


def test_the_rules_are_data_in_the_workflow_definition(case, monkeypatch):
    """A stricter definition (two thirds to win, no early close) counts the same votes differently."""
    from dataclasses import replace

    from resolver.workflow.engine import dispute_engine

    assert panel.rules() == dispute_engine.definition.panel
    strict = replace(dispute_engine.definition.panel, majority_share=0.67, early_close=())
    monkeypatch.setattr(panel.result, "rules", lambda: strict)  # the count reads the rules there
    dispute, seats = case(size=3)
    for seat, choice in zip(seats, ("uphold", "uphold", "resident")):
        vote(seat, choice)
    assert dispute.state == "panel_review"  # everyone voted, but this definition does not close early
    panel.close_panel(Actor.system(), dispute)
    assert dispute.state == "deadlocked"  # 2 of 3 is not more than 67%


def test_a_definition_with_a_rule_resolver_does_not_know_is_refused(monkeypatch):
    from dataclasses import replace

    from resolver.workflow.engine import dispute_engine

    odd = replace(dispute_engine.definition.panel, early_close=("when_the_manager_feels_like_it",))
    monkeypatch.setattr(dispute_engine, "definition", replace(dispute_engine.definition, panel=odd))
    with pytest.raises(ValueError, match="when_the_manager_feels_like_it"):
        panel.rules()
    # A rule a company may choose must name a setting the company has.
    unset = replace(dispute_engine.definition.panel, early_close_chosen=(("result_cannot_change", "is_in_a_hurry"),))
    monkeypatch.setattr(dispute_engine, "definition", replace(dispute_engine.definition, panel=unset))
    with pytest.raises(ValueError, match="is_in_a_hurry"):
        panel.rules()


def test_the_count_is_worked_out_from_plain_values_alone():
    """No database, no session: seats, ballots and the rules in, the result out."""
    from resolver.services.panel.count import Ballot, count_votes
    from resolver.workflow.definition import PanelRules

    rules = PanelRules(size=3, minimum_time=timedelta(hours=24), quorum_share=0.5, majority_share=0.5, tie="deadlocked",
                       early_close=("everyone_voted", "result_cannot_change"))
    ballots = [
        Ballot("compromise", "Pat Peer: the carpet was old.", "Pat Peer", token_kind="coffee card", token_cents=2000),
        Ballot("compromise", "Half the charge is fair.", "Sam Side", token_cents=3000, concession_cents=5000,
               item_choices={"7": "resident"}),
        Ballot("uphold", "The lease is clear.", "Lee Law"),
    ]
    result = count_votes(seated=3, ballots=ballots, item_ids=[7], rules=rules, is_reviewing=True, is_anonymous=True)
    assert (result.choice, result.counts, result.quorum) == ("compromise", {"uphold": 1, "resident": 0,
                                                                             "compromise": 2}, 2)
    assert (result.token_cents, result.token_kind, result.concession_cents) == (2500, "coffee card", 5000)
    assert result.item_choices == {7: "compromise"}  # one of three said "resident" for the item: not a majority
    assert result.early_close_reason == "Everyone on the team has voted."
    assert [o.author for o in result.opinions] == ["A team member"] * 3
    assert result.opinions[0].reason == "The carpet was old."  # the name is taken out

    split = count_votes(seated=3, ballots=ballots[1:], item_ids=[], rules=rules, is_reviewing=True,
                        is_anonymous=False)
    assert split.is_deadlocked and split.is_quorate and not split.early_close_reason
    assert split.opinions[1].author == "Lee Law" and split.token_cents is None
