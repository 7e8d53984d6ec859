"""Delivering the outbox: pending emails go out over SMTP (Flask-Mail's settings), each one exactly once.

A batch first claims its rows with a lease (``claimed_until_dt``), in one UPDATE: over rows it locked
with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, under the database's single write lock on SQLite. Two
workers therefore never hold the same row. The batch then sends its rows over one SMTP connection
and marks each one sent only after the server accepted it, committing message by message. A message
that fails goes back to the queue with a growing delay; nothing is ever dropped, and a permanent
refusal for a recipient is kept as ``failed`` for staff to see. When the server is down the batch
stops at once instead of knocking again and again.

One window cannot be closed by any sender: the server accepts a message and the database then fails
to record it. The lease runs out and the message goes again, with the same Message-ID, so the
receiving side can tell it is the same message.
"""
from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import smtplib
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.utils import encode_rfc2231, formataddr, formatdate, parseaddr, quote
from functools import cached_property

import flask_mail
from flask import current_app
from flask_mail import BadHeaderError
from sqlalchemy import bindparam, func, or_, select, update

from .clock import now_utc
from .extensions import db
from .files import read_bytes
from .models import Company, OutboxEmail

log = logging.getLogger(__name__)

# How long a claim holds a row (OUTBOX_LEASE_SECONDS overrides it). A batch starts no new message
# once 40 % of its lease is gone, so the message in hand (a handful of SMTP commands, each bounded
# by MAIL_TIMEOUT) finishes well inside the lease.
LEASE = timedelta(minutes=10)
BATCH_SHARE_OF_LEASE = 0.4
FIRST_RETRY = timedelta(minutes=1)
LAST_RETRY = timedelta(hours=1)
# This many temporary refusals in a row mean the server is in trouble, not the messages.
REFUSALS_BEFORE_STOPPING = 3
DEFAULT_TIMEOUT_SECONDS = 30


def retry_delay(failed_attempts: int) -> timedelta:
    """1, 2, 4, 8 ... minutes after the 1st, 2nd, 3rd, 4th ... failure; never more than an hour."""
    return min(FIRST_RETRY * 2 ** min(max(failed_attempts - 1, 0), 10), LAST_RETRY)


class ServerUnavailable(Exception):
    """The mail server cannot take mail now: every message left in the batch waits."""


class _Connection(flask_mail.Connection):
    """Flask-Mail's connection with a timeout (a hung server must not hang the worker)."""

    def __init__(self, state, timeout: float):
        super().__init__(state)
        self.timeout = timeout

    def __enter__(self):
        if not self.mail.server and not self.mail.suppress:
            raise ServerUnavailable(
                "no mail server is set: set RESOLVER_MAIL_SERVER, or run `resolver serve`, which keeps mail on this machine"
            )
        try:
            return super().__enter__()
        except (OSError, smtplib.SMTPException) as error:
            raise ServerUnavailable(f"could not connect to the mail server {self.address}: {describe(error)}") from error

    @property
    def address(self) -> str:
        return f"{self.mail.server}:{self.mail.port}"

    def configure_host(self):
        state = self.mail
        kind = smtplib.SMTP_SSL if state.use_ssl else smtplib.SMTP
        host = kind(state.server, state.port, timeout=self.timeout)
        try:
            host.set_debuglevel(int(state.debug))
            if state.use_tls:
                host.starttls()
            if state.username and state.password:
                host.login(state.username, state.password)
        except BaseException:
            host.close()
            raise
        return host

    def send_bytes(self, envelope_from: str, recipient: str, message: bytes) -> None:
        """Hand one message to the server (or, with MAIL_SUPPRESS_SEND, to no one)."""
        if self.host is not None:
            self.host.sendmail(envelope_from, [recipient], message)
        self.num_emails += 1
        if self.num_emails == self.mail.max_emails:  # MAIL_MAX_EMAILS: a new connection after so many
            self.num_emails = 0
            if self.host is not None:
                self.host.quit()
                self.host = self.configure_host()

    def abandon(self) -> None:
        """Drop a connection the server broke; saying goodbye to it would only wait for a timeout."""
        if self.host is not None:
            self.host.close()
            self.host = None

    def __exit__(self, *exc_info) -> None:
        if self.host is None:
            return
        try:
            self.host.quit()
        except (OSError, smtplib.SMTPException):
            self.host.close()
        self.host = None


