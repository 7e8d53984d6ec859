"""Conflicts of interest between a roster member and a dispute.

Some are absolute and refused outright: the member is the dispute's manager or its resident, or the
company listed the dispute's property or portfolio as one they must not judge. A reporting line with
the dispute's manager (the member reports to them, or is one of the company's supervisors) is
flagged and refused unless the manager seats the member anyway with a ``conflict_note`` saying why;
the note is kept on the seat and in the history.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ...errors import InvalidInput
from ...extensions import db
from ...models import Dispute, PanelMember, StaffUser


@dataclass(frozen=True)
class Conflict:
    text: str
    is_absolute: bool  # refused whatever the manager says


def dispute_property(dispute: Dispute):
    unit = dispute.unit or (dispute.resident.unit if dispute.resident else None)
    return unit.property if unit is not None else None


def supervisor_emails(dispute: Dispute) -> set[str]:
    """The company's supervisors: the manager's own reporting line, upwards."""
    emails = set(db.session.scalars(select(StaffUser.email).where(
        StaffUser.company_id == dispute.company_id, StaffUser.role == "supervisor",
        StaffUser.id != dispute.manager_id,
    )))
    emails.add(dispute.company.supervisor_email or "")
    return {e.strip().lower() for e in emails if e and e.strip().lower() != (dispute.manager.email or "").lower()}


def conflicts(dispute: Dispute, member: PanelMember, supervisors: set[str] | None = None) -> list[Conflict]:
    """``supervisors``: the dispute's ``supervisor_emails``, when the caller checks several members."""
    found: list[Conflict] = []
    email = (member.email or "").strip().lower()
    manager = dispute.manager
    if manager is not None and email and email == (manager.email or "").strip().lower():
        found.append(Conflict(f"{member.name} is the manager of this dispute", True))
    if dispute.resident is not None and email and email == (dispute.resident.email or "").strip().lower():
        found.append(Conflict(f"{member.name} is the resident in this dispute", True))
    prop = dispute_property(dispute)
    if prop is not None:
        if prop.id in (member.excluded_property_ids or []):
            found.append(Conflict(f"{member.name} must not judge disputes at {prop.name}", True))
        portfolios = {str(p).strip().lower() for p in (member.excluded_portfolios or [])}
        if prop.portfolio and prop.portfolio.strip().lower() in portfolios:
            found.append(Conflict(f"{member.name} must not judge the {prop.portfolio} portfolio", True))
    if manager is not None and member.reports_to_id == manager.id:
        found.append(Conflict(f"{member.name} reports to {manager.name}, the manager of this dispute", False))
    if supervisors is None and manager is not None and email:
        supervisors = supervisor_emails(dispute)
    if manager is not None and email and email in supervisors:
        found.append(Conflict(f"{member.name} supervises {manager.name}, the manager of this dispute", False))
    return found


def active_roster(dispute: Dispute) -> list[PanelMember]:
    return list(db.session.scalars(
        select(PanelMember).where(PanelMember.company_id == dispute.company_id, PanelMember.is_active.is_(True))
    ))


def conflicts_for(dispute: Dispute, member: PanelMember | None = None):
    """The conflicts of interest ``member`` has on ``dispute``, as sentences (empty: none).

    Without a member: ``{member id: "the conflicts, joined"}`` for everyone on the company's active
    roster who has one, for the page where the manager picks the team.
    """
    if member is not None:
        return [c.text for c in conflicts(dispute, member)]
    found = {}
    supervisors = supervisor_emails(dispute)
    for person in active_roster(dispute):
        texts = [c.text for c in conflicts(dispute, person, supervisors)]
        if texts:
            found[person.id] = "; ".join(texts)
    return found


def check_conflicts(dispute: Dispute, members: list[PanelMember], conflict_note: str) -> dict[int, str]:
    """Refuse absolute conflicts; refuse the others unless the manager gave a note. Returns the
    accepted ones per member id."""
    absolute, acceptable, accepted = [], [], {}
    supervisors = supervisor_emails(dispute)
    for member in members:
        for conflict in conflicts(dispute, member, supervisors):
            (absolute if conflict.is_absolute else acceptable).append(conflict.text)
            if not conflict.is_absolute:
                accepted[member.id] = "; ".join(filter(None, [accepted.get(member.id), conflict.text]))
    if absolute:
        raise InvalidInput("Conflict of interest: " + "; ".join(absolute) + ". Choose someone else.",
                           field="member_ids")
    if acceptable and not conflict_note:
        raise InvalidInput("Conflict of interest: " + "; ".join(acceptable) + ". Choose someone else, or seat "
                           "them anyway with a note saying why.", field="conflict_note")
    return {member_id: f"{text}. Accepted: {conflict_note}" for member_id, text in accepted.items()}
