"""Everything Resolver holds about one resident, as one ZIP a member of staff downloads: a JSON file
(the resident, their disputes with what the resident sent, the letters and emails they were sent, the
offers and their answers, each dispute's history) and their files (evidence as shown to staff, the
bytes as received when those were kept too, and the letters' PDFs).

The team's members are not named in it: what they did is said as "a member of the resolution team".
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import datetime

from sqlalchemy import select

from ...actors import Actor
from ...clock import now_utc
from ...files import read_bytes
from ...extensions import db
from ...models import (
    AuditEvent, Dispute, EvidenceFile, ExtensionRequest, LadderRequest, Letter, OfferAnswer, OutboxEmail, Resident,
    Submission,
)
from ...uploads import served_name
from ..company_history import record_company_event
from ..portfolio.common import require_own

TEAM_MEMBER = "a member of the resolution team"


def export_filename(resident: Resident) -> str:
    return f"resident-{resident.id}-personal-data.zip"


def export_resident(actor: Actor, resident: Resident) -> bytes:
    """The ZIP of everything held about ``resident``; the export is kept in the company's history."""
    require_own(actor, resident.company_id, "such resident")
    zip_files: dict[str, bytes] = {}
    disputes = list(db.session.scalars(
        select(Dispute).where(Dispute.resident_id == resident.id).order_by(Dispute.id)))
    document = {
        "exported_dt": _moment(now_utc()),
        "resident": _resident(resident),
        "disputes": [_dispute(dispute, zip_files) for dispute in disputes],
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("resident.json", json.dumps(document, indent=2, ensure_ascii=False))
        for name, data in zip_files.items():
            archive.writestr(name, data)
    record_company_event(actor, resident.company_id, "resident_exported", subject_kind="company",
                         subject_id=resident.company_id, subject_label=f"resident {resident.id}",
                         data={"resident_id": resident.id, "disputes": len(disputes), "files": len(zip_files)})
    return out.getvalue()


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _plain(row, names: str) -> dict:
    values = {}
    for name in names.split():
        value = getattr(row, name)
        values[name] = _moment(value) if isinstance(value, datetime) else value
    return values


def _resident(resident: Resident) -> dict:
    unit = resident.unit
    return {
        **_plain(resident, "id name email phone preferred_language external_id archived_dt erased_dt"),
        "property": unit.property.name if unit else None,
        "property_address": unit.property.address if unit else None,
        "unit": unit.label if unit else None,
    }


def _dispute(dispute: Dispute, zip_files: dict[str, bytes]) -> dict:
    return {
        **_plain(dispute, "id state category issue what_was_fixed company_position created_dt opened_dt "
                          "evidence_due_dt evidence_received_dt reply_due_dt decision decision_note decided_dt "
                          "outcome_sent_dt acknowledged_dt referred_dt withdrawn_dt closed_dt close_reason "
                          "personal_data_erased_dt"),
        "items": [_plain(item, "description amount_cents company_reason decision granted_cents")
                  for item in dispute.items],
        "submissions": [_submission(row, zip_files) for row in _rows(Submission, dispute, Submission.received_dt)],
        "requests_for_more_time": [_plain(row, "requested_dt days_asked reason status answered_dt answer_note")
                                   for row in _rows(ExtensionRequest, dispute, ExtensionRequest.requested_dt)],
        "letters": [_letter(row, zip_files) for row in _rows(Letter, dispute, Letter.version)
                    if row.sent_dt is not None],
        "offer_answers": [_plain(row, "letter_id answer answered_by answered_dt")
                          for row in _rows(OfferAnswer, dispute, OfferAnswer.answered_dt)],
        "requests_to_look_again": [_plain(row, "asked_dt message due_dt answered_dt answer_note")
                                   for row in _rows(LadderRequest, dispute, LadderRequest.asked_dt)],
        "emails_to_the_resident": [_plain(row, "created_dt sent_dt status to_addr subject body_text")
                                   for row in _emails_to(dispute)],
        "history": [_event(row) for row in _rows(AuditEvent, dispute, AuditEvent.occurred_dt)],
    }


def _rows(model, dispute: Dispute, order):
    return db.session.scalars(select(model).where(model.dispute_id == dispute.id).order_by(order, model.id))


def _emails_to(dispute: Dispute):
    email = dispute.resident.email
    if not email:
        return []
    return db.session.scalars(select(OutboxEmail).where(OutboxEmail.dispute_id == dispute.id,
                                                        OutboxEmail.to_addr == email).order_by(OutboxEmail.id))


def _submission(submission: Submission, zip_files: dict[str, bytes]) -> dict:
    return {
        **_plain(submission, "received_dt details suggested_resolution suggested_amount_cents item_responses"),
        "files": [_evidence(row, zip_files) for row in submission.files],
    }


def _evidence(stored: EvidenceFile, zip_files: dict[str, bytes]) -> dict:
    name = _safe(served_name(stored.original_name, stored.content_type))
    folder = f"evidence/dispute-{stored.dispute_id}"
    listed = _plain(stored, "original_name content_type size_bytes sha256 received_dt captured_dt")
    listed["file"] = _add(zip_files, f"{folder}/{stored.id}-{name}", stored.sha256)
    if stored.received_sha256:
        listed["file_as_received"] = _add(zip_files, f"{folder}/as-received/{stored.id}-{name}", stored.received_sha256)
    return listed


def _letter(letter: Letter, zip_files: dict[str, bytes]) -> dict:
    listed = _plain(letter, "version status subject body_text sent_dt token_kind token_cents concession_cents "
                            "offer_expires_dt offer_response offer_response_dt")
    if letter.pdf_sha256:
        listed["file"] = _add(zip_files, f"letters/dispute-{letter.dispute_id}/letter-v{letter.version}.pdf",
                              letter.pdf_sha256)
    return listed


def _event(event: AuditEvent) -> dict:
    listed = _plain(event, "occurred_dt actor_kind action from_state to_state reason data")
    listed["actor"] = TEAM_MEMBER if event.actor_kind == "panel" else event.actor_label
    return listed


def _add(zip_files: dict[str, bytes], name: str, sha256: str) -> str | None:
    """Put a stored file in the ZIP under ``name``; None when it is no longer in storage."""
    try:
        zip_files[name] = read_bytes(sha256)
    except FileNotFoundError:
        return None
    return name


def _safe(name: str) -> str:
    return re.sub(r"[\\/\x00-\x1f]", "_", name).lstrip(".") or "file"
