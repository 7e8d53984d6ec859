"""Up the ladder: whom an escalation about a dispute reaches besides its manager (the company's
supervisor contact from Settings, else its supervisor accounts)."""
from __future__ import annotations

from ..extensions import db
from ..models import Dispute, StaffUser


def supervisors_and_manager(dispute: Dispute) -> list[dict]:
    """The manager, then the supervisor contact (else the supervisor accounts), each address once."""
    people = [{"email": dispute.manager.email, "name": dispute.manager.name}]
    company = dispute.company
    if company.supervisor_email:
        people.append({"email": company.supervisor_email, "name": company.supervisor_name})
    else:
        supervisors = db.session.scalars(
            db.select(StaffUser).where(
                StaffUser.company_id == company.id, StaffUser.role == "supervisor", StaffUser.is_active.is_(True)
            )
        )
        people += [{"email": s.email, "name": s.name} for s in supervisors]
    seen, unique = set(), []
    for person in people:
        if person["email"] and person["email"] not in seen:
            seen.add(person["email"])
            unique.append(person)
    return unique


def supervisors_besides_manager(dispute: Dispute) -> list[dict]:
    """Whom an escalation reaches on top of the manager (nobody, when the manager is the ladder)."""
    return [p for p in supervisors_and_manager(dispute) if p["email"] != dispute.manager.email]


def supervisors_of(dispute: Dispute) -> list[dict]:
    """The people to escalate to: the company's supervisor contact, else its supervisor accounts;
    the manager when there is nobody above them."""
    return supervisors_besides_manager(dispute) or [
        {"email": dispute.manager.email, "name": dispute.manager.name}
    ]


def supervisor_account(dispute: Dispute) -> StaffUser:
    """The staff account whose task a request up the ladder becomes: the account of the company's
    supervisor contact, else an active supervisor other than the manager, else the manager (who is then
    the top of the ladder)."""
    company = dispute.company
    supervisors = db.select(StaffUser).where(
        StaffUser.company_id == company.id, StaffUser.is_active.is_(True), StaffUser.id != dispute.manager_id,
    )
    contact = (company.supervisor_email or "").strip().lower()
    by_contact = db.session.scalars(
        supervisors.where(db.func.lower(StaffUser.email) == contact).limit(1)
    ).first() if contact else None
    return by_contact or db.session.scalars(
        supervisors.where(StaffUser.role == "supervisor").order_by(StaffUser.id).limit(1)
    ).first() or dispute.manager
