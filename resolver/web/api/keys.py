"""Company API keys: made once and shown once; only their SHA-256 is kept.

A key is long and random, so a fast hash is enough to keep it safe at rest (a slow password hash
is for things people choose). The first eight characters after ``rsv_`` are kept in the clear
so people can tell their keys apart in the settings.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import request
from sqlalchemy import select

from ...actors import Actor
from ...clock import now_utc
from ...errors import InvalidInput, NotAllowed
from ...extensions import db
from ...models import ApiKey, StaffUser
from ...services.company_history import record_company_event

PREFIX = "rsv_"


class Unauthorised(NotAllowed):
    status_code = 401


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(creator: StaffUser, *, name: str, acting_user: StaffUser) -> tuple[ApiKey, str]:
    """A new key for the creator's company; returns the row and the key, which is never shown again."""
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("Name the key after the system that will use it, e.g. “AppFolio sync”.", field="name")
    if acting_user.company_id != creator.company_id or not acting_user.is_active:
        raise InvalidInput("Choose one of your company's active staff for the key to act as.", field="acting_user_id")
    key = PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(company_id=creator.company_id, name=name[:120], prefix=key[len(PREFIX):len(PREFIX) + 8],
                 key_hash=_digest(key), acting_user_id=acting_user.id, created_by_id=creator.id,
                 created_dt=now_utc())
    db.session.add(row)
    db.session.flush()
    _record(creator, row, "api_key_created", acting_user_id=acting_user.id, prefix=row.prefix)
    return row, key


def revoke_api_key(actor: StaffUser, key: ApiKey) -> None:
    if key.company_id != actor.company_id:
        raise NotAllowed("That key belongs to another company.")
    if key.revoked_dt is None:
        key.revoked_dt = now_utc()
        _record(actor, key, "api_key_revoked", prefix=key.prefix)


def _record(user: StaffUser, key: ApiKey, action: str, **data) -> None:
    record_company_event(Actor.staff(user), key.company_id, action, subject_kind="api_key", subject_id=key.id,
                         subject_label=key.name, data=data)


def key_from_request() -> ApiKey:
    """The key the request carries (``Authorization: Bearer rsv_...``), if it is genuine and not revoked."""
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key.startswith(PREFIX):
        raise Unauthorised("Send your company's API key as “Authorization: Bearer rsv_…”.")
    row = db.session.scalars(select(ApiKey).where(ApiKey.prefix == key[len(PREFIX):len(PREFIX) + 8])).first()
    if row is None or not hmac.compare_digest(row.key_hash, _digest(key)):
        raise Unauthorised("That API key is not valid.")
    if row.revoked_dt is not None:
        raise Unauthorised("That API key was revoked. Ask a supervisor for a new one.")
    return row


def actor_for(key: ApiKey) -> Actor:
    """The key acts as its staff member, named as the key in the history."""
    user = db.session.get(StaffUser, key.acting_user_id)
    if user is None or not user.is_active or user.company_id != key.company_id:
        raise Unauthorised("The staff member this key acts for no longer has an account. Ask for a new key.")
    label = f"{user.name} (via API key “{key.name}”)"
    return Actor("staff", user.id, label[:200], user.company_id, user.role)
