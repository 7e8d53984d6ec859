"""The written outcome and the manager's follow-through tasks."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from .base import Base


class LetterStatus(StrEnum):
    """Where a letter is: being written, approved to go, gone, or replaced by a correction."""

    DRAFT = "draft"
    APPROVED = "approved"
    SENT = "sent"
    SUPERSEDED = "superseded"


# A letter the manager may still change.
UNSENT = frozenset({LetterStatus.DRAFT, LetterStatus.APPROVED})


class Letter(Base):
    """One version of the outcome letter. Once sent it never changes; a correction is a new letter."""

    __tablename__ = "letter"
    __table_args__ = (
        UniqueConstraint("dispute_id", "version"),
        CheckConstraint("status IN ('draft', 'approved', 'sent', 'superseded')", name="status_known"),
        CheckConstraint("status != 'sent' OR (sent_dt IS NOT NULL AND pdf_sha256 IS NOT NULL)", name="sent_complete"),
        CheckConstraint(
            "(token_cents IS NULL OR token_cents >= 0) AND (concession_cents IS NULL OR concession_cents >= 0)",
            name="amounts_not_negative",
        ),
        CheckConstraint("status NOT IN ('approved', 'sent') OR approved_dt IS NOT NULL", name="approval_recorded"),
        CheckConstraint(
            "offer_response IS NULL OR (offer_response IN ('accepted', 'declined') AND offer_response_dt IS NOT NULL)",
            name="offer_response_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"), index=True)
    version: Mapped[int] = mapped_column(default=1)
    corrects_letter_id: Mapped[int | None] = mapped_column(ForeignKey("letter.id"))
    status: Mapped[str] = mapped_column(String(12), default=LetterStatus.DRAFT)
    subject: Mapped[str] = mapped_column(String(300), default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    token_kind: Mapped[str] = mapped_column(String(120), default="")
    token_cents: Mapped[int | None]
    concession_cents: Mapped[int | None]
    # What a concession means for this dispute's kind, as the letter was drafted with it ("{amount} back
    # from your security deposit"; "Return {amount} from the security deposit"): kept on the letter, so
    # the offer, the confirmation, the task and the "Done" email say what the letter said, even after the
    # company changes its phrases.
    concession_line: Mapped[str] = mapped_column(String(300), default="", server_default="")
    concession_task: Mapped[str] = mapped_column(String(300), default="", server_default="")
    # The language the letter was written in (the resident's when it was drafted): its text, HTML and PDF
    # are always rendered in it, so a later change of the resident's language never changes a sent letter.
    language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    # A letter drafted in another language than English, as drafted, in English: what the manager reads
    # beside the draft they edit, so they know what it says.
    english_html: Mapped[str] = mapped_column(Text, default="", server_default="")
    offer_expires_dt: Mapped[datetime | None]
    offer_response: Mapped[str | None] = mapped_column(String(12))  # accepted / declined
    offer_response_dt: Mapped[datetime | None]
    tone_flags: Mapped[list] = mapped_column(JSON, default=list)
    tone_override_reason: Mapped[str] = mapped_column(Text, default="")
    # What the draft could not follow from the team's advice (e.g. a recommendation over a cap).
    draft_notes: Mapped[list] = mapped_column(JSON, default=list)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    created_dt: Mapped[datetime] = mapped_column(default=now_utc)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    approved_dt: Mapped[datetime | None]
    sent_dt: Mapped[datetime | None]

    @property
    def has_offer(self) -> bool:
        return bool(self.token_cents) or bool(self.concession_cents)

    @property
    def is_sent(self) -> bool:
        return self.status == LetterStatus.SENT

    @property
    def is_correction(self) -> bool:
        return self.corrects_letter_id is not None


class OfferAnswer(Base):
    """The resident's one answer to a letter's offer. The unique letter makes it one: two answers sent
    at once (a double tap, a retrying proxy) cannot both be written, whatever each request read first."""

    __tablename__ = "offer_answer"
    __table_args__ = (
        UniqueConstraint("letter_id", name="uq_offer_answer_once_per_letter"),
        CheckConstraint("answer IN ('accepted', 'declined')", name="answer_known"),
        CheckConstraint("answered_by IN ('resident', 'staff')", name="answered_by_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letter.id"))
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"), index=True)
    answer: Mapped[str] = mapped_column(String(12))
    answered_by: Mapped[str] = mapped_column(String(12))  # resident / staff
    answered_dt: Mapped[datetime] = mapped_column(default=now_utc)


class Task(Base):
    """Something a staff member must do: follow up with the resident, send the gift card, adjust the deposit."""

    __tablename__ = "task"
    __table_args__ = (
        CheckConstraint("kind IN ('follow_up', 'fulfil_offer', 'review')", name="kind_known"),
        CheckConstraint("done_dt IS NOT NULL OR done_by_id IS NULL", name="done_by_has_time"),
        # One follow-up and one fulfilment per dispute, however many times the button is pressed at once.
        Index(
            "uq_task_once_per_dispute",
            "dispute_id",
            "kind",
            unique=True,
            sqlite_where=text("kind IN ('follow_up', 'fulfil_offer')"),
            postgresql_where=text("kind IN ('follow_up', 'fulfil_offer')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"), index=True)
    assignee_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    due_dt: Mapped[datetime | None]
    created_dt: Mapped[datetime] = mapped_column(default=now_utc)
    done_dt: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    done_note: Mapped[str] = mapped_column(Text, default="")

    @property
    def is_done(self) -> bool:
        return self.done_dt is not None