def describe(error: BaseException) -> str:
    """The error as staff should read it in the outbox: the server's own words where there are any."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{address}: {code} {_text(reply)}" for address, (code, reply) in error.recipients.items())
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def _text(reply) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _outcome(error: Exception) -> str:
    """'down' (stop the batch), 'retry' (this message waits) or 'refused' (it never will go)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _reply in error.recipients.values()]
        if 421 in codes:
            return "down"
        return "refused" if codes and all(500 <= code < 600 for code in codes) else "retry"
    if isinstance(error, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, smtplib.SMTPHeloError)):
        return "down"
    if isinstance(error, smtplib.SMTPResponseException):
        if error.smtp_code == 421:
            return "down"
        if isinstance(error, smtplib.SMTPSenderRefused):
            return "retry"  # our own address refused: a setting to fix, not the message's fault
        return "refused" if 500 <= error.smtp_code < 600 else "retry"
    if isinstance(error, BadHeaderError):
        return "refused"
    if isinstance(error, OSError):  # reset, timeout, TLS failure: the connection is gone
        return "down"
    return "retry"


# Claiming ------------------------------------------------------------------------------------


def _due(now: datetime):
    return (
        select(OutboxEmail.id)
        .where(
            OutboxEmail.status == "pending",
            OutboxEmail.next_attempt_dt <= now,
            or_(OutboxEmail.claimed_until_dt.is_(None), OutboxEmail.claimed_until_dt < now),
        )
        .order_by(OutboxEmail.next_attempt_dt, OutboxEmail.id)
    )


def _claim(limit: int, now: datetime, lease_end: datetime) -> list[int]:
    """Take up to ``limit`` due rows for this batch and commit the claim, in one statement.

    On PostgreSQL the rows chosen are locked with SKIP LOCKED, so two workers choose different rows.
    SQLite has no row locks, but one writer at a time, and a statement that writes holds the write
    lock from its start: the rows it chooses are still due when it claims them.
    """
    due = _due(now).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    table = OutboxEmail.__table__
    ids = list(db.session.scalars(
        update(table)
        .where(
            table.c.id.in_(due.scalar_subquery()),
            table.c.status == "pending",
            or_(table.c.claimed_until_dt.is_(None), table.c.claimed_until_dt < now),
        )
        .values(claimed_until_dt=lease_end)
        .returning(table.c.id)
    ))
    db.session.commit()
    return ids


