"""A company's own dispute categories: its wording for one of Resolver's (same key), or one it added."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class DisputeCategory(Base):
    """One kind of dispute as a company speaks of it. A row whose key is one of Resolver's categories
    replaces that category's phrases for the company; any other key is a category the company added.
    Archived ones are no longer offered for new disputes but still speak for the disputes that use them."""

    __tablename__ = "dispute_category"
    __table_args__ = (UniqueConstraint("company_id", "key"), UniqueConstraint("company_id", "label"))

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    # What a dispute stores in its ``category``: made from the label once, never changed after.
    key: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(80))
    matter: Mapped[str] = mapped_column(String(200))
    concession: Mapped[str] = mapped_column(String(200))
    task: Mapped[str] = mapped_column(String(200))
    token: Mapped[str] = mapped_column(String(80))
    # Where it is offered among the others (Resolver's own keep their order; added ones follow).
    position: Mapped[int] = mapped_column(default=0)
    archived_dt: Mapped[datetime | None]
    # The phrases a resident reads, in the company's words in other languages: {"es": {"label": ..., "matter":
    # ..., "concession": ..., "token": ...}}. A language left out is spoken in Resolver's wording or in English.
    wording: Mapped[dict] = mapped_column(JSON, default=dict, server_default=text("'{}'"))
