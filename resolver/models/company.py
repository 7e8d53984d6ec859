"""Companies (tenants), their staff, properties, units and residents, and the company's history."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, event, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from .append_only import make_append_only
from .base import Base


class Company(Base):
    __tablename__ = "company"
    __table_args__ = (
        CheckConstraint("panel_size % 2 = 1 AND panel_size >= 1", name="panel_size_odd"),
        CheckConstraint("evidence_window_days >= 1 AND reply_window_days >= 1", name="windows_positive"),
        CheckConstraint("token_cap_cents >= 0 AND concession_cap_cents >= 0", name="caps_not_negative"),
        CheckConstraint("token_step_cents >= 1", name="token_step_positive"),
        CheckConstraint("idle_timeout_minutes BETWEEN 5 AND 480", name="idle_timeout_bounded"),
        CheckConstraint("retention_years >= 1 AND retention_years <= 30", name="retention_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="America/Denver")
    evidence_window_days: Mapped[int] = mapped_column(default=5)
    reply_window_days: Mapped[int] = mapped_column(default=7)
    panel_window_days: Mapped[int] = mapped_column(default=3)
    follow_up_days: Mapped[int] = mapped_column(default=7)
    offer_valid_days: Mapped[int] = mapped_column(default=30)
    is_business_days: Mapped[bool] = mapped_column(default=False)
    # ISO dates ("2026-12-25") that do not count as business days.
    holidays: Mapped[list] = mapped_column(JSON, default=list)
    panel_size: Mapped[int] = mapped_column(default=3)
    is_panel_anonymous: Mapped[bool] = mapped_column(default=True)
    # True when the company chose to close the team's review as soon as its result cannot change
    # (the workflow's ``early_close_chosen``); otherwise a member may change their vote until the
    # review closes: at its deadline, or once everyone has voted. The invitation says which.
    is_panel_closing_early: Mapped[bool] = mapped_column(default=False, server_default=false())
    token_cap_cents: Mapped[int] = mapped_column(default=5000)
    concession_cap_cents: Mapped[int] = mapped_column(default=50000)
    # A token the team recommends is rounded to a multiple of this (gift cards come in $5 steps).
    token_step_cents: Mapped[int] = mapped_column(default=500, server_default=text("500"))
    supervisor_name: Mapped[str] = mapped_column(String(200), default="")
    supervisor_email: Mapped[str] = mapped_column(String(254), default="")
    supervisor_phone: Mapped[str] = mapped_column(String(40), default="")
    home_office_phone: Mapped[str] = mapped_column(String(40), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    # Where a resident can go when the company's answer does not settle it. Many local BBBs do
    # not take landlord-tenant complaints, so this is the company's own choice, never assumed.
    mediation_service_name: Mapped[str] = mapped_column(String(200), default="")
    mediation_service_contact: Mapped[str] = mapped_column(Text, default="")
    # True when the company chose, on purpose, to name no outside mediation service: its letters then
    # offer the way up the ladder only. A company that names a service has chosen too.
    is_without_mediation: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The company's own text a resident reads, in other languages: {"es": {"mediation_service_name": ...}}.
    # Where a language is left out, the resident reads the English (``services.company_words``).
    wording: Mapped[dict] = mapped_column(JSON, default=dict, server_default=text("'{}'"))
    # Limits on what a resident may upload, checked on the server against the bytes received.
    max_file_bytes: Mapped[int] = mapped_column(default=10 * 1024 * 1024)
    max_dispute_bytes: Mapped[int] = mapped_column(default=50 * 1024 * 1024)
    max_files: Mapped[int] = mapped_column(default=20)
    # A member of staff is signed out after this many minutes without a page (8 hours at most).
    idle_timeout_minutes: Mapped[int] = mapped_column(default=30, server_default=text("30"))
    # How long a closed dispute keeps its resident's contact details, files and free text; then they
    # are erased (``resolver.services.personal_data``) and only the anonymous counts remain.
    retention_years: Mapped[int] = mapped_column(default=7, server_default=text("7"))
    # Made by `resolver demo`: its clock may be moved forward to rehearse the deadlines.
    is_demo: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_dt: Mapped[datetime] = mapped_column(default=now_utc)

    staff: Mapped[list[StaffUser]] = relationship(back_populates="company")

    def __repr__(self) -> str:
        return f"<Company {self.slug}>"


class StaffUser(Base):
    __tablename__ = "staff_user"
    __table_args__ = (CheckConstraint("role IN ('manager', 'supervisor')", name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="manager")
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    # Part of every session's id: moving it on (signing out) ends every session the person has open.
    session_version: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    created_dt: Mapped[datetime] = mapped_column(default=now_utc)

    company: Mapped[Company] = relationship(back_populates="staff")

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"

    def __repr__(self) -> str:
        return f"<StaffUser {self.email} {self.role}>"


class Property(Base):
    __tablename__ = "property"
    __table_args__ = (Index("ix_property_company_external", "company_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(Text, default="")
    # The portfolio or owner group the property belongs to; panel members can be kept off a whole one.
    portfolio: Mapped[str] = mapped_column(String(120), default="")
    # The property's id in the company's property-management system, matched on import ("" if none).
    external_id: Mapped[str] = mapped_column(String(80), default="")
    # Archived properties stay on their disputes but are no longer offered for new ones.
    archived_dt: Mapped[datetime | None]

    units: Mapped[list[Unit]] = relationship(back_populates="property")


class Unit(Base):
    __tablename__ = "unit"
    __table_args__ = (UniqueConstraint("property_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("property.id"), index=True)
    label: Mapped[str] = mapped_column(String(40))
    archived_dt: Mapped[datetime | None]

    property: Mapped[Property] = relationship(back_populates="units")


class Resident(Base):
    __tablename__ = "resident"
    __table_args__ = (Index("ix_resident_company_external", "company_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    # A language tag such as "en" or "es"; recorded for now, used when Resolver speaks more than English.
    preferred_language: Mapped[str] = mapped_column(String(16), default="en")
    # The resident's (or lease's) id in the company's property-management system ("" if none).
    external_id: Mapped[str] = mapped_column(String(80), default="")
    archived_dt: Mapped[datetime | None]
    # When their contact details were erased (on request, or when their last dispute's time ran out).
    erased_dt: Mapped[datetime | None]

    unit: Mapped[Unit | None] = relationship()

    @property
    def initials(self) -> str:
        return "".join(part[0].upper() + "." for part in self.name.split() if part)


class CompanyEvent(Base):
    """Who changed the company's own set-up (its team roster, its staff, its rules), when, and how.

    The company's history beside each dispute's (``AuditEvent``): rows are only ever added.
    """

    __tablename__ = "company_event"
    __table_args__ = (
        CheckConstraint("actor_kind IN ('staff', 'resident', 'panel', 'system')", name="actor_kind_known"),
        CheckConstraint("subject_kind IN ('company', 'panel_member', 'staff_user', 'api_key')", name="subject_known"),
        Index("ix_company_event_company_time", "company_id", "occurred_dt"),
        UniqueConstraint("company_id", "position"),  # one chain per company, never forked
    )
    CHAINED_FIELDS = ("company_id", "position", "occurred_dt", "actor_kind", "actor_id", "actor_label", "action",
                      "subject_kind", "subject_id", "subject_label", "reason", "data")

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"))
    occurred_dt: Mapped[datetime] = mapped_column(default=now_utc)
    actor_kind: Mapped[str] = mapped_column(String(12))
    actor_id: Mapped[int | None]
    actor_label: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(60))
    # What was changed: the company itself, a member of its team roster, a staff account, an API key.
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int | None]
    subject_label: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    # Its place in the company's history and the hash chaining it to the event before it.
    position: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))


@event.listens_for(CompanyEvent, "before_update")
@event.listens_for(CompanyEvent, "before_delete")
def _refuse_history_rewrite(mapper, connection, target):
    raise PermissionError("the company's history is append-only")


make_append_only(CompanyEvent.__table__)
