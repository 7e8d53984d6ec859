"""Emails waiting to be sent: written with the change that causes them, sent later by the worker."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from .base import Base


class OutboxEmail(Base):
    __tablename__ = "outbox_email"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status_known"),
        CheckConstraint("status != 'sent' OR sent_dt IS NOT NULL", name="sent_has_time"),
        Index(
            "ix_outbox_email_pending",
            "next_attempt_dt",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"), index=True)
    dispute_id: Mapped[int | None] = mapped_column(ForeignKey("dispute.id"), index=True)
    template: Mapped[str] = mapped_column(String(80))
    # Stable across retries, so a receiver can tell a retry from a new message.
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    to_addr: Mapped[str] = mapped_column(String(254))
    to_name: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    # Its links are written relative to the public address (``links.PUBLIC_ADDRESS``), filled in when
    # it is sent: it waits while no address is known.
    has_links: Mapped[bool] = mapped_column(default=False, server_default=false())
    # [{"filename", "content_type", "sha256"}]: bytes live in the file store, addressed by hash.
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    # Replies go to Resolver's reply address with this token (``resolver.inbound.addresses``): an
    # email that asks the resident for their side can simply be answered.
    reply_token: Mapped[str | None] = mapped_column(String(40))
    # An answer to mail Resolver received: marked ``Auto-Submitted: auto-replied``, never answered back.
    is_auto_reply: Mapped[bool] = mapped_column(default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(12), default="pending")
    created_dt: Mapped[datetime] = mapped_column(default=now_utc)
    next_attempt_dt: Mapped[datetime] = mapped_column(default=now_utc)
    claimed_until_dt: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_dt: Mapped[datetime | None]
