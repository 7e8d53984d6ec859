"""A dispute's team as it stands, read from the database, and its count.

``team_of`` reads every seat with its member and its vote in one query; ``tally`` hands the votes
of those still seated to the pure count (``count.count_votes``) with the workflow's rules.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import QueryableAttribute, joinedload

from ...extensions import db
from ...models import Company, Dispute, PanelSeat, Vote
from ...workflow.definition import PanelRules
from ...workflow.engine import dispute_engine
from .count import Ballot, TallyResult, count_votes

WORKFLOW = dispute_engine.definition

KNOWN_EARLY_CLOSE = ("everyone_voted", "result_cannot_change")

Team = list[tuple[PanelSeat, Vote | None]]


def rules() -> PanelRules:
    """The count's rules, from the workflow definition's ``panel:`` section."""
    panel_rules = dispute_engine.definition.panel
    unknown = [name for name in panel_rules.early_close if name not in KNOWN_EARLY_CLOSE]
    unknown += [f"{name} (by {setting})" for name, setting in panel_rules.early_close_chosen
                if name not in KNOWN_EARLY_CLOSE or not isinstance(getattr(Company, setting, None), QueryableAttribute)]
    if unknown or panel_rules.tie != WORKFLOW.state_of("deadlock"):
        raise ValueError(f"the workflow's panel rules name what Resolver does not know: "
                         f"{', '.join(unknown) or 'tie: ' + panel_rules.tie}")
    return panel_rules


def team_of(dispute: Dispute) -> Team:
    """Every seat of the team (recused ones too) with its member and its vote, in one query: what
    the count, the progress table and a vote's own checks all read."""
    query = (
        select(PanelSeat, Vote).outerjoin(Vote, Vote.seat_id == PanelSeat.id)
        .where(PanelSeat.dispute_id == dispute.id)
        .options(joinedload(PanelSeat.member))
        .order_by(PanelSeat.id)
        .execution_options(populate_existing=True)  # votes change in other requests: count what is stored
    )
    return [(seat, vote) for seat, vote in db.session.execute(query)]


def ballot_of(vote: Vote, seat: PanelSeat) -> Ballot:
    return Ballot(choice=vote.choice, reason=vote.reason, member_name=seat.member.name,
                  organisation=seat.member.organisation or "", token_kind=vote.token_kind or "",
                  token_cents=vote.token_cents, concession_cents=vote.concession_cents,
                  item_choices=dict(vote.item_choices or {}))


def tally(dispute: Dispute, team: Team | None = None) -> TallyResult:
    """Count the votes of the members still seated, by the rules in the workflow definition.

    ``team``: the dispute's ``team_of`` rows, when the caller has just read them.
    """
    active = [(seat, vote) for seat, vote in (team_of(dispute) if team is None else team) if seat.recused_dt is None]
    cast = sorted(((vote, seat) for seat, vote in active if vote is not None), key=lambda r: (r[0].cast_dt, r[0].id))
    return count_votes(
        seated=len(active),
        ballots=[ballot_of(vote, seat) for vote, seat in cast],
        item_ids=[item.id for item in dispute.items],
        rules=rules().for_company(dispute.company),
        is_reviewing=WORKFLOW.can("decide", dispute.state),
        is_anonymous=dispute.company.is_panel_anonymous,
    )
