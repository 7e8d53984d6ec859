"""Personal data has a lifetime: a resident's data is erased when the company's retention runs out
(``retention``), and on request (``erase_resident``); everything held about a resident can be
exported (``export``). The erasing itself is one act (``erasure``), whichever the reason.
"""
from __future__ import annotations

from sqlalchemy import select

from ...actors import Actor
from ...clock import now_utc
from ...errors import InvalidInput, WrongState
from ...extensions import db
from ...models import Dispute, Resident
from ...workflow.engine import dispute_engine
from ..company_history import record_company_event, require_supervisor
from .erasure import ERASED, ERASED_NAME, REQUEST, RETENTION, erase_disputes, erase_resident_contact, remove_files
from .export import export_filename, export_resident
from .retention import sweep_retention

__all__ = [
    "ERASED", "ERASED_NAME", "MAX_REASON", "REQUEST", "RETENTION", "erase_disputes", "erase_resident", "export_filename",
    "export_resident", "remove_files", "sweep_retention",
]

MAX_REASON = 2000


def erase_resident(actor: Actor, resident: Resident, *, reason: str) -> set[str]:
    """A supervisor erases a resident's personal data on request: their contact details and what each of
    their disputes holds, as the retention sweep would. Refused while one of their disputes is still
    open (its letter, deadlines and emails need them): withdraw or close it first. Flushes, never
    commits; returns the files to remove from disk once committed (``remove_files``)."""
    require_supervisor(actor, resident.company_id)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why their data is erased (for example, the resident asked by email on 3 May).",
                           field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"Please keep the reason under {MAX_REASON:,} characters.", field="reason")
    disputes = list(db.session.scalars(
        select(Dispute).where(Dispute.resident_id == resident.id).order_by(Dispute.id)))
    ended = dispute_engine.definition.terminal
    still_open = [dispute for dispute in disputes if dispute.state not in ended]
    if still_open:
        listed = ", ".join(f"dispute {d.id} ({d.state_label})" for d in still_open)
        is_one = len(still_open) == 1
        raise WrongState(f"Nothing was erased: {listed} {'is' if is_one else 'are'} still open and "
                         f"{'needs' if is_one else 'need'} their details. Withdraw or close "
                         f"{'it' if is_one else 'them'} first, then erase their data.")
    now = now_utc()
    files = erase_disputes(actor, disputes, why=REQUEST, now=now)
    erase_resident_contact(resident, now)
    record_company_event(actor, resident.company_id, "resident_erased", subject_kind="company",
                         subject_id=resident.company_id, subject_label=f"resident {resident.id}", reason=reason,
                         data={"resident_id": resident.id, "disputes": len(disputes)})
    return files
