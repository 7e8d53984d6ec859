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
from .workflow.definition import Decision
from .workflow.engine import dispute_engine

WORKFLOW = dispute_engine.definition


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
    # The team's votes in turn, until the review closes (everyone has voted, or the company closes it
    # once the result cannot change); a dispute left with the team has only the first
    # ``votes_left_in_review`` of them.
    votes: Sequence[str] = (Decision.UPHOLD, Decision.UPHOLD, Decision.COMPROMISE)
    votes_left_in_review: int = 0
    vote_reason: Callable[[PanelSeat, str], str] = _same_reason
    deadlock_decision: str = Decision.COMPROMISE
    deadlock_note: str = "Split the difference."
    withdraw_reason: str = "The resident settled with the owner directly."
    refer_reason: str = "The resident declined and asked for mediation."
    close_reason: str = "Resolved."
    lessons_learned: str = ""
    system_label: str = "Resolver"  # who the steps Resolver takes itself (a lapse, a closing) are by


class Pace:
    """Time between the steps. This one stands still, moving only when the story needs a deadline
    passed; the demo's walks the clock forward through each story."""

    def later(self, **delta: float) -> None:
        """Let time pass before the next step (``hours=5``)."""

    def move_to(self, moment: datetime) -> None:
        clock.move_to(moment)


# The road a dispute takes when nothing goes wrong, as the workflow's triggers, in order. A walk
# follows it until the dispute is in the state asked for; a state off the road (withdrawn, lapsed,
# referred) is reached by its own transition, taken at the first step of the road that allows it.
ROAD = ("open", "submit_evidence", "send_to_panel", "decide", "manager_decides", "draft_outcome",
        "send_outcome", "acknowledge", "close")


def walk_dispute(state: str, *, manager: StaffUser, resident: Resident, story: Story,
                 team: Callable[[Dispute], list[PanelMember]], pace: Pace | None = None) -> Dispute:
    """Create a dispute and take it to ``state``; ``team(dispute)`` picks who sits when it gets that far.

    Flushes, never commits. Raises RuntimeError when the story cannot end in ``state`` (votes that
    do not deadlock, say).
    """
    staff = Actor.staff(manager)
    dispute = disputes.create_dispute(
        staff, resident=resident, issue=story.issue, what_was_fixed=story.what_was_fixed,
        company_position=story.company_position, category=story.category,
        items=list(story.items) if story.items is not None else None,
    )
    walk = _Walk(dispute, staff, story, team, pace or Pace(), goal=state)
    detour = next((t.trigger for t in WORKFLOW.transitions.values() if t.dest == state and t.trigger not in ROAD), None)
    for trigger in ROAD:
        if dispute.state == state:
            break
        if detour and dispute.state != WORKFLOW.initial and WORKFLOW.can(detour, dispute.state):
            walk.take(detour)
            break
        if WORKFLOW.can(trigger, dispute.state):
            walk.take(trigger)
    if dispute.state != state:
        raise RuntimeError(f"the walk to {state} ended in {dispute.state}")
    return dispute


@dataclass
class _Walk:
    """One step of the walk per trigger, each through the verbs its people use."""

    dispute: Dispute
    staff: Actor
    story: Story
    team: Callable[[Dispute], list[PanelMember]]
    pace: Pace
    goal: str

    def take(self, trigger: str) -> None:
        getattr(self, trigger)()

    def open(self) -> None:
        self.pace.later(hours=1)
        disputes.open_dispute(self.staff, self.dispute)

    def withdraw(self) -> None:
        self.pace.later(days=2)
        disputes.withdraw_dispute(self.staff, self.dispute, reason=self.story.withdraw_reason)

    def lapse(self) -> None:
        self.pace.move_to(self.dispute.evidence_due_dt + timedelta(minutes=1))
        disputes.lapse_dispute(Actor.system(self.story.system_label), self.dispute)

    def submit_evidence(self) -> None:
        self.pace.later(days=1, hours=2)
        evidence.submit_evidence(
            Actor.resident(self.dispute.resident), self.dispute, form_key=uuid.uuid4().hex,
            details=self.story.details, suggested_resolution=self.story.suggestion,
            suggested_amount_cents=self.story.suggested_cents, files=list(self.story.files),
        )

    def send_to_panel(self) -> None:
        self.pace.later(hours=3)
        self.seats = panels.seat_panel(self.staff, self.dispute, [member.id for member in self.team(self.dispute)])
        panels.send_to_panel(self.staff, self.dispute)
        if self.goal == self.dispute.state:  # a walk that stops with the team leaves the votes it has so far
            self._vote(self.story.votes[:self.story.votes_left_in_review])

    def decide(self) -> None:
        self._vote(self.story.votes)
        self.pace.later(hours=2)
        panels.close_panel(Actor.system(self.story.system_label), self.dispute)  # a team already closed stays as it is
        if self.goal == WORKFLOW.state_of("deadlock") and self.dispute.state != self.goal:
            raise RuntimeError(f"the votes {tuple(self.story.votes)} did not deadlock")

    def _vote(self, votes) -> None:
        for seat, choice in zip(self.seats, votes):
            if not WORKFLOW.can("decide", self.dispute.state):
                break  # the team's review has closed (the company closes it once the result is clear)
            self.pace.later(hours=5)
            panels.record_vote(
                Actor.panel(seat.member), seat, choice=choice, reason=self.story.vote_reason(seat, choice),
                token_kind="coffee-shop gift card", token_cents=2500,
                concession_cents=5000 if choice != Decision.UPHOLD else None,
            )

    # Whether the team decides or splits is its votes' doing: the same step either way.
    deadlock = decide

    def manager_decides(self) -> None:
        panels.decide_deadlock(self.staff, self.dispute, decision=self.story.deadlock_decision,
                               note=self.story.deadlock_note)

    def draft_outcome(self) -> None:
        self.pace.later(hours=4)
        self.letter = outcome.draft_outcome(self.staff, self.dispute)

    def send_outcome(self) -> None:
        self.pace.later(hours=1)
        outcome.approve_letter(self.staff, self.letter, override_reason="")
        outcome.send_outcome(self.staff, self.dispute)

    def refer_out(self) -> None:
        self.pace.later(days=1)
        outcome.refer_out(self.staff, self.dispute, reason=self.story.refer_reason)

    def acknowledge(self) -> None:
        self.pace.later(days=1)
        outcome.acknowledge_outcome(Actor.resident(self.dispute.resident), self.dispute)

    def close(self) -> None:
        self.pace.later(days=2)
        disputes.close_dispute(self.staff, self.dispute, reason=self.story.close_reason,
                               lessons_learned=self.story.lessons_learned)
