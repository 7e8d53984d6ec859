"""Up the ladder: a resident's request that the supervisor look again at the written outcome."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from .base import Base
from .company import StaffUser
from .dispute import Dispute


class LadderRequest(Base):
    """One request per letter that the supervisor look again. The unique letter makes it one: two
    presses sent at once cannot both be written, whatever each request read first. The supervisor's
    "review" task carries the due date; the answer they send the resident is kept here."""

    __tablename__ = "ladder_request"
    __table_args__ = (
        UniqueConstraint("letter_id", name="uq_ladder_request_once_per_letter"),
        CheckConstraint("answered_dt IS NULL OR answer_note != ''", name="answer_has_note"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letter.id"))
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"))
    message: Mapped[str] = mapped_column(Text, default="")  # what the resident wants looked at again
    asked_dt: Mapped[datetime] = mapped_column(default=now_utc)
    due_dt: Mapped[datetime]
    answered_dt: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    answer_note: Mapped[str] = mapped_column(Text, default="")  # what the supervisor decided, sent to the resident

    dispute: Mapped[Dispute] = relationship()
    answered_by: Mapped[StaffUser | None] = relationship()

    @property
    def is_answered(self) -> bool:
        return self.answered_dt is not None
