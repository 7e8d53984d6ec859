"""Mail no person wrote: auto-replies, out-of-office notes, bounces, lists, and Resolver's own mail.

Such mail is never filed as evidence and never answered, so no two machines can keep answering each
other. The signs are the ones RFC 3834 and the common mail programs use; Resolver's own answers
carry ``Auto-Submitted: auto-replied`` and so are recognised by the first of them.
"""
from __future__ import annotations

from email.utils import parseaddr

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import OutboxEmail
from .addresses import is_reply_address
from .reading import IncomingMail

_BULK = {"bulk", "junk", "list", "auto_reply", "auto-reply"}
_DAEMONS = ("mailer-daemon@", "postmaster@", "mail-daemon@", "noreply-dmarc-support@")


def automatic_kind(mail: IncomingMail) -> str | None:
    """"auto-reply", "bounce", "mailing list" or "Resolver's own mail" when no person wrote ``mail``;
    None for mail a person wrote."""
    if _is_bounce(mail):
        return "bounce"
    if _is_auto_reply(mail):
        return "auto-reply"
    if "list-id" in mail.headers or "list-unsubscribe" in mail.headers:
        return "mailing list"
    if _is_own(mail):
        return "Resolver's own mail"
    return None


def _is_auto_reply(mail: IncomingMail) -> bool:
    headers = mail.headers
    auto_submitted = headers.get("auto-submitted", "").split(";")[0].strip().lower()
    if "auto-submitted" in headers and auto_submitted != "no":
        return True
    if "x-autoreply" in headers or "x-autorespond" in headers or "x-auto-response-suppress" in headers:
        return True
    return headers.get("precedence", "").strip().lower() in _BULK


def _is_bounce(mail: IncomingMail) -> bool:
    if mail.content_type == "multipart/report" or "x-failed-recipients" in mail.headers:
        return True
    if mail.from_addr.lower().startswith(_DAEMONS):
        return True
    return "return-path" in mail.headers and parseaddr(mail.headers["return-path"])[1] == ""


def _is_own(mail: IncomingMail) -> bool:
    """Sent by Resolver: from its own address, or with a Message-ID from its outbox."""
    own_sender = parseaddr(current_app.config.get("MAIL_DEFAULT_SENDER") or "")[1].lower()
    if mail.from_addr.lower() == own_sender or is_reply_address(mail.from_addr):
        return True
    return bool(mail.message_id) and db.session.scalar(
        select(OutboxEmail.id).where(OutboxEmail.message_id == mail.message_id)) is not None
