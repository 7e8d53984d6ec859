"""The installation: what every process on this instance (the web app, each worker, a cron ``tick``)
must agree on and no environment variable says, kept in one row."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base

INSTALLATION_ID = 1


class Installation(Base):
    __tablename__ = "installation"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The address `resolver serve` last served on, for links in emails when RESOLVER_PUBLIC_BASE_URL
    # is not set ("" until it has run).
    public_base_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    public_base_url_dt: Mapped[datetime | None]
    # How far a demo instance's clock has been moved forward (`resolver tick --as-of`), in seconds.
    clock_offset_seconds: Mapped[int] = mapped_column(default=0, server_default="0")
    clock_moved_dt: Mapped[datetime | None]
    # The worker's scheduled backups (resolver.backup.schedule): when the last one was taken, and until
    # when one worker holds the turn to take the next (so two workers never both take it).
    last_backup_dt: Mapped[datetime | None]
    backup_claimed_until_dt: Mapped[datetime | None]
