"""Sending the case to the team: the packet is frozen, the review opens, and each member is
emailed their own vote link."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ...actors import Actor
from ...clock import now_utc
from ...errors import InvalidInput
from ...extensions import db
from ...history import record_event
from ...links import issue_link, link_url
from ...models import CasePacket, Dispute, PanelSeat
from ...workflow.engine import dispute_engine
from ..access import check_version, require_staff
from ..notify import tell
from .conflicts import conflicts, supervisor_emails
from .packet import freeze_packet

# A vote link works until the link grace after the team's deadline: once the review closes it shows the
# member their vote and the team's result, and voting through it is refused.


def seated(dispute: Dispute) -> list[PanelSeat]:
    """The members still seated (``result.team_of`` has the recused ones too)."""
    return list(db.session.scalars(
        select(PanelSeat).where(PanelSeat.dispute_id == dispute.id, PanelSeat.recused_dt.is_(None))
        .options(joinedload(PanelSeat.member)).order_by(PanelSeat.id)
    ))


def invite(dispute: Dispute, seat: PanelSeat, packet: CasePacket, now: datetime) -> None:
    """Email one member their own link to the packet and the vote."""
    link = issue_link(dispute, "vote", seat=seat, expires_dt=dispute.panel_due_dt + dispute_engine.definition.link_grace["vote"])
    seat.invited_dt = now
    tell(seat.member, dispute, "panel_invitation", {
        "member": seat.member, "seat": seat, "link_url": link_url(link), "due": dispute.panel_due_dt,
        "packet": packet.content, "manager": dispute.manager,
    })


def send_to_panel(actor: Actor, dispute: Dispute, *, expected_version: int | None = None) -> CasePacket:
    """Freeze the case packet, open the team's review and email each member their own link."""
    require_staff(actor, dispute)
    check_version(dispute, expected_version)
    # The roster may have changed since the team was chosen: check again before anything goes out.
    supervisors = supervisor_emails(dispute)
    seats = seated(dispute)
    blocking = [c.text for seat in seats for c in conflicts(dispute, seat.member, supervisors)
                if c.is_absolute or not seat.conflict_note]
    if blocking:
        raise InvalidInput("Conflict of interest: " + "; ".join(blocking) + ". Choose the team again before "
                           "sending the case.", field="member_ids")
    now = now_utc()
    dispute.panel_opened_dt = now
    packet = freeze_packet(dispute, now)
    dispute_engine.fire(dispute, "send_to_panel", actor=actor, now=now)  # sets panel_due_dt
    for seat in seats:
        invite(dispute, seat, packet, now)
    # The history says exactly what was sent: the packet's version and fingerprint, and to whom.
    due = dispute.panel_due_dt
    record_event(dispute, actor, "packet_frozen", now=now, data={
        "packet_version": packet.version, "sha256": packet.sha256,
        "members": [s.member.name for s in seats], "panel_due": due.isoformat() if due is not None else None,
    })
    return packet
