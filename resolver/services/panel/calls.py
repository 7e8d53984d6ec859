"""A team that decided on a call: the manager records who attended and each one's vote.

The practice allows the team's review "via email or a group phone call". Each attending member's
vote goes through the members' own verb (``voting.record_vote``), marked as recorded by the manager
from a call on its day, so the count, the letter and the reports treat it as a vote by link; the
review closes, once every vote of the call is in, exactly as it would had they clicked. Each member
is emailed what was recorded for them, with a link to correct it for a while (the workflow's
``panel.call_correction_time``); a correction is the member's own change of their vote.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ...actors import Actor
from ...errors import InvalidInput, WrongState
from ...extensions import db
from ...history import record_event
from ...links import issue_link, link_url
from ...models import Dispute, PanelSeat, StaffUser, Vote, VoteRevision
from ...workdays import format_date, format_moment
from ...workflow.engine import dispute_engine
from ..access import check_version, require_staff
from ..notify import tell
from .count import CHOICE_LABELS
from .voting import check_call_day, close_if_counted, record_vote

WORKFLOW = dispute_engine.definition

CALL_DAY_NEEDED = "Give the day the call was held."
NOBODY_ATTENDED = "Tick who attended the call, and give each one's vote."


@dataclass(frozen=True)
class CallVote:
    """One attending member's vote, as the manager heard it on the call."""

    seat_id: int
    choice: str
    reason: str
    token_kind: str = ""
    token_cents: int | None = None
    concession_cents: int | None = None


def record_call(actor: Actor, dispute: Dispute, *, call_on: date | None, votes: list[CallVote],
                expected_version: int | None = None) -> list[Vote]:
    """Record the team's call held on ``call_on``: each attending member's vote, then the count.

    Everything or nothing: a member not on the team, a vote the members' own form would refuse, or
    a member who already voted by link (their own vote stands) refuses the whole call.
    Returns the votes as recorded.
    """
    require_staff(actor, dispute)
    _lock(dispute)
    check_version(dispute, expected_version)
    if not WORKFLOW.can("decide", dispute.state):
        raise WrongState(f"A team's call can be recorded while the case is with the team; this dispute is "
                         f"{dispute.state_label}.")
    if call_on is None:
        raise InvalidInput(CALL_DAY_NEEDED, field="call_on")
    check_call_day(dispute, call_on)
    if not votes:
        raise InvalidInput(NOBODY_ATTENDED, field="attended")
    seats = _seats_by_id(dispute, votes)
    record_event(dispute, actor, "call_recorded", data={
        "call_on": call_on.isoformat(), "seat_ids": [vote.seat_id for vote in votes]})
    recorded = [(seats[wanted.seat_id], _record_one(actor, seats[wanted.seat_id], wanted, call_on))
                for wanted in votes]
    close_if_counted(dispute)  # once, with every vote of the call in
    recorder = db.session.get(StaffUser, actor.id)
    for seat, (vote, is_new) in recorded:
        if is_new:
            _tell_member(dispute, seat, vote, recorder)
    return [vote for _, (vote, _) in recorded]


def _lock(dispute: Dispute) -> None:
    """Lock the dispute's row (on PostgreSQL) before the call's history is written, as a member's own
    vote locks it first: a vote by link arriving at the same moment then waits for the call, or the
    call for it, and reads it, instead of the two deadlocking on the history's next place."""
    db.session.scalars(select(Dispute).where(Dispute.id == dispute.id).with_for_update()
                       .execution_options(populate_existing=True)).one()


def _seats_by_id(dispute: Dispute, votes: list[CallVote]) -> dict[int, PanelSeat]:
    """The seats the call's votes name, each once and each on this dispute's team."""
    seats = {seat.id: seat for seat in db.session.scalars(
        select(PanelSeat).where(PanelSeat.dispute_id == dispute.id))}
    named = [vote.seat_id for vote in votes]
    if len(set(named)) != len(named):
        raise InvalidInput("Each member's vote can be recorded once per call.", field="attended")
    for seat_id in named:
        seat = seats.get(seat_id)
        if seat is None:
            raise InvalidInput("Only members of this case's team can be recorded as attending.", field="attended")
        if seat.recused_dt is not None:
            raise InvalidInput(f"{seat.member.name} stepped aside from this case, so no vote is needed.",
                               field=f"seat-{seat.id}-attended")
    return seats


