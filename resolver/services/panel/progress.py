"""The team's progress, for the manager's page and emails: who has voted (not how, until the
review closes, unless the company turned anonymity off), and the result once it has closed."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ...models import Dispute
from .count import TallyResult
from .result import Team, tally, team_of


@dataclass
class SeatProgress:
    seat_id: int
    name: str
    organisation: str
    email: str
    is_chair: bool
    invited_dt: datetime | None
    voted_dt: datetime | None
    recused_dt: datetime | None
    recusal_reason: str
    conflict_note: str
    choice: str | None  # only when the company may see it (after close, or not anonymous)
    revisions: int
    is_panel_closed: bool = False

    @property
    def status(self) -> str:
        if self.recused_dt is not None:
            return "stepped aside"
        if self.voted_dt is not None:
            return "voted"
        if self.is_panel_closed:
            return "did not vote"
        if self.invited_dt is not None:
            return "not voted yet"
        return "not invited yet"


@dataclass
class PanelProgress:
    seats: list[SeatProgress]
    seated: int
    voted: int
    due_dt: datetime | None
    closed_dt: datetime | None
    shows_choices: bool
    result: TallyResult | None  # only once the panel closed

    @property
    def is_closed(self) -> bool:
        return self.closed_dt is not None

    @property
    def waiting_for(self) -> list[str]:
        return [s.name for s in self.seats if s.status == "not voted yet"]


def panel_progress(dispute: Dispute, team: Team | None = None, result: TallyResult | None = None) -> PanelProgress:
    """Who has voted (not how, until the panel closes, unless the company turned anonymity off).
    ``team`` and ``result``: the rows and the count the caller has just made, if it has."""
    team = team_of(dispute) if team is None else team
    is_closed = dispute.panel_closed_dt is not None
    shows = is_closed or not dispute.company.is_panel_anonymous
    rows = []
    for seat, vote in team:
        rows.append(SeatProgress(
            seat_id=seat.id, name=seat.member.name, organisation=seat.member.organisation, email=seat.member.email,
            is_chair=seat.is_chair, invited_dt=seat.invited_dt, voted_dt=vote.changed_dt if vote else None,
            recused_dt=seat.recused_dt, recusal_reason=seat.recusal_reason, conflict_note=seat.conflict_note,
            choice=vote.choice if (vote and shows) else None, revisions=vote.revision if vote else 0,
            is_panel_closed=is_closed,
        ))
    active = [r for r in rows if r.recused_dt is None]
    return PanelProgress(
        seats=rows, seated=len(active), voted=sum(1 for r in active if r.voted_dt), due_dt=dispute.panel_due_dt,
        closed_dt=dispute.panel_closed_dt, shows_choices=shows,
        result=(result or tally(dispute, team)) if is_closed else None,
    )
