"""What each side sends: the resident's submissions, both sides' evidence files, and the resident's
requests for more time."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from .base import Base
from .company import StaffUser

RESIDENT_SIDE, COMPANY_SIDE = "resident", "company"

if TYPE_CHECKING:
    from .company import StaffUser


class Submission(Base):
    """One send of the resident's side; a resident may send more than once before the window closes.

    Most come through their form. A letter that came by post is typed in by staff: ``entered_by_id``
    names who, ``entered_dt`` when, and ``received_dt`` is the day the letter arrived (the reply's clock
    runs from then, not from the typing).
    """

    __tablename__ = "submission"
    __table_args__ = (
        CheckConstraint("suggested_amount_cents IS NULL OR suggested_amount_cents >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"), index=True)
    # The form's one-time key: a double-clicked submit arrives twice with the same key, saved once.
    form_key: Mapped[str] = mapped_column(String(64), unique=True)
    received_dt: Mapped[datetime] = mapped_column(default=now_utc)
    details: Mapped[str] = mapped_column(Text, default="")
    suggested_resolution: Mapped[str] = mapped_column(Text, default="")
    suggested_amount_cents: Mapped[int | None]
    # {"<item id>": "the resident's response"}
    item_responses: Mapped[dict] = mapped_column(JSON, default=dict)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    entered_dt: Mapped[datetime | None]

    files: Mapped[list[EvidenceFile]] = relationship(back_populates="submission", order_by="EvidenceFile.id")
    entered_by: Mapped[StaffUser | None] = relationship()

    @property
    def is_by_post(self) -> bool:
        return self.entered_by_id is not None


class EvidenceFile(Base):
    """One file of one side's evidence: the resident's (sent with a submission) or the company's
    (attached by a member of staff, who is named, with a short description of what it shows).

    ``sha256``, ``size_bytes`` and ``content_type`` describe the copy Resolver shows to anyone
    (the manager, the panel, the resident): for a photo, re-encoded without its location and other
    EXIF data. When that copy differs from the bytes the resident sent, those bytes are kept too,
    under ``received_sha256``, for the record only: they are never served. Never with where a photo
    was taken: a JPEG's location is cut out of them; another photo that has one keeps its clean copy only.
    """

    __tablename__ = "evidence_file"
    __table_args__ = (
        CheckConstraint("size_bytes > 0", name="not_empty"),
        CheckConstraint("length(sha256) = 64", name="sha256_hex"),
        CheckConstraint(
            "(received_sha256 IS NULL AND received_size_bytes IS NULL) OR "
            "(length(received_sha256) = 64 AND received_size_bytes > 0)",
            name="received_copy_complete",
        ),
        CheckConstraint("side IN ('resident', 'company')", name="side_known"),
        # The resident's files come with a submission; the company's with who attached them.
        CheckConstraint(
            "(side = 'resident' AND submission_id IS NOT NULL AND added_by_id IS NULL) OR "
            "(side = 'company' AND submission_id IS NULL AND added_by_id IS NOT NULL)",
            name="side_has_its_source",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"), index=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"), index=True)
    side: Mapped[str] = mapped_column(String(10), default="resident", server_default="resident")
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    description: Mapped[str] = mapped_column(String(300), default="", server_default="")
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # The bytes exactly as received, when the served copy had something removed (a photo's GPS).
    received_sha256: Mapped[str | None] = mapped_column(String(64))
    received_size_bytes: Mapped[int | None]
    received_dt: Mapped[datetime] = mapped_column(default=now_utc)
    captured_dt: Mapped[datetime | None]  # from the photo's EXIF, when it has one

    @property
    def bytes_received(self) -> int:
        """What this file counts against the upload limits: its size as it was sent."""
        return self.received_size_bytes or self.size_bytes

    @property
    def is_company_side(self) -> bool:
        return self.side == COMPANY_SIDE

    submission: Mapped[Submission | None] = relationship(back_populates="files")
    added_by: Mapped[StaffUser | None] = relationship()


class ExtensionRequest(Base):
    """A resident asks for more time; the manager grants or refuses, and either way it is kept."""

    __tablename__ = "extension_request"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'granted', 'refused')", name="status_known"),
        Index("ix_extension_request_dispute", "dispute_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"))
    requested_dt: Mapped[datetime] = mapped_column(default=now_utc)
    days_asked: Mapped[int] = mapped_column(default=3)
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="pending")
    answered_dt: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    answer_note: Mapped[str] = mapped_column(Text, default="")
