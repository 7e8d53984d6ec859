"""Staff accounts by email: an invitation to join, and a link to choose a new password.

A supervisor (or ``resolver create-company``, for the company's first one) invites a person: the account
exists with no password, and an email carries a link to choose one. Anyone on the staff can ask for a
reset link for their own address. Each link is a ``StaffToken``: a random nonce in the URL, only its
SHA-256 kept; it works once, until it expires on Resolver's clock, and stops working when a newer link
for the same purpose is sent, when the password changes another way, or when the account is switched off.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from ..actors import Actor
from ..clock import now_utc
from ..errors import InvalidInput, LinkError, WrongState
from ..extensions import db
from ..links import email_url
from ..models import Company, StaffToken, StaffUser
from ..outbox import queue_email
from .company_history import require_supervisor
from .staff import new_staff_user, record_staff_event, revoke_staff_tokens, set_password

INVITATION_LIFETIME = timedelta(days=7)
RESET_LIFETIME = timedelta(hours=1)
LIFETIMES = {"set_password": INVITATION_LIFETIME, "reset_password": RESET_LIFETIME}
LIFETIME_WORDS = {"set_password": "7 days", "reset_password": "1 hour"}
PAGE_ENDPOINT = "manager.choose_password"

NOT_OURS = "This link is not one we sent. Please use the link exactly as it appears in your email."


def _hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def _issue(user: StaffUser, purpose: str, now: datetime) -> tuple[str, datetime]:
    """A new link for ``user``; the older ones of its purpose stop working. Returns (nonce, expiry)."""
    revoke_staff_tokens(user, purpose)
    nonce = secrets.token_urlsafe(32)
    expires_dt = now + LIFETIMES[purpose]
    db.session.add(StaffToken(staff_user_id=user.id, purpose=purpose, nonce_hash=_hash(nonce), created_dt=now,
                              expires_dt=expires_dt))
    return nonce, expires_dt


def _email_context(user: StaffUser, purpose: str, now: datetime) -> dict:
    nonce, expires_dt = _issue(user, purpose, now)
    return {"user": user, "link_url": email_url(PAGE_ENDPOINT, token=nonce), "expires_dt": expires_dt,
            "lifetime": LIFETIME_WORDS[purpose], "sign_in_url": email_url("manager.login"),
            "forgot_url": email_url("manager.forgot_password")}


@dataclass(frozen=True)
class Invitation:
    user: StaffUser
    link_url: str  # what the email links to: the command that makes a company shows it too
    expires_dt: datetime


def _send_invitation(actor: Actor, user: StaffUser, company: Company) -> Invitation:
    context = _email_context(user, "set_password", now_utc())
    # The company's first supervisor is invited by the command that made the company, not by a person.
    context["invited_by"] = actor.label if actor.is_staff else ""
    queue_email("staff_invitation", to_addr=user.email, to_name=user.name, company=company, context=context)
    return Invitation(user, context["link_url"], context["expires_dt"])


# A supervisor's verbs ------------------------------------------------------------------------------

def invite_staff_user(actor: Actor, company: Company, *, name: str, email: str, role: str) -> Invitation:
    """Add a member of staff with no password and email them a link to choose one (valid 7 days)."""
    require_supervisor(actor, company.id)
    user = new_staff_user(company.id, name=name, email=email, role=role)
    db.session.flush()
    invitation = _send_invitation(actor, user, company)
    record_staff_event(actor, user, "staff_invited", email=user.email, role=user.role)
    return invitation


def send_invitation_again(actor: Actor, user: StaffUser) -> StaffUser:
    """A fresh invitation link for someone who has not joined yet; the earlier link stops working."""
    require_supervisor(actor, user.company_id)
    if not user.is_active:
        raise WrongState(f"{user.name}'s account is switched off. Switch it on first.")
    if user.password_hash:
        raise WrongState(f"{user.name} has already chosen a password. If they have forgotten it, "
                         "they can use “Forgot your password?” on the sign-in page.")
    _send_invitation(actor, user, user.company)
    record_staff_event(actor, user, "staff_invitation_sent_again", email=user.email)
    return user


# Anyone's: a reset link for one's own address -----------------------------------------------------

def request_password_reset(email: str) -> None:
    """Email a reset link (valid 1 hour) if ``email`` is a working account's address.

    Nothing tells the caller whether it was: the page says the same either way, so that nobody can
    find out who has an account here.
    """
    email = (email or "").strip().lower()
    user = db.session.scalars(select(StaffUser).where(func.lower(StaffUser.email) == email)).first()
    if user is None or not user.is_active:
        return
    queue_email("password_reset", to_addr=user.email, to_name=user.name, company=user.company,
                context=_email_context(user, "reset_password", now_utc()))


# Using a link --------------------------------------------------------------------------------------

def usable_token(nonce: str, now: datetime | None = None) -> StaffToken:
    """The link behind ``nonce`` if it may be used now; else a ``LinkError`` saying why not."""
    now = now or now_utc()
    token = db.session.scalars(select(StaffToken).where(StaffToken.nonce_hash == _hash(nonce or ""))).first()
    if token is None:
        raise LinkError(NOT_OURS, reason="unknown")
    if token.used_dt is not None:
        raise LinkError("This link has already been used: each link works once.", reason="used")
    if token.revoked_dt is not None:
        raise LinkError("This link no longer works: a newer email replaced it, or the password has been "
                        "chosen since.", reason="revoked")
    if now > token.expires_dt:
        raise LinkError(f"This link has expired: it worked for {LIFETIME_WORDS[token.purpose]}.", reason="expired")
    if not token.staff_user.is_active:
        raise LinkError("This account is switched off, so its links no longer work. "
                        "Please ask your supervisor.", reason="switched-off")
    return token


def choose_password(nonce: str, password: str, confirmation: str) -> StaffUser:
    """Set the password of the link's holder and use the link up; return the person, to sign them in."""
    now = now_utc()
    token = usable_token(nonce, now)
    if (password or "") != (confirmation or ""):
        raise InvalidInput("The two passwords are not the same. Type the same password in both boxes.",
                           field="confirmation")
    # Used up with a conditional UPDATE, so two requests racing with one link cannot both succeed.
    claimed = db.session.execute(
        update(StaffToken).where(StaffToken.id == token.id, StaffToken.used_dt.is_(None),
                                 StaffToken.revoked_dt.is_(None)).values(used_dt=now)
    ).rowcount
    if claimed != 1:
        raise LinkError("This link has already been used: each link works once.", reason="used")
    user = token.staff_user
    is_joining = not user.password_hash
    set_password(user, password)
    record_staff_event(Actor.staff(user), user, "staff_joined" if is_joining else "staff_password_reset")
    return user
