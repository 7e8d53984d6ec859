"""Verbs for the company's own evidence: staff attach files to the company's side of a dispute (the
move-in photos, the invoice, the work order) and may take one back, until the case goes to the team.

The files pass the same checks and limits as the resident's (``resolver.uploads``, with the company's
side counted on its own, so the company never uses up the resident's room). When the case goes to
the team its packet is frozen with both sides' files and their fingerprints; from then on the
company's side is fixed like the rest of the packet, so a file added or removed later is refused
with a sentence that says why. The history names each file added and removed, and who did it.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..actors import Actor
from ..clock import now_utc
from ..errors import InvalidInput, NotAllowed, NotFound, WrongState
from ..extensions import db
from ..history import record_event
from ..models import COMPANY_SIDE, Dispute, EvidenceFile
from ..uploads import check_dispute_limits
from ..workflow.engine import dispute_engine
from .access import check_version, require_staff
from .panel.packet import current_packet, files_on

MAX_DESCRIPTION = 300


def company_files(dispute: Dispute) -> list[EvidenceFile]:
    """The company's files on ``dispute``, as staff see them (before and after the packet is frozen)."""
    return list(db.session.scalars(
        select(EvidenceFile).where(EvidenceFile.dispute_id == dispute.id, EvidenceFile.side == COMPANY_SIDE)
        .order_by(EvidenceFile.received_dt, EvidenceFile.id)
    ))


def company_side_for_resident(dispute: Dispute) -> dict | None:
    """What the resident is shown of the company's side: nothing before the case goes to the team; then
    what the team was sent (from the frozen packet, so both see the same words and files, and nothing
    staff kept for themselves). None once the packet's words were erased."""
    packet = current_packet(dispute)
    content = packet.content if packet is not None else {}
    if not content or content.get("erased"):
        return None
    side = content.get("company_side") or {}
    return {
        "what_was_fixed": side.get("what_was_fixed", ""),
        "position": side.get("position", ""),
        "items": [{"description": item["description"], "amount_cents": item["amount_cents"],
                   "company_reason": item.get("company_reason", "")} for item in content.get("items") or []],
        "files": files_on(content, COMPANY_SIDE),
        "sent_dt": packet.frozen_dt,
    }


def company_side_problem(dispute: Dispute) -> str | None:
    """Why the company's files cannot change now, in a sentence for staff; None when they can."""
    if dispute.is_terminal:
        return f"This dispute is {dispute.state_label}, so its files can no longer change."
    packet = current_packet(dispute)
    if packet is not None:
        return ("The case has gone to the resolution team, and what they review is fixed: both sides and "
                "the files its packet lists, with their fingerprints, so that every vote refers to the same "
                "record. The company's files can no longer be added or removed.")
    return None


def require_open_company_side(actor: Actor, dispute: Dispute, expected_version: int | None) -> None:
    """Staff of the dispute's company, on a page drawn from its current version, while the company's
    files may still change; otherwise refused with why."""
    require_staff(actor, dispute)
    if not actor.is_staff:
        raise NotAllowed("Only a member of the company's staff can attach the company's files.")
    check_version(dispute, expected_version)
    if problem := company_side_problem(dispute):
        raise WrongState(problem)


def add_company_evidence(
    actor: Actor, dispute: Dispute, *, files: list[dict], description: str = "",
    expected_version: int | None = None,
) -> list[EvidenceFile]:
    """Attach ``files`` (already checked and stored by ``resolver.uploads``: dicts as ``store_checked``
    returns them) to the company's side, each with ``description``; the history names them."""
    require_open_company_side(actor, dispute, expected_version)
    if not files:
        raise InvalidInput("Choose at least one file to attach.", field="files")
    description = " ".join((description or "").split())
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"Please keep the description under {MAX_DESCRIPTION} characters.", field="description")
    check_dispute_limits(dispute, [f.get("received_size_bytes") or f["size_bytes"] for f in files], COMPANY_SIDE)
    now = now_utc()
    added = [
        EvidenceFile(
            dispute_id=dispute.id, side=COMPANY_SIDE, added_by_id=actor.id, description=description,
            original_name=stored["original_name"][:255], content_type=stored["content_type"],
            size_bytes=stored["size_bytes"], sha256=stored["sha256"],
            received_sha256=stored.get("received_sha256"), received_size_bytes=stored.get("received_size_bytes"),
            received_dt=now, captured_dt=stored.get("captured_dt"),
        )
        for stored in files
    ]
    db.session.add_all(added)
    db.session.flush()
    # Sending the case at the same moment changes the dispute too: one of the two is told it changed.
    dispute_engine.touch(dispute)
    record_event(dispute, actor, "company_files_added", now=now, data={"company_files": [_named(f) for f in added]})
    return added


@dataclass(frozen=True)
class RemovedFile:
    name: str
    hashes: list[str]  # its bytes: the caller discards them once committed, if nothing else refers to them


def remove_company_evidence(
    actor: Actor, dispute: Dispute, file_id: int | None, *, expected_version: int | None = None,
) -> RemovedFile:
    """Take one of the company's files off its side; the history says which, and who took it off."""
    require_open_company_side(actor, dispute, expected_version)
    stored = db.session.scalars(
        select(EvidenceFile).where(EvidenceFile.id == file_id, EvidenceFile.dispute_id == dispute.id,
                                   EvidenceFile.side == COMPANY_SIDE)
    ).first() if file_id is not None else None
    if stored is None:
        raise NotFound("That file is not one of the company's files on this dispute.")
    removed = RemovedFile(stored.original_name, [h for h in (stored.sha256, stored.received_sha256) if h])
    record_event(dispute, actor, "company_file_removed", data={"company_files": [_named(stored)]})
    db.session.delete(stored)
    db.session.flush()
    dispute_engine.touch(dispute)
    return removed


def _named(stored: EvidenceFile) -> dict:
    """What the history keeps of a company file: enough to say which one, and to recognise its bytes."""
    return {"id": stored.id, "name": stored.original_name, "sha256": stored.sha256, "size_bytes": stored.size_bytes}
