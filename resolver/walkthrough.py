"""One dispute built in any state of the workflow through the real verbs, as the people would have.

The demo builds its disputes with it, and so does the tests' ``make_dispute`` factory: both take the
path the product takes. The caller says what the people say on the way (a ``Story``), who sits on
the team, and how time passes between the steps (a ``Pace``).
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import clock
from .actors import Actor
from .models import Dispute, PanelMember, PanelSeat, Resident, StaffUser
from .services import disputes, evidence, outcome
from .services import panel as panels


def _same_reason(seat: PanelSeat, choice: str) -> str:
    return f"{seat.member.name}: the photos and the inspection report point this way."


@dataclass(frozen=True)
class Story:
    """What the people say and decide on the way, from the dispute's opening to its close."""

    issue: str
    what_was_fixed: str
    company_position: str
    category: str
    items: Sequence[dict] | None = None
    # The resident's side (and any files, already stored by hash).
    details: str = ""
    suggestion: str = ""
    suggested_cents: int | None = None
    files: Sequence[dict] = ()
    # The team's votes in turn, until the result can no longer change; a dispute left with the team
    # has only the first ``votes_left_in_review`` of them.
    votes: Sequence[str] = ("uphold", "uphold", "compromise")
    votes_left_in_review: int = 0
    vote_reason: Callable[[PanelSeat, str], str] = _same_reason
    deadlock_decision: str = "compromise"
    deadlock_note: str = "Split the difference."
    withdraw_reason: str = "The resident settled with the owner directly."
    refer_reason: str = "The resident declined and asked for mediation."
    close_reason: str = "Resolved."
    system_label: str = "Resolver"  # who the steps Resolver takes itself (a lapse, a closing) are by


class Pace:
    """Time between the steps. This one stands still, moving only when the story needs a deadline
    passed; the demo's walks the clock forward through each story."""

    def later(self, **delta: float) -> None:
        """Let time pass before the next step (``hours=5``)."""

    def move_to(self, moment: datetime) -> None:
        clock.move_to(moment)


def walk_dispute(state: str, *, manager: StaffUser, resident: Resident, story: Story,
                 team: Callable[[Dispute], list[PanelMember]], pace: Pace | None = None) -> Dispute:
    """Create a dispute and take it to ``state``; ``team(dispute)`` picks who sits when it gets that far.

    Flushes, never commits. Raises RuntimeError when the story cannot end in ``state`` (votes that
    do not deadlock, say).
    """
    pace = pace or Pace()
    staff = Actor.staff(manager)
    dispute = disputes.create_dispute(
        staff, resident=resident, issue=story.issue, what_was_fixed=story.what_was_fixed,
        company_position=story.company_position, category=story.category,
        items=list(story.items) if story.items is not None else None,
    )
    if state != "draft":
        _walk_from_draft(state, dispute, staff, story, team, pace)
    if dispute.state != state:
        raise RuntimeError(f"the walk to {state} ended in {dispute.state}")
    return dispute


def _walk_from_draft(state, dispute, staff, story, team, pace) -> None:
    pace.later(hours=1)
    disputes.open_dispute(staff, dispute)
    if state == "withdrawn":
        pace.later(days=2)
        disputes.withdraw_dispute(staff, dispute, reason=story.withdraw_reason)
        return
    if state == "awaiting_evidence":
        return
    if state == "lapsed":
        pace.move_to(dispute.evidence_due_dt + timedelta(minutes=1))
        disputes.lapse_dispute(Actor.system(story.system_label), dispute)
        return
    pace.later(days=1, hours=2)
    evidence.submit_evidence(
        Actor.resident(dispute.resident), dispute, form_key=uuid.uuid4().hex,
        details=story.details, suggested_resolution=story.suggestion,
        suggested_amount_cents=story.suggested_cents, files=list(story.files),
    )
    if state == "evidence_received":
        return
    pace.later(hours=3)
    _through_the_team(state, dispute, staff, story, team, pace)
    if state in ("panel_review", "deadlocked"):
        return
    if dispute.state == "deadlocked":
        panels.decide_deadlock(staff, dispute, decision=story.deadlock_decision, note=story.deadlock_note)
    if state == "decided":
        return
    _through_the_outcome(state, dispute, staff, story, pace)


def _through_the_team(state, dispute, staff, story, team, pace) -> None:
    seats = panels.seat_panel(staff, dispute, [member.id for member in team(dispute)])
    panels.send_to_panel(staff, dispute)
    votes = story.votes[:story.votes_left_in_review] if state == "panel_review" else story.votes
    for seat, choice in zip(seats, votes):
        if dispute.state != "panel_review":
            break  # the result could no longer change, so the team closed early
        pace.later(hours=5)
        panels.record_vote(
            Actor.panel(seat.member), seat, choice=choice, reason=story.vote_reason(seat, choice),
            token_kind="coffee-shop gift card", token_cents=2500,
            concession_cents=5000 if choice != "uphold" else None,
        )
    if state == "panel_review":
        return
    pace.later(hours=2)
    panels.close_panel(Actor.system(story.system_label), dispute)  # a team closed early stays as it is
    if state == "deadlocked" and dispute.state != "deadlocked":
        raise RuntimeError(f"the votes {tuple(votes)} did not deadlock")


def _through_the_outcome(state, dispute, staff, story, pace) -> None:
    pace.later(hours=4)
    letter = outcome.draft_outcome(staff, dispute)
    if state == "outcome_draft":
        return
    pace.later(hours=1)
    outcome.approve_letter(staff, letter, override_reason="")
    outcome.send_outcome(staff, dispute)
    if state == "outcome_sent":
        return
    pace.later(days=1)
    if state == "referred":
        outcome.refer_out(staff, dispute, reason=story.refer_reason)
        return
    outcome.acknowledge_outcome(Actor.resident(dispute.resident), dispute)
    if state == "acknowledged":
        return
    pace.later(days=2)
    disputes.close_dispute(staff, dispute, reason=story.close_reason)
