"""Who may act on a dispute."""
from __future__ import annotations

from ..actors import Actor
from ..errors import NotAllowed, NotFound
from ..extensions import db
from ..models import Dispute


def require_staff(actor: Actor, dispute: Dispute, *, roles: tuple[str, ...] = ("manager", "supervisor")) -> None:
    """Staff of the dispute's own company, in one of ``roles``; the system may always act."""
    if actor.is_system:
        return
    if not actor.is_staff or actor.company_id != dispute.company_id:
        raise NotAllowed("Only the company's own staff can do this.")
    if actor.role not in roles:
        raise NotAllowed(f"Only a {' or '.join(roles)} can do this.")


def dispute_for(actor: Actor, dispute_id: int, *, for_update: bool = False) -> Dispute:
    """Load a dispute the actor may see; another company's dispute is simply not found."""
    query = db.select(Dispute).where(Dispute.id == dispute_id)
    if for_update:
        query = query.with_for_update()
    dispute = db.session.scalars(query).first()
    if dispute is None or (not actor.is_system and actor.company_id != dispute.company_id):
        raise NotFound(f"There is no dispute {dispute_id}.")
    return dispute


def check_version(dispute: Dispute, expected_version: int | None) -> None:
    """A form carries the version it was drawn from; if the dispute moved since, say so."""
    from ..errors import StaleDispute

    if expected_version is not None and int(expected_version) != dispute.version:
        raise StaleDispute()
