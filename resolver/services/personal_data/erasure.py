"""Erasing what a dispute holds about its resident: their files in storage, the free text written by them
and about them, the letters' words and the emails' bodies; and, once none of their disputes still
needs them, their contact details.

The company's own evidence (its move-in photos, invoices, work orders) is not the resident's: those
files stay, with only the words staff wrote about them erased like the rest of the company's side.

What the reports count stays: the dispute's category, state, dates, decision and amounts, the
letters' offers and answers, the team's votes (their choices, not their reasons). The dispute's
history is append-only, so it is never changed: one more event says what was erased and why.

Rows are changed with one statement per table for a whole batch of disputes, so erasing many is a
handful of statements; the files are removed from storage only after the change is committed (the
caller does it with ``remove_files``), and only those no other row still refers to.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, delete, or_, select, update

from ...actors import Actor
from ...extensions import db
from ...files import delete_file, store_bytes
from ...history import record_event
from ...models import (
    RESIDENT_SIDE, AccessLink, CasePacket, Dispute, DisputedItem, EvidenceFile, ExtensionRequest, LadderRequest, Letter,
    LinkUse, OutboxEmail, PanelSeat, Resident, Submission, Task, Vote, VoteRevision,
)

ERASED = "(erased)"
ERASED_NAME = "Erased resident"
# Why it was erased, as the history says it.
RETENTION, REQUEST = "retention", "request"

# Free text, table by table: written by the resident, or about them by staff and the team.
_FREE_TEXT = {
    Submission: ("details", "suggested_resolution"),
    ExtensionRequest: ("reason", "answer_note"),
    DisputedItem: ("company_reason",),
    EvidenceFile: ("description",),  # the company's files keep their bytes; the resident's go altogether
    LadderRequest: ("message", "answer_note"),
    Task: ("title", "done_note"),
    Vote: ("reason",),
    PanelSeat: ("recusal_reason", "conflict_note"),
    Letter: ("subject", "body_html", "body_text", "tone_override_reason", "english_html"),
    OutboxEmail: ("subject", "body_text", "body_html"),
}
_DISPUTE_TEXT = ("issue", "what_was_fixed", "company_position", "decision_note", "close_reason")
# What the stored letter PDFs become: the same small page for every erased letter.
_ERASED_LETTER = ("<html><body><p>The words of this letter were erased, with the rest of the resident's "
                  "personal data, as the company's rules on keeping personal data require.</p></body></html>")


def _erased(column):
    """Text that was given becomes ERASED (so a reader sees something was there); blank stays blank."""
    return case((column == "", ""), else_=ERASED)


def erase_disputes(actor: Actor, disputes: list[Dispute], *, why: str, now: datetime) -> set[str]:
    """Erase what ``disputes`` (ended ones) hold about their resident, and the resident's contact
    details once none of their disputes still holds data; record it on each dispute. Flushes, never
    commits. Returns the files to remove from storage once committed (``remove_files``)."""
    disputes = [dispute for dispute in disputes if dispute.personal_data_erased_dt is None]
    if not disputes:
        return set()
    ids = [dispute.id for dispute in disputes]
    counts = _file_counts(ids)
    hashes = _evidence_hashes(ids) | _letter_hashes(ids) | _attachment_hashes(ids)
    _erase_rows(disputes, ids)
    for dispute in disputes:
        for name in _DISPUTE_TEXT:
            if getattr(dispute, name):
                setattr(dispute, name, ERASED)
        dispute.personal_data_erased_dt = now
    db.session.flush()
    erased_residents = {resident.id for resident in _erase_residents_done_with({d.resident_id for d in disputes}, now)}
    for dispute in disputes:
        kinds = ["evidence_files"] if counts.get(dispute.id) else []
        kinds += ["free_text", "letters", "emails"]
        if dispute.resident_id in erased_residents:
            kinds.insert(0, "contact_details")
        record_event(dispute, actor, "personal_data_erased", now=now,
                     data={"why": why, "erased": kinds, "files": counts.get(dispute.id, 0)})
    return hashes - _still_referenced(hashes)


def erase_resident_contact(resident: Resident, now: datetime) -> bool:
    """Replace the resident's name and clear their email, phone and external id; False if already done."""
    if resident.erased_dt is not None:
        return False
    resident.name = ERASED_NAME
    resident.email = resident.phone = resident.external_id = ""
    resident.erased_dt = now
    resident.archived_dt = resident.archived_dt or now  # never offered for a new dispute again
    return True


def remove_files(hashes: set[str]) -> None:
    """Remove erased files from storage (after the commit that erased their rows)."""
    for sha256 in hashes:
        delete_file(sha256)


