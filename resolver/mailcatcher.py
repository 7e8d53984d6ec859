"""The mail catcher: Resolver on one machine, with no mail server, receives its own email.

``resolver serve`` starts it when ``MAIL_SERVER`` is not set. It listens on 127.0.0.1 only, keeps each
message it receives as an ``.eml`` file in ``<instance>/mailbox/``, and points the app's mail settings
at itself, so the worker sends through it exactly as it would through a real server. Nothing leaves
the machine. The Mailbox page reads the files back with ``list_messages`` and ``read_message``, which
is how one person can play the resident, the panel and the manager on a laptop.

Mail addressed to Resolver's own reply address (``RESOLVER_REPLY_ADDRESS`` and its ``+token``
sub-addresses) is not outgoing mail: the catcher hands it to ``resolver.inbound.receive``, as the
worker does with what it reads from a production mailbox over IMAP, so a resident's emailed reply can
be tried on one machine. If Resolver cannot take it (its database is away), the sender is told to try
again later (451) and nothing is kept half-way.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import os
import re
import secrets
import socket
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import message_from_binary_file, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from pathlib import Path

import click
from aiosmtpd.controller import Controller
from flask import Flask, current_app
from sqlalchemy import select

from .clock import now_utc

log = logging.getLogger(__name__)

# Messages up to this size are kept; letters with PDFs and a few photos stay far below it.
MAX_MESSAGE_BYTES = 100 * 1024 * 1024
# A stored message's name: when it arrived, a sequence number, and a little randomness.
_NAME = re.compile(r"^\d{8}T\d{6}\d{6}Z-\d{6}-[0-9a-f]{8}$")
_sequence = itertools.count(1)
_sequence_lock = threading.Lock()


class MailCatcherError(click.ClickException):
    """The catcher could not start (usually: its port is taken); ``resolver serve`` shows the message as it is."""


def mailbox_folder(app: Flask | None = None) -> Path:
    return Path((app or current_app).instance_path) / "mailbox"


# Receiving -----------------------------------------------------------------------------------


def store_message(folder: Path, content: bytes, received_dt: datetime | None = None) -> str:
    """Write one message durably under a new name (temporary file, then rename); return its id."""
    received_dt = (received_dt or now_utc()).astimezone(timezone.utc)
    with _sequence_lock:
        number = next(_sequence) % 1_000_000
    message_id = f"{received_dt:%Y%m%dT%H%M%S%f}Z-{number:06d}-{secrets.token_hex(4)}"
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".incoming-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, folder / f"{message_id}.eml")
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return message_id


class CatchingHandler:
    """The aiosmtpd handler: keep every message, but hand mail for Resolver's reply address to
    ``receive`` (with ``app``; without one, everything is kept)."""

    def __init__(self, folder: Path, app: Flask | None = None):
        self.folder = folder
        self.app = app

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        for_resolver = [rcpt for rcpt in envelope.rcpt_tos if self._is_for_resolver(rcpt)]
        if for_resolver:
            try:
                await asyncio.get_running_loop().run_in_executor(None, self._receive, content)
            except Exception:  # Resolver could not take it: the sender keeps it and tries again
                log.exception("could not take a reply addressed to Resolver; the sender was told to try later")
                return "451 4.3.0 Resolver could not take the message now; please try again later"
            if len(for_resolver) == len(envelope.rcpt_tos):
                return "250 OK: received by Resolver"
        try:
            store_message(self.folder, content)
        except OSError as error:
            return f"451 4.3.0 Could not keep the message: {error.strerror or error}"
        return "250 OK: kept in the Resolver mailbox"

    def _is_for_resolver(self, recipient: str) -> bool:
        """Whether ``recipient`` is Resolver's reply address or one of its ``+token`` sub-addresses."""
        from .inbound.addresses import is_reply_address

        if self.app is None:
            return False
        with self.app.app_context():
            return is_reply_address(recipient)

    def _receive(self, content: bytes) -> None:
        from .extensions import db
        from .inbound import receive

        with self.app.app_context():
            try:
                receive(content, via="local")
            finally:
                db.session.remove()


