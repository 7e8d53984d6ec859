"""The resolution team: the company's roster, the seats on one dispute's panel, votes and the packet."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from .base import Base
from ..workflow.definition import Decision
from .company import StaffUser
from .dispute import Dispute

_CHOICE_CHECK = "choice IN ({})".format(", ".join(f"'{decision}'" for decision in Decision))
_AMOUNT_CHECK = (
    "(token_cents IS NULL OR token_cents >= 0) AND (concession_cents IS NULL OR concession_cents >= 0)"
)
# A vote the manager recorded from a team call names both who recorded it and the call's day.
_CALL_CHECK = "(recorded_by_id IS NULL) = (call_on IS NULL)"


class PanelMember(Base):
    """A peer property manager on the company's roster; no account, reached by email."""

    __tablename__ = "panel_member"
    __table_args__ = (UniqueConstraint("company_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    # The staff member this person reports to, if they work for the company (a conflict for that manager).
    reports_to_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    excluded_property_ids: Mapped[list] = mapped_column(JSON, default=list)
    excluded_portfolios: Mapped[list] = mapped_column(JSON, default=list)
    is_reserve: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)


class CasePacket(Base):
    """Both sides as the panel sees them, frozen when the panel opens; votes refer to it."""

    __tablename__ = "case_packet"
    __table_args__ = (UniqueConstraint("dispute_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"), index=True)
    version: Mapped[int] = mapped_column(default=1)
    frozen_dt: Mapped[datetime] = mapped_column(default=now_utc)
    content: Mapped[dict] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))


class PanelSeat(Base):
    __tablename__ = "panel_seat"
    __table_args__ = (
        UniqueConstraint("dispute_id", "panel_member_id"),
        # The team-response report reads the seats of many disputes with their invitation times, and
        # on PostgreSQL their ids, from the index alone.
        Index("ix_panel_seat_dispute_invited", "dispute_id", "invited_dt", postgresql_include=["id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"))
    panel_member_id: Mapped[int] = mapped_column(ForeignKey("panel_member.id"), index=True)
    is_chair: Mapped[bool] = mapped_column(default=False)
    seated_dt: Mapped[datetime] = mapped_column(default=now_utc)
    invited_dt: Mapped[datetime | None]
    recused_dt: Mapped[datetime | None]
    recusal_reason: Mapped[str] = mapped_column(Text, default="")
    conflict_note: Mapped[str] = mapped_column(Text, default="")  # a flagged conflict the manager accepted

    member: Mapped[PanelMember] = relationship()
    vote: Mapped[Vote | None] = relationship(back_populates="seat", uselist=False)


class Vote(Base):
    """The member's current vote: one row per seat, enforced here, changed in place until the panel closes."""

    __tablename__ = "vote"
    __table_args__ = (
        UniqueConstraint("seat_id"),
        Index("ix_vote_seat_cast", "seat_id", "cast_dt"),  # when each seat voted, from the index alone
        CheckConstraint(_CHOICE_CHECK, name="choice_known"),
        CheckConstraint("length(reason) > 0", name="reason_given"),
        CheckConstraint(_AMOUNT_CHECK, name="amounts_not_negative"),
        CheckConstraint(_CALL_CHECK, name="call_recorded_by"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seat_id: Mapped[int] = mapped_column(ForeignKey("panel_seat.id"))
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"), index=True)
    packet_id: Mapped[int] = mapped_column(ForeignKey("case_packet.id"))
    choice: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    token_kind: Mapped[str] = mapped_column(String(120), default="")
    token_cents: Mapped[int | None]
    concession_cents: Mapped[int | None]
    item_choices: Mapped[dict] = mapped_column(JSON, default=dict)  # {"<item id>": choice}
    cast_dt: Mapped[datetime] = mapped_column(default=now_utc)
    changed_dt: Mapped[datetime] = mapped_column(default=now_utc)
    revision: Mapped[int] = mapped_column(default=1)
    # Set when the manager recorded this vote from a team call (the member's own vote leaves them
    # empty); ``correction_due_dt`` is how long the member's emailed link may correct it.
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    call_on: Mapped[date | None] = mapped_column(Date)
    correction_due_dt: Mapped[datetime | None]

    seat: Mapped[PanelSeat] = relationship(back_populates="vote")
    dispute: Mapped[Dispute] = relationship(viewonly=True)
    recorded_by: Mapped[StaffUser | None] = relationship()

    @property
    def is_from_call(self) -> bool:
        return self.call_on is not None


class VoteRevision(Base):
    """Every version of every vote, kept."""

    __tablename__ = "vote_revision"
    __table_args__ = (
        UniqueConstraint("vote_id", "revision"),
        CheckConstraint(_CHOICE_CHECK, name="choice_known"),
        CheckConstraint(_AMOUNT_CHECK, name="amounts_not_negative"),
        CheckConstraint(_CALL_CHECK, name="call_recorded_by"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("vote.id"), index=True)
    revision: Mapped[int]
    choice: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    token_kind: Mapped[str] = mapped_column(String(120), default="")
    token_cents: Mapped[int | None]
    concession_cents: Mapped[int | None]
    item_choices: Mapped[dict] = mapped_column(JSON, default=dict)
    recorded_dt: Mapped[datetime] = mapped_column(default=now_utc)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    call_on: Mapped[date | None] = mapped_column(Date)

    recorded_by: Mapped[StaffUser | None] = relationship()

    @property
    def is_from_call(self) -> bool:
        return self.call_on is not None
