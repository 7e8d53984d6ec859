"""The dispute, its disputed items, its timers and its append-only history."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, event, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..workflow.definition import Decision, load_definition
from .append_only import make_append_only
from .base import Base
from .company import Company, Resident, StaffUser, Unit



def _state_constraints() -> list[CheckConstraint]:
    """One check per state, built from the workflow's `requires`: a state always has its columns."""
    workflow = load_definition("dispute")
    names = ", ".join(f"'{s}'" for s in workflow.states)
    checks = [CheckConstraint(f"state IN ({names})", name="state_known")]
    for state in workflow.states.values():
        if state.requires:
            needed = " AND ".join(f"{column} IS NOT NULL" for column in state.requires)
            checks.append(CheckConstraint(f"state != '{state.name}' OR ({needed})", name=f"{state.name}_complete"))
    return checks


class Dispute(Base):
    __tablename__ = "dispute"
    __table_args__ = (
        *_state_constraints(),
        CheckConstraint(
            "decision IS NULL OR decision IN ({})".format(", ".join(f"'{d}'" for d in Decision)), name="decision_known"
        ),
        Index("ix_dispute_company_state", "company_id", "state"),
        # Reports read one company's disputes written up in the last months, and join their letters and
        # the team's seats by id from the index alone (SQLite's indexes hold the row's id anyway).
        Index("ix_dispute_company_created", "company_id", "created_dt", postgresql_include=["id"]),
        # The training report reads a company's disputes closed with a lesson, by closing time.
        Index(
            "ix_dispute_company_lessons",
            "company_id",
            "closed_dt",
            sqlite_where=text("lessons_learned != ''"),
            postgresql_where=text("lessons_learned != ''"),
        ),
        # The retention sweep reads a company's ended disputes whose personal data is still held.
        Index(
            "ix_dispute_personal_data_held",
            "company_id",
            "state",
            sqlite_where=text("personal_data_erased_dt IS NULL"),
            postgresql_where=text("personal_data_erased_dt IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"))
    manager_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    state: Mapped[str] = mapped_column(String(32), default=lambda: load_definition("dispute").initial)
    # Bumped on every change; a stale writer gets "this dispute changed" instead of a lost update.
    version: Mapped[int] = mapped_column(default=1)
    category: Mapped[str] = mapped_column(String(80), default="")
    issue: Mapped[str] = mapped_column(Text, default="")  # as the resident describes it
    what_was_fixed: Mapped[str] = mapped_column(Text, default="")
    company_position: Mapped[str] = mapped_column(Text, default="")
    created_dt: Mapped[datetime] = mapped_column(default=now_utc)
    opened_dt: Mapped[datetime | None]
    evidence_due_dt: Mapped[datetime | None]
    lapsed_dt: Mapped[datetime | None]
    evidence_received_dt: Mapped[datetime | None]
    reply_due_dt: Mapped[datetime | None]  # the working date; a manager may move it later, with a reason
    reply_promised_dt: Mapped[datetime | None]  # the date first promised the resident: never moves
    reply_breached_dt: Mapped[datetime | None]  # set when the promised date passed without the letter
    panel_opened_dt: Mapped[datetime | None]
    panel_due_dt: Mapped[datetime | None]
    panel_closed_dt: Mapped[datetime | None]
    decision: Mapped[str | None] = mapped_column(String(20))
    decided_by: Mapped[str | None] = mapped_column(String(20))  # 'panel' or 'manager'
    decision_note: Mapped[str] = mapped_column(Text, default="")
    decided_dt: Mapped[datetime | None]
    outcome_sent_dt: Mapped[datetime | None]
    follow_up_due_dt: Mapped[datetime | None]
    followed_up_dt: Mapped[datetime | None]
    acknowledged_dt: Mapped[datetime | None]
    referred_dt: Mapped[datetime | None]
    withdrawn_dt: Mapped[datetime | None]
    closed_dt: Mapped[datetime | None]
    close_reason: Mapped[str] = mapped_column(Text, default="")
    lessons_learned: Mapped[str] = mapped_column(Text, default="", server_default="")  # for training, on close
    # When the resident's files and the free text were erased (retention ran out, or on request).
    personal_data_erased_dt: Mapped[datetime | None]

    __mapper_args__ = {"version_id_col": version}

    company: Mapped[Company] = relationship()
    manager: Mapped[StaffUser] = relationship()
    resident: Mapped[Resident] = relationship()
    unit: Mapped[Unit | None] = relationship()
    items: Mapped[list[DisputedItem]] = relationship(
        back_populates="dispute", order_by="DisputedItem.position", cascade="all, delete-orphan"
    )

    @property
    def state_label(self) -> str:
        return load_definition("dispute").label(self.state)

    @property
    def is_terminal(self) -> bool:
        return self.state in load_definition("dispute").terminal

    def __repr__(self) -> str:
        return f"<Dispute {self.id} {self.state}>"


class DisputedItem(Base):
    """A line the resident disputes, e.g. a security-deposit deduction, decided on its own."""

    __tablename__ = "disputed_item"
    __table_args__ = (
        UniqueConstraint("dispute_id", "position"),
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
        CheckConstraint(
            "granted_cents IS NULL OR (granted_cents >= 0 AND granted_cents <= amount_cents)", name="granted_in_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    description: Mapped[str] = mapped_column(String(300))
    amount_cents: Mapped[int] = mapped_column(default=0)
    company_reason: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[str | None] = mapped_column(String(20))  # uphold / resident / compromise
    granted_cents: Mapped[int | None]

    dispute: Mapped[Dispute] = relationship(back_populates="items")


class Timer(Base):
    """One deadline or reminder, fired once by the sweep when ``due_dt`` has passed."""

    __tablename__ = "timer"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'fired', 'cancelled')", name="status_known"),
        CheckConstraint("status != 'fired' OR fired_dt IS NOT NULL", name="fired_has_time"),
        # The sweep reads only pending rows; the partial index keeps that cheap however many fired.
        Index(
            "ix_timer_pending_due",
            "due_dt",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        # A dispute's timers are only ever looked up pending (to cancel them when a window closes or
        # its deadline moves), so this index holds only those: a timer that fires or is cancelled
        # leaves it, and the sweep's claim writes no entry in it for the row it marks fired.
        Index(
            "ix_timer_pending_dispute",
            "dispute_id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"))
    window: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(60))  # "<window>:due" or "<window>:remind:<n>"
    due_dt: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="pending")
    fired_dt: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(Text, default="")
    created_dt: Mapped[datetime] = mapped_column(default=now_utc)


