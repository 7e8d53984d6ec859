"""Ending the team's review: counting and closing it (decided, or deadlocked), and deciding a
deadlock (the manager, or the team's chair, with a note)."""
from __future__ import annotations

from sqlalchemy import select

from ...actors import Actor
from ...clock import now_utc
from ...errors import InvalidInput, NotAllowed, WrongState
from ...extensions import db
from ...links import current_link, link_url
from ...models import Dispute, PanelSeat
from ...workflow.definition import Decision
from ...workflow.engine import dispute_engine
from ..access import check_version, require_staff
from ..ladder import supervisors_besides_manager
from ..notify import tell
from .count import TallyResult
from .progress import panel_progress
from .result import Team, tally, team_of

WORKFLOW = dispute_engine.definition

# What the deciding chair or manager is told when the decision is incomplete (the chair's form on the
# vote page says the same, from these).
DECISION_NEEDED = "Choose the decision."
NOTE_NEEDED = "Say why, in a sentence or two; the letter can use it and the history keeps it."


def _apply_item_decisions(dispute: Dispute, item_choices: dict[int, str | None], fallback: str) -> None:
    for item in dispute.items:
        decision = item_choices.get(item.id) or fallback
        item.decision = decision
        item.granted_cents = {Decision.RESIDENT: item.amount_cents, Decision.UPHOLD: 0}.get(decision)


def close_panel(
    actor: Actor, dispute: Dispute, *, reason: str = "", team: Team | None = None, result: TallyResult | None = None,
) -> Dispute:
    """Count the votes and end the review: decided, or deadlocked for the manager (or chair) to decide.

    The members' links keep working, to show each member their vote and the team's result (the
    vote itself refuses once the review is closed; a chair decides a split through theirs), and the
    manager gets the result by email; a deadlock reaches the supervisor (the ladder contact) too.
    Closing a panel that already closed changes nothing.
    ``team`` and ``result``: the rows and the count of a vote that closes the panel.
    """
    if not actor.is_system:
        require_staff(actor, dispute)
    if not WORKFLOW.can("decide", dispute.state):
        if dispute.panel_closed_dt is not None:
            return dispute
        raise WrongState(f"The team is not reviewing this case; it is {dispute.state_label}.")
    now = now_utc()
    team = team_of(dispute) if team is None else team
    result = tally(dispute, team) if result is None else result
    why = reason or ("The team's time is up." if dispute.panel_due_dt and now >= dispute.panel_due_dt
                     else "Closed by the manager.")
    dispute.panel_closed_dt = now
    data = {"seated": result.seated, "voted": result.voted, "counts": result.counts,
            "token_cents": result.token_cents, "concession_cents": result.concession_cents}
    chair = next((seat for seat, _ in team if seat.is_chair and seat.recused_dt is None), None)
    if result.is_decided:
        dispute.decision = result.choice
        dispute.decided_dt = now
        dispute.decided_by = "panel"
        _apply_item_decisions(dispute, result.item_choices, result.choice)
        dispute_engine.fire(dispute, "decide", actor=actor, now=now, reason=f"{why} {result.explanation}", data=data)
    else:
        dispute_engine.fire(dispute, "deadlock", actor=actor, now=now, reason=f"{why} {result.explanation}",
                            data=data)
    told = {"result": result, "progress": panel_progress(dispute, team, result), "chair": chair, "why": why}
    tell(dispute.manager, dispute, "panel_result", told)
    if result.is_deadlocked:  # a split team goes up the ladder too, not only to the manager
        for person in supervisors_besides_manager(dispute):
            tell(person, dispute, "panel_deadlocked", told)
    if result.is_deadlocked and chair is not None:
        link = current_link(dispute.id, "vote", seat_id=chair.id)
        if link is not None:
            tell(chair.member, dispute, "panel_chair_decides", {
                "member": chair.member, "result": result, "link_url": link_url(link), "manager": dispute.manager,
            })
    return dispute


def decide_deadlock(
    actor: Actor, dispute: Dispute, *, decision: str, note: str, expected_version: int | None = None
) -> Dispute:
    """The team was split (or too few voted): the manager, or the team's chair, decides, with a note."""
    chair = None
    if actor.kind == "panel":
        chair = db.session.scalars(
            select(PanelSeat).where(PanelSeat.dispute_id == dispute.id, PanelSeat.panel_member_id == actor.id,
                                    PanelSeat.is_chair.is_(True), PanelSeat.recused_dt.is_(None))
        ).first()
        if chair is None:
            raise NotAllowed("Only the team's chair or the manager can decide a split vote.")
    else:
        require_staff(actor, dispute)
    check_version(dispute, expected_version)
    if not WORKFLOW.can("manager_decides", dispute.state):
        raise WrongState(f"Only a split team's case needs deciding; this dispute is {dispute.state_label}.")
    if decision not in list(Decision):
        raise InvalidInput(DECISION_NEEDED, field="decision")
    note = (note or "").strip()
    if not note:
        raise InvalidInput(NOTE_NEEDED, field="note")
    now = now_utc()
    result = tally(dispute)
    dispute.decision = decision
    dispute.decision_note = note[:5000]
    dispute.decided_dt = now
    dispute.decided_by = "chair" if chair is not None else "manager"
    _apply_item_decisions(dispute, {k: v for k, v in result.item_choices.items() if v}, decision)
    dispute_engine.fire(dispute, "manager_decides", actor=actor, now=now, reason=note[:5000],
                        data={"decision": dispute.decision, "decided_by": dispute.decided_by})
    if chair is not None:
        tell(dispute.manager, dispute, "panel_chair_decided", {"chair": chair.member, "note": note})
    return dispute
