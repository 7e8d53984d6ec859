"""Resolver's reply address, and the signed token in it that says which dispute a reply answers.

An email that asks the resident for their side goes out with ``Reply-To: resolver+<token>@example.com``
(``RESOLVER_REPLY_ADDRESS``; by default the address Resolver sends from). The token is the id of the
evidence link that email carries and a truncated HMAC of it, keyed from the app's secret the way
``itsdangerous`` derives its keys: short enough for an address (an address's part before the @ holds
64 characters at most) and in lower case, since some mail systems lower-case addresses. A made-up or
altered token is refused before the database is asked; a genuine one is still checked there (its
link withdrawn or expired, the window closed), as a link is.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from email.utils import getaddresses, parseaddr

from flask import current_app
from itsdangerous import Signer

SIGNATURE_LENGTH = 16  # base32 letters: 80 bits
_TOKEN = re.compile(rf"^([1-9][0-9]{{0,11}})-([a-z2-7]{{{SIGNATURE_LENGTH}}})$")


def _signature(link_id: int) -> str:
    key = Signer(current_app.config["SECRET_KEY"], salt="resolver.reply-address",
                 digest_method=hashlib.sha256).derive_key()
    digest = hmac.new(key, str(link_id).encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:SIGNATURE_LENGTH]


def reply_token(link) -> str:
    """The token for replies to an email that carries evidence ``link``."""
    return f"{link.id}-{_signature(link.id)}"


def link_id_of(token: str) -> int | None:
    """The evidence link's id a genuine ``token`` names; None for a made-up or altered one."""
    match = _TOKEN.match(token.strip().lower())
    if match is None or not hmac.compare_digest(match[2], _signature(int(match[1]))):
        return None
    return int(match[1])


def base_address() -> str:
    """Resolver's reply address without a token: the setting, or the address Resolver sends from."""
    configured = current_app.config.get("REPLY_ADDRESS") or current_app.config.get("MAIL_DEFAULT_SENDER") or ""
    return parseaddr(configured)[1]


def reply_address(token: str) -> str:
    """``resolver+<token>@example.com``: the reply address carrying ``token``."""
    local, _at, domain = base_address().rpartition("@")
    return f"{local}+{token}@{domain}"


def is_reply_address(address: str) -> bool:
    """Whether mail for ``address`` is for Resolver's reply address (with a token or without)."""
    return _local_token(address) is not None


def tokens_in(addresses: list[str]) -> list[str]:
    """The tokens carried by those of ``addresses`` that are Resolver's reply address."""
    found = (_local_token(address) for _name, address in getaddresses(addresses))
    return [token for token in found if token]


def _local_token(address: str) -> str | None:
    """"" for the reply address itself, its token for the address with one, None for another address."""
    local, at, domain = address.strip().lower().rpartition("@")
    base_local, _, base_domain = base_address().lower().rpartition("@")
    if not at or not base_local or domain != base_domain:
        return None
    if local == base_local:
        return ""
    prefix = base_local + "+"
    return local[len(prefix):] if local.startswith(prefix) else None
