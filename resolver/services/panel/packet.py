"""The frozen case packet: both sides, the disputed items, the evidence list with hashes and the
dates, fixed when the team's review opens so every vote refers to the same record.

The evidence list holds both sides' files, each marked with its side (``files_on``): the resident's,
and the company's with the short description staff gave it. A packet frozen before the company had
files of its own lists the resident's only, without the mark.

The resident's contact details stay out of it (initials and unit only), even where someone typed
them into the words.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime

from sqlalchemy import func, select

from ...extensions import db
from ...models import COMPANY_SIDE, RESIDENT_SIDE, CasePacket, Dispute, EvidenceFile, Submission
from ...presentation import by_post_note
from ..categories import phrases_of
from .conflicts import dispute_property


def scrub_contact(text: str, dispute: Dispute) -> str:
    """The resident's contact details stay out of the packet, even where they typed them in."""
    resident = dispute.resident
    if not text or resident is None:
        return text or ""
    if resident.email:
        text = re.sub(re.escape(resident.email), "[email removed]", text, flags=re.IGNORECASE)
    digits = re.sub(r"\D", "", resident.phone or "")
    if len(digits) >= 7:
        pattern = r"\D{0,3}".join(re.escape(d) for d in digits[-7:])
        text = re.sub(r"(\+?\d[\s().-]{0,3}){0,4}" + pattern, "[phone removed]", text)
    for part in sorted({p for p in (resident.name or "").split() if len(p) > 1}, key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(part)}\b", part[0] + ".", text)
    return text


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def build_packet_content(dispute: Dispute, now: datetime) -> dict:
    """What the team sees: the packet's content as of ``now``, before it is frozen."""
    prop = dispute_property(dispute)
    unit = dispute.unit or (dispute.resident.unit if dispute.resident else None)
    submissions = db.session.scalars(
        select(Submission).where(Submission.dispute_id == dispute.id).order_by(Submission.received_dt, Submission.id)
    ).all()
    files = db.session.scalars(
        select(EvidenceFile).where(EvidenceFile.dispute_id == dispute.id).order_by(EvidenceFile.received_dt,
                                                                                    EvidenceFile.id)
    ).all()
    responses: dict[str, str] = {}
    for submission in submissions:  # the newest response to each item counts
        responses.update(submission.item_responses or {})
    scrub = lambda text: scrub_contact(text, dispute)  # noqa: E731
    return {
        "dispute_id": dispute.id,
        "category": phrases_of(dispute).label,
        "resident": {"initials": dispute.resident.initials if dispute.resident else "",
                     "unit": unit.label if unit else "", "property": prop.name if prop else ""},
        "manager": dispute.manager.name,
        # The manager's words are scrubbed too: a note such as "called Tammy on 303-555-..." happens.
        "company_side": {
            "issue": scrub(dispute.issue),
            "what_was_fixed": scrub(dispute.what_was_fixed),
            "position": scrub(dispute.company_position),
        },
        "resident_side": [
            {
                "received": _iso(s.received_dt),
                "details": scrub(s.details),
                "suggested_resolution": scrub(s.suggested_resolution),
                "suggested_amount_cents": s.suggested_amount_cents,
                # A letter that came by post says so, and who typed it in (staff, not the resident).
                "by_post": by_post_note(s, dispute.company),
            }
            for s in submissions
        ],
        "items": [
            {
                "id": item.id, "description": item.description, "amount_cents": item.amount_cents,
                "company_reason": scrub(item.company_reason),
                "resident_response": scrub(responses.get(str(item.id), "")),
            }
            for item in dispute.items
        ],
        "evidence": [_listed(f, scrub) for f in files],
        "dates": {
            "opened": _iso(dispute.opened_dt),
            "evidence_received": _iso(dispute.evidence_received_dt),
            "reply_due": _iso(dispute.reply_due_dt),
            "panel_opened": _iso(now),
        },
    }


def _listed(stored: EvidenceFile, scrub) -> dict:
    """One file as the packet lists it: whose side it is on, its name and fingerprint."""
    listed = {
        "id": stored.id, "side": stored.side, "name": scrub(stored.original_name), "content_type": stored.content_type,
        "size_bytes": stored.size_bytes,
        "sha256": stored.sha256, "received": _iso(stored.received_dt), "captured": _iso(stored.captured_dt),
    }
    if stored.side == COMPANY_SIDE:
        listed["description"] = scrub(stored.description)
    return listed


def files_on(content: dict | None, side: str) -> list[dict]:
    """The files a packet's content lists on one side (``RESIDENT_SIDE`` or ``COMPANY_SIDE``)."""
    return [f for f in (content or {}).get("evidence", []) if f.get("side", RESIDENT_SIDE) == side]


def freeze_packet(dispute: Dispute, now: datetime) -> CasePacket:
    """Fix the packet as a new version, with the SHA-256 of its content."""
    content = build_packet_content(dispute, now)
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    last = db.session.scalar(select(func.max(CasePacket.version)).where(CasePacket.dispute_id == dispute.id)) or 0
    packet = CasePacket(dispute_id=dispute.id, version=last + 1, frozen_dt=now, content=content, sha256=digest)
    db.session.add(packet)
    return packet


def current_packet(dispute: Dispute) -> CasePacket | None:
    """The newest packet the team was sent; None before the case goes to the team."""
    return db.session.scalars(
        select(CasePacket).where(CasePacket.dispute_id == dispute.id).order_by(CasePacket.version.desc()).limit(1)
    ).first()
