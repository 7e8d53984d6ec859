"""Verbs for the company's staff accounts: add one, switch it off or on, change its role or password.

Each is a supervisor's, and leaves a row in the company's history (never the password itself).
A new password (or a switched-off account) ends that person's sessions, as the sign-in checks.
"""
from __future__ import annotations

from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from ..actors import Actor
from ..errors import InvalidInput, NotAllowed
from ..extensions import db
from ..models import StaffUser
from .company_history import record_company_event, require_supervisor
from .people import is_email_address

MIN_PASSWORD_LENGTH = 8
ROLES = ("manager", "supervisor")


def set_password(user: StaffUser, password: str) -> None:
    """Hash and keep a password (the hash only), refusing one too short to be safe."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"Use at least {MIN_PASSWORD_LENGTH} characters for the password.", field="password")
    user.password_hash = generate_password_hash(password, method="scrypt")


def _record(actor: Actor, user: StaffUser, action: str, **data) -> None:
    record_company_event(actor, user.company_id, action, subject_kind="staff_user", subject_id=user.id,
                         subject_label=user.name, data=data)


def _check_role(role: str | None) -> str:
    if role not in ROLES:
        raise InvalidInput("Choose manager or supervisor.", field="role")
    return role


def add_staff_user(actor: Actor, *, name: str, email: str, role: str, password: str) -> StaffUser:
    require_supervisor(actor, actor.company_id)
    name, email = name.strip(), email.strip().lower()
    if not name:
        raise InvalidInput("Give the person's name.", field="name")
    if not is_email_address(email):
        raise InvalidInput("That is not an email address.", field="email")
    _check_role(role)
    if db.session.scalars(select(StaffUser.id).where(func.lower(StaffUser.email) == email)).first():
        raise InvalidInput(f"{email} already has an account.", field="email")
    user = StaffUser(company_id=actor.company_id, name=name, email=email, role=role)
    set_password(user, password)
    db.session.add(user)
    db.session.flush()
    _record(actor, user, "staff_added", email=email, role=role)
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
        _record(actor, user, "staff_activated" if is_active else "staff_deactivated")
    return user


def set_staff_role(actor: Actor, user: StaffUser, role: str | None) -> StaffUser:
    require_supervisor(actor, user.company_id)
    _not_oneself(actor, user)
    _check_role(role)
    if user.role != role:
        _record(actor, user, "staff_role_changed", before=user.role, after=role)
        user.role = role
    return user


def change_staff_password(actor: Actor, user: StaffUser, password: str) -> StaffUser:
    require_supervisor(actor, user.company_id)
    set_password(user, password)
    _record(actor, user, "staff_password_changed")
    return user
