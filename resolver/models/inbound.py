"""Mail received at Resolver's reply address: one row per message, whatever became of it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from .base import Base

INBOUND_OUTCOMES = ("filed", "unmatched", "ignored", "refused", "attached", "dismissed")


class InboundMail(Base):
    """One message handed over by a transport (IMAP, the local mail catcher), recorded once.

    ``key`` is a hash of its Message-ID (of its bytes when it has none), unique: the same message
    handed over twice, by two workers at once, is filed once. Mail that names a dispute (by a
    genuine token or a reference to Resolver's own email) belongs to that dispute's company; mail
    that names nothing has no company and keeps nothing of its content (it is counted in the logs).
    ``raw_sha256`` keeps the message as received in the file store while a manager may still attach
    it by hand.
    """

    __tablename__ = "inbound_mail"
    __table_args__ = (
        CheckConstraint(f"outcome IN {INBOUND_OUTCOMES}", name="outcome_known"),
        CheckConstraint("outcome NOT IN ('filed', 'attached') OR submission_id IS NOT NULL", name="filed_has_submission"),
        CheckConstraint("outcome != 'unmatched' OR company_id IS NULL OR raw_sha256 IS NOT NULL",
                        name="unmatched_keeps_message"),
        Index("ix_inbound_mail_unmatched", "company_id", "received_dt",
              sqlite_where=text("outcome = 'unmatched'"), postgresql_where=text("outcome = 'unmatched'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    via: Mapped[str] = mapped_column(String(20))
    received_dt: Mapped[datetime] = mapped_column(default=now_utc)
    outcome: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(String(300), default="")
    message_id: Mapped[str] = mapped_column(String(300), default="")
    from_addr: Mapped[str] = mapped_column(String(254), default="")
    from_name: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    sent_dt: Mapped[datetime | None]  # the message's own Date, when it has a readable one
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"), index=True)
    dispute_id: Mapped[int | None] = mapped_column(ForeignKey("dispute.id"), index=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"))
    # The new words only (quoted history and signatures stripped), and the attachments' names and sizes.
    text: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    raw_sha256: Mapped[str | None] = mapped_column(String(64))
    is_answered: Mapped[bool] = mapped_column(default=False, server_default=false())
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    handled_dt: Mapped[datetime | None]
