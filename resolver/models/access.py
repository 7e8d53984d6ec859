"""Getting in: staff sign-in attempts (for throttling), the emailed links that let a member of staff
choose a password, and the company API keys used by property-management systems."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from .base import Base
from .company import StaffUser


class SignInAttempt(Base):
    """One try at signing in (or one request for a password-reset email), kept so that repeated tries
    slow down the client that makes them: for one address, and over all addresses."""

    __tablename__ = "sign_in_attempt"
    __table_args__ = (
        CheckConstraint("kind IN ('sign_in', 'password_reset')", name="kind_known"),
        Index("ix_sign_in_attempt_email_time", "email", "attempted_dt"),
        Index("ix_sign_in_attempt_ip_time", "ip", "attempted_dt"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="sign_in")
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64), default="")
    attempted_dt: Mapped[datetime] = mapped_column(default=now_utc)
    is_success: Mapped[bool] = mapped_column(default=False)


class SignInCount(Base):
    """How many sign-in attempts (or reset requests) there were on a day, once their rows are 90 days
    old: the counts stay, the addresses tried and the clients go."""

    __tablename__ = "sign_in_count"
    __table_args__ = (UniqueConstraint("day_dt", "kind", "is_success", name="uq_sign_in_count_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day_dt: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(20))
    is_success: Mapped[bool]
    attempts: Mapped[int] = mapped_column(default=0)


class AccessLogRollup(Base):
    """One run of the sweep that counts access-log rows older than 90 days by day and deletes them:
    when it ran, where it cut, and how many rows it counted."""

    __tablename__ = "access_log_rollup"

    id: Mapped[int] = mapped_column(primary_key=True)
    rolled_up_dt: Mapped[datetime] = mapped_column(default=now_utc)
    before_dt: Mapped[datetime] = mapped_column(unique=True)
    link_uses: Mapped[int] = mapped_column(default=0)
    sign_in_attempts: Mapped[int] = mapped_column(default=0)


class StaffToken(Base):
    """A link emailed to a member of staff to choose a password: an invitation, or a reset.

    Only the SHA-256 of its random nonce is kept, so the table cannot be used to take an account.
    It works once, until it expires, and stops working when a newer one for the same purpose is
    sent or the password changes another way.
    """

    __tablename__ = "staff_token"
    __table_args__ = (
        CheckConstraint("purpose IN ('set_password', 'reset_password')", name="purpose_known"),
        CheckConstraint("length(nonce_hash) = 64", name="hash_is_sha256"),
        Index("ix_staff_token_user_purpose", "staff_user_id", "purpose"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    purpose: Mapped[str] = mapped_column(String(20))
    nonce_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_dt: Mapped[datetime] = mapped_column(default=now_utc)
    expires_dt: Mapped[datetime]
    used_dt: Mapped[datetime | None]
    revoked_dt: Mapped[datetime | None]

    staff_user: Mapped[StaffUser] = relationship()


class ApiKey(Base):
    """A company's key for the JSON API. Only a hash is kept; the key itself is shown once."""

    __tablename__ = "api_key"
    __table_args__ = (
        CheckConstraint("length(key_hash) = 64", name="hash_is_sha256"),
        CheckConstraint("length(prefix) = 8", name="prefix_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    # The first characters of the key, shown in the settings so people can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(8), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Disputes opened through the key are the work of this staff member unless the request names another.
    acting_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    created_dt: Mapped[datetime] = mapped_column(default=now_utc)
    last_used_dt: Mapped[datetime | None]
    revoked_dt: Mapped[datetime | None]

    @property
    def is_revoked(self) -> bool:
        return self.revoked_dt is not None
