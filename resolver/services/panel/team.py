"""Choosing the team: proposing one from the roster, seating it, and seating a replacement for a
member who stepped aside."""
from __future__ import annotations

from sqlalchemy import func, select

from ...actors import Actor
from ...clock import now_utc
from ...errors import InvalidInput, WrongState
from ...extensions import db
from ...history import record_event
from ...models import Dispute, PanelMember, PanelSeat
from ...workflow.engine import dispute_engine
from ..access import check_version, require_staff
from .conflicts import active_roster, check_conflicts, conflicts, supervisor_emails
from .invitations import invite
from .packet import current_packet
from .result import rules

WORKFLOW = dispute_engine.definition


def _open_seat_counts(company_id: int) -> dict[int, int]:
    """How many teams still reviewing each roster member sits on: proposals spread the work."""
    rows = db.session.execute(
        select(PanelSeat.panel_member_id, func.count())
        .join(Dispute, Dispute.id == PanelSeat.dispute_id)
        .where(Dispute.company_id == company_id, Dispute.state.in_(WORKFLOW.windows["panel"].active_in), PanelSeat.recused_dt.is_(None))
        .group_by(PanelSeat.panel_member_id)
    )
    return dict(rows.all())


def _free_members(dispute: Dispute) -> tuple[list[PanelMember], dict[int, int]]:
    """The active roster members not seated on this dispute and free of conflicts, with everyone's load."""
    seated = set(db.session.scalars(select(PanelSeat.panel_member_id).where(PanelSeat.dispute_id == dispute.id)))
    load = _open_seat_counts(dispute.company_id)
    supervisors = supervisor_emails(dispute)
    fit = [m for m in active_roster(dispute) if m.id not in seated and not conflicts(dispute, m, supervisors)]
    return fit, load


def propose_panel(dispute: Dispute, *, size: int | None = None) -> list[PanelMember]:
    """A team of the company's size: active, unconflicted members with the fewest open cases,
    the regular roster before the reserve."""
    size = size or dispute.company.panel_size or rules().size
    fit, load = _free_members(dispute)
    fit.sort(key=lambda m: (m.is_reserve, load.get(m.id, 0), m.id))
    return fit[:size]


def propose_replacement(dispute: Dispute) -> PanelMember | None:
    """Someone from the roster's reserve (else anyone free) to take a recused member's seat."""
    fit, load = _free_members(dispute)
    fit.sort(key=lambda m: (not m.is_reserve, load.get(m.id, 0), m.id))
    return fit[0] if fit else None


def _members(dispute: Dispute, member_ids) -> list[PanelMember]:
    ids = []
    for raw in member_ids:
        try:
            member_id = int(raw)
        except (TypeError, ValueError):
            raise InvalidInput("A team member was not recognised.", field="member_ids") from None
        if member_id in ids:
            raise InvalidInput("A member was chosen twice.", field="member_ids")
        ids.append(member_id)
    found = {m.id: m for m in db.session.scalars(select(PanelMember).where(PanelMember.id.in_(ids)))} if ids else {}
    members = []
    for member_id in ids:
        member = found.get(member_id)
        if member is None or member.company_id != dispute.company_id:
            raise InvalidInput("A chosen member is not on this company's roster.", field="member_ids")
        if not member.is_active:
            raise InvalidInput(f"{member.name} is no longer on the active roster.", field="member_ids")
        members.append(member)
    return members


def seat_panel(
    actor: Actor, dispute: Dispute, member_ids, chair_id: int | None = None, *, conflict_note: str = "",
    expected_version: int | None = None,
) -> list[PanelSeat]:
    """Choose the team (an odd number of members) before the case is sent; choosing again replaces it."""
    require_staff(actor, dispute)
    check_version(dispute, expected_version)
    if not WORKFLOW.can("send_to_panel", dispute.state):
        raise WrongState(f"The team can be chosen once the resident's side has arrived and before the case is sent; "
                         f"this dispute is {dispute.state_label}.")
    members = _members(dispute, member_ids)
    if not members:
        raise InvalidInput("Choose the members of the resolution team.", field="member_ids")
    if len(members) % 2 == 0:
        raise InvalidInput(f"Choose an odd number of members (you chose {len(members)}), so the votes cannot "
                           "split evenly.", field="member_ids")
    if chair_id is not None and int(chair_id) not in {m.id for m in members}:
        raise InvalidInput("The chair must be one of the chosen members.", field="chair_id")
    accepted = check_conflicts(dispute, members, (conflict_note or "").strip())
    dispute_engine.touch(dispute)  # two managers choosing at once: one team, the other is told
    now = now_utc()
    for old in db.session.scalars(select(PanelSeat).where(PanelSeat.dispute_id == dispute.id)):
        db.session.delete(old)  # nothing was sent to a seat yet, so replacing the team loses nothing
    db.session.flush()
    seats = []
    for member in members:
        seat = PanelSeat(
            dispute_id=dispute.id, panel_member_id=member.id,
            is_chair=chair_id is not None and member.id == int(chair_id),
            seated_dt=now, conflict_note=accepted.get(member.id, ""),
        )
        seat.member = member
        db.session.add(seat)
        seats.append(seat)
    db.session.flush()
    record_event(dispute, actor, "seat_panel", now=now, reason=(conflict_note or "").strip(), data={
        "members": [{"id": m.id, "name": m.name, "organisation": m.organisation} for m in members],
        "chair_id": int(chair_id) if chair_id is not None else None,
        "accepted_conflicts": {str(k): v for k, v in accepted.items()},
    })
    return seats


def replace_seat(
    actor: Actor, dispute: Dispute, member_id: int, *, conflict_note: str = "", expected_version: int | None = None
) -> PanelSeat:
    """Seat one more member (usually the replacement for one who recused); invited at once if the
    case was already sent."""
    require_staff(actor, dispute)
    check_version(dispute, expected_version)
    if dispute.state not in WORKFLOW.windows["panel"].active_in:
        raise WrongState(f"A replacement joins a team that is reviewing; this dispute is {dispute.state_label}.")
    (member,) = _members(dispute, [member_id])
    existing = db.session.scalars(
        select(PanelSeat).where(PanelSeat.dispute_id == dispute.id, PanelSeat.panel_member_id == member.id)
    ).first()
    if existing is not None:
        raise InvalidInput(f"{member.name} already has a seat on this team.", field="member_id")
    accepted = check_conflicts(dispute, [member], (conflict_note or "").strip())
    dispute_engine.touch(dispute)
    now = now_utc()
    seat = PanelSeat(dispute_id=dispute.id, panel_member_id=member.id, seated_dt=now,
                     conflict_note=accepted.get(member.id, ""))
    seat.member = member
    db.session.add(seat)
    db.session.flush()
    record_event(dispute, actor, "replace_seat", now=now, reason=(conflict_note or "").strip(),
                 data={"member": {"id": member.id, "name": member.name}})
    invite(dispute, seat, current_packet(dispute), now)
    return seat