def start_mail_catcher(app: Flask) -> Controller:
    """Listen on 127.0.0.1:LOCAL_MAIL_PORT and make the app send its mail there. Stop it with ``.stop()``."""
    from .extensions import mail

    folder = mailbox_folder(app)
    folder.mkdir(parents=True, exist_ok=True)
    port = int(app.config["LOCAL_MAIL_PORT"])
    try:
        _check_free(port)  # aiosmtpd would only say so after its start-up timeout
    except OSError as error:
        raise MailCatcherError(_taken_message(port, error.strerror or str(error))) from error
    controller = Controller(
        CatchingHandler(folder, app), hostname="127.0.0.1", port=port, data_size_limit=MAX_MESSAGE_BYTES
    )
    try:
        controller.start()
    except (OSError, TimeoutError) as error:
        controller.loop.close()
        raise MailCatcherError(_taken_message(port, getattr(error, "strerror", None) or str(error))) from error
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=port,
        MAIL_USE_TLS=False,
        MAIL_USE_SSL=False,
        MAIL_USERNAME=None,
        MAIL_PASSWORD=None,
    )
    mail.init_app(app)  # Flask-Mail copies its settings when bound; bind again to the new ones
    app.extensions["mail_catcher"] = controller
    return controller


def _check_free(port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself will
        probe.bind(("127.0.0.1", port))


def _taken_message(port: int, reason: str) -> str:
    return (
        f"Cannot catch mail on 127.0.0.1:{port} ({reason}). "
        "Set RESOLVER_LOCAL_MAIL_PORT to a free port, or RESOLVER_MAIL_SERVER to a real mail server."
    )


def is_catching(app: Flask | None = None) -> bool:
    return "mail_catcher" in (app or current_app).extensions


# Reading -------------------------------------------------------------------------------------


@dataclass
class CaughtAttachment:
    index: int
    filename: str
    content_type: str
    size: int


@dataclass
class CaughtMessage:
    id: str
    received_dt: datetime
    sender: str
    to: str
    to_addresses: list[str]
    recipients: list[tuple[str, str]]  # (name, address)
    subject: str
    message_id: str
    company_id: int | None
    dispute_id: int | None
    path: Path
    text: str = ""
    html: str = ""
    attachments: list[CaughtAttachment] = field(default_factory=list)
    reply_to: str = ""  # where a reply goes: for the emails asking for a resident's side, Resolver itself


def _received_dt(message_id: str) -> datetime:
    return datetime.strptime(message_id.split("Z-", 1)[0], "%Y%m%dT%H%M%S%f").replace(tzinfo=timezone.utc)


def _sent_for(message_ids) -> dict[str, tuple[int | None, int | None]]:
    """The company and dispute each message was sent for, found by the Message-ID Resolver gave it in
    its outbox: the email itself carries no ids for its recipient to read. A message Resolver has no
    row for (sent by something else) belongs to no company."""
    from .extensions import db
    from .models import OutboxEmail

    wanted = sorted({message_id for message_id in message_ids if message_id})
    found = {}
    for start in range(0, len(wanted), 500):
        rows = db.session.execute(
            select(OutboxEmail.message_id, OutboxEmail.company_id, OutboxEmail.dispute_id)
            .where(OutboxEmail.message_id.in_(wanted[start:start + 500]))
        )
        found.update({message_id: (company_id, dispute_id) for message_id, company_id, dispute_id in rows})
    return found


def _message_id(headers) -> str:
    return str(headers.get("Message-ID", "")).strip()


def _summary(message_id: str, path: Path, headers, sent_for: tuple[int | None, int | None]) -> CaughtMessage:
    recipients = [(name, address) for name, address in getaddresses([str(v) for v in headers.get_all("To", [])]) if address]
    return CaughtMessage(
        id=message_id,
        received_dt=_received_dt(message_id),
        sender=str(headers.get("From", "")),
        to=str(headers.get("To", "")),
        to_addresses=[address for _name, address in recipients],
        recipients=recipients,
        subject=str(headers.get("Subject", "")) or "(no subject)",
        message_id=_message_id(headers),
        company_id=sent_for[0],
        dispute_id=sent_for[1],
        path=path,
        reply_to=str(headers.get("Reply-To", "")),
    )


def _path(message_id: str, folder: Path | None) -> Path | None:
    if not _NAME.match(message_id or ""):
        return None
    path = (folder or mailbox_folder()) / f"{message_id}.eml"
    return path if path.is_file() else None


def list_messages(folder: Path | None = None, *, company_id: int | None = None) -> list[CaughtMessage]:
    """Every caught message, newest first; with ``company_id``, only that company's (and untagged) mail."""
    folder = folder or mailbox_folder()
    if not folder.is_dir():
        return []
    parser = BytesHeaderParser(policy=policy.default)
    found = []
    for path in sorted(folder.glob("*.eml"), reverse=True):
        if not _NAME.match(path.stem):
            continue
        try:
            with path.open("rb") as handle:
                found.append((path, parser.parse(handle)))
        except OSError:  # removed while we looked
            continue
    sent_for = _sent_for(_message_id(headers) for _path, headers in found)
    messages = [_summary(path.stem, path, headers, sent_for.get(_message_id(headers), (None, None)))
                for path, headers in found]
    if company_id is not None:
        messages = [message for message in messages if message.company_id in (None, company_id)]
    return messages


def _parse(path: Path) -> EmailMessage:
    with path.open("rb") as handle:
        return message_from_binary_file(handle, policy=policy.default)


def _body(message: EmailMessage, kind: str) -> str:
    part = message.get_body(preferencelist=(kind,))
    if part is None or part.get_content_type() != f"text/{kind}" or part.get_content_disposition() == "attachment":
        return ""
    try:
        return part.get_content()
    except (LookupError, ValueError):  # an unknown charset: show what can be shown
        return part.get_payload(decode=True).decode("utf-8", "replace")


def _attachment_parts(message: EmailMessage) -> list[EmailMessage]:
    return [
        part for part in message.walk()
        if not part.is_multipart() and (part.get_content_disposition() == "attachment" or part.get_filename())
    ]


def read_message(message_id: str, folder: Path | None = None) -> CaughtMessage | None:
    """One caught message with its text, HTML and attachment list; None when there is no such message."""
    path = _path(message_id, folder)
    if path is None:
        return None
    message = _parse(path)
    sent_for = _sent_for([_message_id(message)]).get(_message_id(message), (None, None))
    caught = _summary(message_id, path, message, sent_for)
    caught.text = _body(message, "plain")
    caught.html = _body(message, "html")
    for index, part in enumerate(_attachment_parts(message)):
        data = part.get_payload(decode=True) or b""
        caught.attachments.append(
            CaughtAttachment(index, part.get_filename() or f"attachment-{index + 1}", part.get_content_type(), len(data))
        )
    return caught


def read_attachment(message_id: str, index: int, folder: Path | None = None) -> tuple[str, str, bytes] | None:
    """(filename, content type, bytes) of one attachment; None when there is no such attachment."""
    path = _path(message_id, folder)
    if path is None:
        return None
    parts = _attachment_parts(_parse(path))
    if not 0 <= index < len(parts):
        return None
    part = parts[index]
    return (
        part.get_filename() or f"attachment-{index + 1}",
        part.get_content_type(),
        part.get_payload(decode=True) or b"",
    )


def read_raw(message_id: str, folder: Path | None = None) -> bytes | None:
    """The message exactly as it arrived."""
    path = _path(message_id, folder)
    return path.read_bytes() if path is not None else None