def _erase_residents_done_with(resident_ids: set[int], now: datetime) -> list[Resident]:
    """The residents among ``resident_ids`` none of whose disputes still holds personal data, erased."""
    still_held = set(db.session.scalars(
        select(Dispute.resident_id).where(Dispute.resident_id.in_(resident_ids),
                                          Dispute.personal_data_erased_dt.is_(None))
    ))
    residents = db.session.scalars(select(Resident).where(Resident.id.in_(resident_ids - still_held)))
    return [resident for resident in residents if erase_resident_contact(resident, now)]


def _change(model, *where, **values) -> None:
    db.session.execute(update(model).where(*where).values(values).execution_options(synchronize_session=False))


def _erase_rows(disputes: list[Dispute], ids: list[int]) -> None:
    for model, columns in _FREE_TEXT.items():
        _change(model, model.dispute_id.in_(ids), **{name: _erased(getattr(model, name)) for name in columns})
    _change(VoteRevision, VoteRevision.vote_id.in_(select(Vote.id).where(Vote.dispute_id.in_(ids))), reason=ERASED)
    _change(Submission, Submission.dispute_id.in_(ids), item_responses={})
    _change(Task, Task.dispute_id.in_(ids), detail={})
    _change(Letter, Letter.dispute_id.in_(ids), draft_notes=[], tone_flags=[])
    if _letter_hashes(ids):  # a sent letter keeps a PDF (the schema asks it): the page that says it was erased
        _change(Letter, Letter.dispute_id.in_(ids), Letter.pdf_sha256.is_not(None), pdf_sha256=_erased_letter_pdf())
    _change(CasePacket, CasePacket.dispute_id.in_(ids), content={"erased": True})
    db.session.execute(delete(EvidenceFile).where(_residents_files(ids)).execution_options(synchronize_session=False))
    _erase_emails(disputes, ids)
    links = select(AccessLink.id).where(AccessLink.dispute_id.in_(ids))
    _change(LinkUse, LinkUse.link_id.in_(links), ip="", user_agent="")


def _erase_emails(disputes: list[Dispute], ids: list[int]) -> None:
    """The emails' words and attachments go; an email still waiting is not sent; the resident's address goes."""
    in_batch = OutboxEmail.dispute_id.in_(ids)
    _change(OutboxEmail, in_batch, OutboxEmail.status == "pending", status="failed",
            last_error="Not sent: the resident's personal data was erased.")
    _change(OutboxEmail, in_batch, attachments=[])
    addresses = {dispute.resident.email.lower() for dispute in disputes if dispute.resident.email}
    if addresses:
        _change(OutboxEmail, in_batch, OutboxEmail.to_addr.in_(addresses), to_addr="", to_name="")


def _erased_letter_pdf() -> str:
    from ...letters.pdf import html_to_pdf

    return store_bytes(html_to_pdf(_ERASED_LETTER))


def _residents_files(ids: list[int]):
    return EvidenceFile.dispute_id.in_(ids) & (EvidenceFile.side == RESIDENT_SIDE)


def _file_counts(ids: list[int]) -> dict[int, int]:
    rows = db.session.execute(select(EvidenceFile.dispute_id, EvidenceFile.id).where(_residents_files(ids)))
    counts: dict[int, int] = {}
    for dispute_id, _ in rows:
        counts[dispute_id] = counts.get(dispute_id, 0) + 1
    return counts


def _evidence_hashes(ids: list[int]) -> set[str]:
    rows = db.session.execute(
        select(EvidenceFile.sha256, EvidenceFile.received_sha256).where(_residents_files(ids)))
    return {sha256 for row in rows for sha256 in row if sha256}


def _letter_hashes(ids: list[int]) -> set[str]:
    return set(db.session.scalars(
        select(Letter.pdf_sha256).where(Letter.dispute_id.in_(ids), Letter.pdf_sha256.is_not(None))))


def _attachment_hashes(ids: list[int]) -> set[str]:
    rows = db.session.scalars(select(OutboxEmail.attachments).where(OutboxEmail.dispute_id.in_(ids)))
    return {attachment["sha256"] for attachments in rows for attachment in attachments or [] if attachment.get("sha256")}


def _still_referenced(hashes: set[str]) -> set[str]:
    """Of ``hashes``, those another row still refers to (the same photo sent for another dispute, the
    page every erased letter now points to)."""
    if not hashes:
        return set()
    found = db.session.execute(
        select(EvidenceFile.sha256, EvidenceFile.received_sha256)
        .where(or_(EvidenceFile.sha256.in_(hashes), EvidenceFile.received_sha256.in_(hashes))))
    referenced = {sha256 for row in found for sha256 in row if sha256}
    referenced |= set(db.session.scalars(select(Letter.pdf_sha256).where(Letter.pdf_sha256.in_(hashes))))
    return referenced & hashes