class AuditEvent(Base):
    """Who did what to a dispute, when, and why. Rows are only ever added."""

    __tablename__ = "audit_event"
    __table_args__ = (
        CheckConstraint("actor_kind IN ('staff', 'resident', 'panel', 'system')", name="actor_kind_known"),
        Index("ix_audit_event_dispute_time", "dispute_id", "occurred_dt"),
        # The first-response report asks of each dispute when the resident's side arrived and when
        # staff next acted: these two read a few entries each, from the index alone on PostgreSQL.
        Index("ix_audit_event_evidence_arrived", "dispute_id", "id",
              sqlite_where=text("action = 'submit_evidence'"), postgresql_where=text("action = 'submit_evidence'")),
        Index("ix_audit_event_staff_steps", "dispute_id", "id", postgresql_include=["occurred_dt"],
              sqlite_where=text("actor_kind = 'staff'"), postgresql_where=text("actor_kind = 'staff'")),
        # One event per place in a dispute's history: two writers at once cannot fork the chain.
        UniqueConstraint("dispute_id", "position"),
    )
    # What each event's hash covers, beside the hash of the event before it (``resolver.history``).
    CHAINED_FIELDS = ("dispute_id", "position", "occurred_dt", "actor_kind", "actor_id", "actor_label", "action",
                      "from_state", "to_state", "reason", "data")

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"))
    occurred_dt: Mapped[datetime] = mapped_column(default=now_utc)
    actor_kind: Mapped[str] = mapped_column(String(12))
    actor_id: Mapped[int | None]
    actor_label: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(60))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    # Its place in the dispute's history (1, 2, ...) and the hash chaining it to the event before it.
    position: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))

    @property
    def is_state_change(self) -> bool:
        return self.from_state is not None and self.from_state != self.to_state


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_history_rewrite(mapper, connection, target):
    raise PermissionError("the audit history is append-only")


make_append_only(AuditEvent.__table__)  # and the database refuses it too
