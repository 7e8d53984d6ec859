"""Personal links sent by email: one person, one dispute, one purpose; signed, expiring, revocable."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from .base import Base
from .panel import PanelSeat

PURPOSES = ("evidence", "vote", "outcome")


class AccessLink(Base):
    __tablename__ = "access_link"
    __table_args__ = (
        CheckConstraint("purpose IN ('evidence', 'vote', 'outcome')", name="purpose_known"),
        # A link belongs to exactly one person: the resident, or one panel seat.
        CheckConstraint("(resident_id IS NULL) != (seat_id IS NULL)", name="one_holder"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(43), unique=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    seat_id: Mapped[int | None] = mapped_column(ForeignKey("panel_seat.id"))
    created_dt: Mapped[datetime] = mapped_column(default=now_utc)
    expires_dt: Mapped[datetime]
    revoked_dt: Mapped[datetime | None]
    revoked_reason: Mapped[str] = mapped_column(Text, default="")

    seat: Mapped[PanelSeat | None] = relationship()


class LinkUse(Base):
    """A request made with a link, accepted or not: the first few of each hour in full (a scanner's
    storm goes on as ``LinkUseCount``), and only for 90 days before they are counted by day."""

    __tablename__ = "link_use"
    __table_args__ = (Index("ix_link_use_link_time", "link_id", "used_dt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("access_link.id"))
    used_dt: Mapped[datetime] = mapped_column(default=now_utc)
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(500), default="")
    outcome: Mapped[str] = mapped_column(String(40), default="ok")


class LinkUseCount(Base):
    """How many requests a link had, by hour or by day, of one kind (method) and outcome: the hour's
    uses beyond those kept in full, and, once they are 90 days old, every use, counted by day."""

    __tablename__ = "link_use_count"
    __table_args__ = (
        CheckConstraint("span IN ('hour', 'day')", name="span_known"),
        UniqueConstraint("link_id", "span", "start_dt", "method", "outcome", name="uq_link_use_count_period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("access_link.id"))
    span: Mapped[str] = mapped_column(String(5))
    start_dt: Mapped[datetime]
    method: Mapped[str] = mapped_column(String(10))
    outcome: Mapped[str] = mapped_column(String(40))
    uses: Mapped[int] = mapped_column(default=0)
    last_used_dt: Mapped[datetime]