def _release(emails, lease_end: datetime) -> None:
    """Give back rows this batch claimed but did not try, for the next round."""
    ids = [email.id for email in emails]
    if not ids:
        return
    db.session.execute(
        update(OutboxEmail)
        .where(OutboxEmail.id.in_(ids), OutboxEmail.status == "pending", OutboxEmail.claimed_until_dt == lease_end)
        .values(claimed_until_dt=None),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()


# Recording what happened ---------------------------------------------------------------------


_SENT = (
    update(OutboxEmail.__table__)
    .where(OutboxEmail.__table__.c.id == bindparam("outbox_id"))
    .values(status="sent", sent_dt=bindparam("sent_dt"), claimed_until_dt=None, last_error="")
)


def _mark_sent(email, now: datetime) -> None:
    """Record that the server took the email, at once and on its own: a crash later in the batch
    must not send it again."""
    db.session.execute(_SENT, {"outbox_id": email.id, "sent_dt": now})
    db.session.commit()
    if log.isEnabledFor(logging.INFO):
        log.info(
            "sent email %s (%s) for dispute %s to %s",
            email.id, email.template, email.dispute_id, email.to_addr,
            extra={"outbox_id": email.id, "dispute_id": email.dispute_id, "template": email.template, "outcome": "sent"},
        )


def _mark_failed(email, error: str, now: datetime, *, permanent: bool) -> None:
    attempts = email.attempts + 1
    values = {"attempts": attempts, "last_error": error[:2000], "claimed_until_dt": None}
    if permanent:
        values["status"] = "failed"
    else:
        values["next_attempt_dt"] = now + retry_delay(attempts)
    db.session.execute(
        update(OutboxEmail).where(OutboxEmail.id == email.id, OutboxEmail.status == "pending").values(**values)
    )
    db.session.commit()
    if permanent:
        log.warning(
            "email %s (%s) for dispute %s was refused for good: %s",
            email.id, email.template, email.dispute_id, error,
            extra={"outbox_id": email.id, "dispute_id": email.dispute_id, "template": email.template, "outcome": "failed"},
        )
    else:
        log.warning(
            "email %s (%s) for dispute %s waits until %s (attempt %d): %s",
            email.id, email.template, email.dispute_id, values["next_attempt_dt"].isoformat(), attempts, error,
            extra={"outbox_id": email.id, "dispute_id": email.dispute_id, "template": email.template, "outcome": "retry"},
        )


# Building ------------------------------------------------------------------------------------
#
# The message is written out here rather than through the `email` package's objects: building
# MIMEMultipart objects and flattening them through the SMTP policy's header registry cost more than
# everything else about sending an email. Every header still goes through the SMTP policy's folding
# (and, when it holds text outside ASCII, its encoding), so a long or encoded header comes out as the
# `email` package writes it; only the assembling of parts is done by hand.

_POLICY = policy.SMTP
_NEWLINE = re.compile(rb"\r\n|\r|\n")
# SMTP refuses lines longer than 998 octets (not characters: "é" is two), and a resident may write a
# long paragraph.
LONGEST_LINE = 998


class _CannotBuild(Exception):
    """The email cannot be built now (an attachment missing, no sender address): it waits for a retry."""


def _header(name: str, value: str) -> bytes:
    """One header line as the SMTP policy writes it: folded at 78 characters, text outside ASCII encoded."""
    if "\r" in value or "\n" in value:
        raise BadHeaderError(f"the {name} header would have a line break in it: {value!r}")
    if value.isascii():
        return _POLICY.fold_binary(name, value)
    return _POLICY.header_factory(name, value).fold(policy=_POLICY).encode("ascii")


def _address(address: str) -> str:
    """The address as SMTP carries it: a domain outside ASCII in its IDNA form."""
    if "\r" in address or "\n" in address:
        raise BadHeaderError(f"the address {address!r} has a line break in it")
    if address.isascii():
        return address
    local, at, domain = address.rpartition("@")
    if not at or not local.isascii():
        raise BadHeaderError(f"the address {address!r} has letters outside ASCII before the @, which mail servers need not accept")
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError as error:
        raise BadHeaderError(f"the address {address!r} has a domain that cannot be written for mail: {error}") from error


def _mailbox(name: str, address: str) -> str:
    """``Name <address>``, the name quoted or RFC 2047-encoded as it needs; the address alone without a name."""
    if "\r" in name or "\n" in name:
        raise BadHeaderError(f"the name {name!r} has a line break in it")
    return formataddr((name, _address(address)), charset="utf-8") if name else _address(address)


@dataclass(frozen=True)
class Sender:
    """Who an email is from: the company's name on Resolver's address, replies to the company's office."""

    name: str = ""
    address: str = ""  # MAIL_DEFAULT_SENDER's address
    reply_to: str | None = None

    @classmethod
    def for_company(cls, company: Company | None, default_sender: str | None) -> Sender:
        default_name, address = parseaddr(default_sender or "")
        if company is None:
            return cls(default_name, address)
        return cls(company.name, address, company.contact_email or None)

    @cached_property
    def envelope(self) -> str:
        if not self.address:
            raise _CannotBuild("no sender address is set: set RESOLVER_MAIL_DEFAULT_SENDER")
        return _address(self.address)

    @cached_property
    def headers(self) -> bytes:
        """From (and Reply-To), written once for all of a batch's emails from this sender."""
        lines = _header("From", _mailbox(self.name, self.envelope))
        if self.reply_to:
            name, address = parseaddr(self.reply_to)
            lines += _header("Reply-To", _mailbox(name, address or self.reply_to))
        return lines


def _text_part(text: str, subtype: str) -> bytes:
    """A text/plain or text/html part in UTF-8: as it is (7bit or 8bit) when every line fits in
    SMTP's limit, quoted-printable when not (wrapped, and unwrapped again by every mail client)."""
    data = text.encode("utf-8")
    lines = _NEWLINE.split(data)
    if max(map(len, lines)) > LONGEST_LINE - 10:
        encoding = "quoted-printable"
        body = binascii.b2a_qp(b"\n".join(lines), istext=True).replace(b"\n", b"\r\n")
    else:
        encoding = "7bit" if data.isascii() else "8bit"
        body = b"\r\n".join(lines)
    head = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n'
    return head.encode("ascii") + body


def _attachment_part(attachment: dict) -> bytes:
    """A file from the store, base64-encoded, with its name (RFC 2231-encoded when not ASCII)."""
    try:
        data = read_bytes(attachment["sha256"])
    except FileNotFoundError as error:
        raise _CannotBuild(f"an attachment is missing from the file store: {error.filename}") from error
    filename = attachment["filename"]
    if filename.isascii():
        disposition = f'attachment; filename="{quote(filename)}"'
    else:
        disposition = f"attachment; filename*={encode_rfc2231(filename, 'utf-8')}"
    return (
        _header("Content-Type", attachment.get("content_type") or "application/octet-stream")
        + b"Content-Transfer-Encoding: base64\r\n"
        + _header("Content-Disposition", disposition)
        + b"\r\n"
        + base64.encodebytes(data).rstrip(b"\n").replace(b"\n", b"\r\n")
    )


def _multipart(subtype: str, parts: list[bytes]) -> bytes:
    """The parts under a boundary that none of them contains, with its Content-Type header."""
    while True:
        boundary = b"=_" + os.urandom(16).hex().encode("ascii")
        delimiter = b"--" + boundary
        if not any(delimiter in part for part in parts):
            break
    return (
        b"Content-Type: multipart/" + subtype.encode("ascii") + b';\r\n boundary="' + boundary + b'"\r\n\r\n'
        + delimiter + b"\r\n" + (b"\r\n" + delimiter + b"\r\n").join(parts) + b"\r\n" + delimiter + b"--\r\n"
    )


def build_message(email, date_header: bytes, sender: Sender) -> bytes:
    """The email as it goes out: its own Message-ID (the same on every attempt, so a retry is
    recognisably the same message), the text and the HTML as alternatives, then any attachments."""
    entity = _text_part(email.body_text, "plain")
    if email.body_html:
        entity = _multipart("alternative", [entity, _text_part(email.body_html, "html")])
    if email.attachments:
        entity = _multipart("mixed", [entity, *map(_attachment_part, email.attachments)])
    head = b"".join((
        _header("Subject", email.subject) if email.subject else b"",
        sender.headers,
        _header("To", _mailbox(email.to_name, email.to_addr)),
        date_header,
        _header("Message-ID", email.message_id),
        b"X-Resolver-Company: %d\r\n" % email.company_id if email.company_id is not None else b"",
        b"X-Resolver-Dispute: %d\r\n" % email.dispute_id if email.dispute_id is not None else b"",
        b"MIME-Version: 1.0\r\n",
    ))
    return head + entity


def date_header(now: datetime) -> bytes:
    """The Date header for a batch sent at ``now`` (each email of it carries the same one)."""
    return _header("Date", formatdate(now.timestamp(), localtime=True))


class _Senders(dict):
    """Company id -> its Sender, looked up once a batch."""

    def __missing__(self, company_id):
        company = db.session.get(Company, company_id) if company_id is not None else None
        sender = Sender.for_company(company, current_app.extensions["mail"].default_sender)
        self[company_id] = sender
        return sender


# Sending -------------------------------------------------------------------------------------

# What a batch needs of each email, read as plain rows: ORM objects would be expired by every
# message's commit and loaded again one by one.
_BATCH_COLUMNS = (
    OutboxEmail.id, OutboxEmail.company_id, OutboxEmail.dispute_id, OutboxEmail.template, OutboxEmail.message_id,
    OutboxEmail.to_addr, OutboxEmail.to_name, OutboxEmail.subject, OutboxEmail.body_text, OutboxEmail.body_html,
    OutboxEmail.attachments, OutboxEmail.attempts,
)


def send_pending(limit: int = 100, now: datetime | None = None) -> int:
    """Send up to ``limit`` due outbox emails over one SMTP connection; return how many went out."""
    if limit <= 0:
        return 0
    now = now or now_utc()
    lease = timedelta(seconds=current_app.config.get("OUTBOX_LEASE_SECONDS") or LEASE.total_seconds())
    lease_end = now + lease
    ids = _claim(limit, now, lease_end)
    if not ids:
        return 0
    emails = db.session.execute(
        select(*_BATCH_COLUMNS).where(OutboxEmail.id.in_(ids)).order_by(OutboxEmail.next_attempt_dt, OutboxEmail.id)
    ).all()
    timeout = current_app.config.get("MAIL_TIMEOUT") or DEFAULT_TIMEOUT_SECONDS
    batch = _Batch(emails, now, lease_end, time_allowed=lease * BATCH_SHARE_OF_LEASE)
    return batch.run(_Connection(current_app.extensions["mail"], timeout))


class _Batch:
    """One round of sending: the claimed emails, one after another over one connection."""

    def __init__(self, emails, now: datetime, lease_end: datetime, time_allowed: timedelta):
        self.emails = deque(emails)
        self.now = now
        self.lease_end = lease_end
        self.time_allowed = time_allowed
        self.started = now_utc()
        self.sent = 0
        self.refusals_in_a_row = 0
        self.senders = _Senders()
        self.date_header = date_header(now)

    def run(self, connection: _Connection) -> int:
        try:
            with connection:
                while self.emails and now_utc() - self.started < self.time_allowed:
                    self.send_next(connection)
        except ServerUnavailable as trouble:
            log.warning("the mail server is unavailable; %d emails wait: %s", len(self.emails), trouble)
            while self.emails:
                _mark_failed(self.emails.popleft(), str(trouble), self.now, permanent=False)
        finally:
            if self.emails:  # the batch ran out of time, or the database failed under it
                try:
                    db.session.rollback()
                    _release(self.emails, self.lease_end)
                except Exception:  # the lease runs out on its own; the rows are not lost
                    log.exception("could not release %d claimed emails", len(self.emails))
        return self.sent

    def send_next(self, connection: _Connection) -> None:
        email = self.emails[0]
        sender = self.senders[email.company_id]
        try:
            message = build_message(email, self.date_header, sender)
            connection.send_bytes(sender.envelope, _address(email.to_addr), message)
        except _CannotBuild as error:
            self.emails.popleft()
            _mark_failed(email, str(error), self.now, permanent=False)
            return
        except Exception as error:
            self.failed(email, error, connection)
            return
        self.emails.popleft()
        self.refusals_in_a_row = 0
        _mark_sent(email, self.now)
        self.sent += 1

    def failed(self, email, error: Exception, connection: _Connection) -> None:
        outcome = _outcome(error)
        if outcome == "down":  # the email in hand stays first in line and waits with the rest
            connection.abandon()
            raise ServerUnavailable(f"the mail server {connection.address} stopped answering: {describe(error)}") from error
        self.emails.popleft()
        if outcome == "retry" and not isinstance(error, smtplib.SMTPException):
            log.exception("unexpected error sending email %s for dispute %s", email.id, email.dispute_id)
        _mark_failed(email, describe(error), self.now, permanent=outcome == "refused")
        self.refusals_in_a_row = self.refusals_in_a_row + 1 if outcome == "retry" else 0
        if self.refusals_in_a_row >= REFUSALS_BEFORE_STOPPING and self.emails:
            raise ServerUnavailable(
                f"the mail server {connection.address} turned away {self.refusals_in_a_row} messages in a row "
                f"(the last: {describe(error)})"
            ) from error


def outbox_counts(company_id: int | None = None) -> dict[str, int]:
    """How many emails are pending, sent and failed (for one company, or all)."""
    query = select(OutboxEmail.status, func.count(OutboxEmail.id)).group_by(OutboxEmail.status)
    if company_id is not None:
        query = query.where(OutboxEmail.company_id == company_id)
    counts = {"pending": 0, "sent": 0, "failed": 0}
    counts.update({status: count for status, count in db.session.execute(query)})
    return counts
