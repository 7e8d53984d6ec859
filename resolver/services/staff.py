"""Verbs for the company's staff accounts: switch one off or on, change its role or password.

Each is a supervisor's, and leaves a row in the company's history (never the password itself).
A new password (or a switched-off account) ends that person's sessions, as the sign-in checks, and
stops the set-password links emailed to them (``services.accounts`` invites people and sends those).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from werkzeug.security import generate_password_hash

from ..actors import Actor
from ..clock import now_utc
from ..errors import InvalidInput, NotAllowed
from ..extensions import db
from ..models import StaffToken, StaffUser
from .company_history import record_company_event, require_supervisor
from .people import is_email_address

MIN_PASSWORD_LENGTH = 8
ROLES = ("manager", "supervisor")
PASSWORD_RULE = _l("Use at least %(count)s characters for the password.", count=MIN_PASSWORD_LENGTH)


def set_password(user: StaffUser, password: str) -> None:
    """Hash and keep a password (the hash only), refusing one too short to be safe. The links
    emailed to choose a password stop working: the password they were for has been chosen."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise InvalidInput(str(PASSWORD_RULE), field="password")
    user.password_hash = generate_password_hash(password, method="scrypt")
    revoke_staff_tokens(user)


def revoke_staff_tokens(user: StaffUser, purpose: str | None = None) -> None:
    """Stop ``user``'s unused set-password links (of ``purpose``, or all) working, in one UPDATE."""
    if user.id is None:
        return  # a new account has no links yet
    query = update(StaffToken).where(StaffToken.staff_user_id == user.id, StaffToken.used_dt.is_(None),
                                     StaffToken.revoked_dt.is_(None))
    if purpose is not None:
        query = query.where(StaffToken.purpose == purpose)
    db.session.execute(query.values(revoked_dt=now_utc()))


def record_staff_event(actor: Actor, user: StaffUser, action: str, **data) -> None:
    record_company_event(actor, user.company_id, action, subject_kind="staff_user", subject_id=user.id,
                         subject_label=user.name, data=data)


def _check_role(role: str | None) -> str:
    if role not in ROLES:
        raise InvalidInput("Choose manager or supervisor.", field="role")
    return role


def new_staff_user(company_id: int, *, name: str, email: str, role: str | None) -> StaffUser:
    """A new account, with no password yet, once its name, address and role are checked."""
    name, email = (name or "").strip(), (email or "").strip().lower()
    if not name:
        raise InvalidInput("Give the person's name.", field="name")
    if not is_email_address(email):
        raise InvalidInput("That is not an email address.", field="email")
    _check_role(role)
    if db.session.scalars(select(StaffUser.id).where(func.lower(StaffUser.email) == email)).first():
        raise InvalidInput(f"{email} already has an account.", field="email")
    user = StaffUser(company_id=company_id, name=name, email=email, role=role, password_hash="")
    db.session.add(user)
    return user


def _not_oneself(actor: Actor, user: StaffUser) -> None:
    if actor.is_staff and actor.id == user.id:
        raise NotAllowed("You cannot switch off or demote your own account; ask another supervisor.")


def set_staff_active(actor: Actor, user: StaffUser, *, is_active: bool) -> StaffUser:
    require_supervisor(actor, user.company_id)
    if not is_active:
        _not_oneself(actor, user)
    if user.is_active != is_active:
        user.is_active = is_active
        if not is_active:
            revoke_staff_tokens(user)
        record_staff_event(actor, user, "staff_activated" if is_active else "staff_deactivated")
    return user


def set_staff_role(actor: Actor, user: StaffUser, role: str | None) -> StaffUser:
    require_supervisor(actor, user.company_id)
    _not_oneself(actor, user)
    _check_role(role)
    if user.role != role:
        record_staff_event(actor, user, "staff_role_changed", before=user.role, after=role)
        user.role = role
    return user


def change_staff_password(actor: Actor, user: StaffUser, password: str) -> StaffUser:
    require_supervisor(actor, user.company_id)
    set_password(user, password)
    record_staff_event(actor, user, "staff_password_changed")
    return user