def _record_one(actor: Actor, seat: PanelSeat, wanted: CallVote, call_on: date) -> tuple[Vote, bool]:
    """The member's vote through the members' own verb; whether it is new or changed (not the same
    vote recorded again). A refusal names the member and points at their row on the form."""
    before = seat.vote.revision if seat.vote is not None else 0
    try:
        vote = record_vote(actor, seat, choice=wanted.choice, reason=wanted.reason, token_kind=wanted.token_kind,
                           token_cents=wanted.token_cents, concession_cents=wanted.concession_cents,
                           call_on=call_on, closes=False)
    except InvalidInput as problem:
        field = {"token_cents": "token_amount", "concession_cents": "concession_amount"}.get(
            problem.field, problem.field)
        raise InvalidInput(f"{seat.member.name}: {problem.message}", field=f"seat-{seat.id}-{field}") from None
    return vote, vote.revision != before


def _tell_member(dispute: Dispute, seat: PanelSeat, vote: Vote, recorder: StaffUser) -> None:
    """Email the member what was recorded for them, with their link to correct it while they may."""
    link = issue_link(dispute, "vote", seat=seat, expires_dt=vote.correction_due_dt)
    tell(seat.member, dispute, "panel_call_recorded", {
        "member": seat.member, "vote": vote, "choice": CHOICE_LABELS[vote.choice], "call_on": vote.call_on,
        "recorder": recorder, "link_url": link_url(link), "correct_until": vote.correction_due_dt,
        "is_review_open": WORKFLOW.can("decide", dispute.state), "manager": dispute.manager,
    })


# How a vote came from a call, for the pages that show it -----------------------------------------

@dataclass(frozen=True)
class CallRecord:
    """A seat's vote as a call left it: who recorded it and the call's day, and when the member
    answered it with their own vote (``None`` while the vote is still as recorded), changed or not."""

    recorded_by: str
    call_on: date
    answered_dt: datetime | None = None
    is_confirmed: bool = False  # the member's own vote said the same as the record

    @property
    def words(self) -> str:
        """'recorded by Dana Whitfield from a call on 3 March'."""
        return f"recorded by {self.recorded_by} from a call on {format_date(self.call_on)}"

    @property
    def answer(self) -> str:
        """'corrected' or 'confirmed' (once the member answered)."""
        return "confirmed" if self.is_confirmed else "corrected"

    def for_staff(self, company) -> str:
        if self.answered_dt is None:
            return f"{self.words[0].upper()}{self.words[1:]}."
        return f"{self.answer.capitalize()} by the member at {format_moment(self.answered_dt, company)}; first {self.words}."


_CONTENT = ("choice", "reason", "token_kind", "token_cents", "concession_cents", "item_choices")


def call_records(dispute: Dispute) -> dict[int, CallRecord]:
    """Each seat whose vote came from a call, by seat id: read from every vote's versions at once."""
    rows = db.session.execute(
        select(Vote.seat_id, VoteRevision).join(Vote, Vote.id == VoteRevision.vote_id)
        .where(Vote.dispute_id == dispute.id).options(joinedload(VoteRevision.recorded_by))
        .order_by(Vote.seat_id, VoteRevision.revision)
    ).all()
    records: dict[int, CallRecord] = {}
    recorded: dict[int, VoteRevision] = {}
    for seat_id, revision in rows:
        if revision.call_on is not None:
            records[seat_id] = CallRecord(revision.recorded_by.name, revision.call_on)
            recorded[seat_id] = revision
        elif seat_id in records and records[seat_id].answered_dt is None:
            same = all(getattr(revision, name) == getattr(recorded[seat_id], name) for name in _CONTENT)
            records[seat_id] = CallRecord(records[seat_id].recorded_by, records[seat_id].call_on,
                                          revision.recorded_dt, is_confirmed=same)
    return records
