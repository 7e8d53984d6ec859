"""An outbox row as the email that goes out: a Flask-Mail ``Message`` with the text and the HTML as
alternatives, the attachments from the file store, and the row's own Message-ID (the same on every
attempt, so a resend is recognisably the same message)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.charset import QP, Charset
from email.headerregistry import Address
from email.mime.text import MIMEText
from email.utils import parseaddr
from functools import cached_property

import flask_mail
from flask_mail import Attachment, BadHeaderError

from ..files import read_bytes
from ..inbound.addresses import reply_address
from ..links import fill_public_address, has_links
from ..models import Company

# SMTP refuses lines longer than 998 octets (not characters: "é" is two), and a resident may write a
# long paragraph.
LONGEST_LINE = 998
_NEWLINE = re.compile(r"\r\n|\r|\n")
_QUOTED_PRINTABLE_UTF8 = Charset("utf-8")
_QUOTED_PRINTABLE_UTF8.body_encoding = QP


class CannotBuild(Exception):
    """The email cannot be built now (an attachment missing, no sender address): it waits for a retry."""


class Message(flask_mail.Message):
    """Flask-Mail's message, with two things done on top of it, each where Flask-Mail falls short.

    Text parts: Flask-Mail sends every text part as it is (7bit or 8bit), which is right for the usual
    email; but a line over SMTP's limit would be refused by the server, so a part with one is
    quoted-printable instead (soft line breaks, which every mail client unwraps).

    Headers holding people's words (the subject, the names beside the addresses): Flask-Mail encodes
    them with the `email` package's legacy ``Header``, which, splitting a long one outside ASCII into
    several encoded words, adds or drops spaces and can cut a word in two: "Ο τάπητας" arrived as
    "Οτάπητας". They are written again, in place, through the SMTP policy, as Resolver wrote them
    before (the policy's folding keeps them whole far more often, though not always: BENCHMARKS.md).
    ``policy_headers`` holds them: a string for the subject, an ``Address`` for each mailbox.
    """

    def __init__(self, *args, policy_headers: dict[str, str | Address] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.policy_headers = policy_headers or {}

    def _mimetext(self, text, subtype="plain"):
        if max(len(line.encode("utf-8")) for line in _NEWLINE.split(text or "")) <= LONGEST_LINE - 10:
            return super()._mimetext(text, subtype)
        return MIMEText(text, subtype, _QUOTED_PRINTABLE_UTF8)

    def _message(self):
        message = super()._message()  # its policy is now the SMTP policy
        for name, value in self.policy_headers.items():
            if name in message:
                message.replace_header(name, value)
            else:
                message[name] = value
        return message


def smtp_address(address: str) -> str:
    """The address as SMTP carries it: a domain outside ASCII in its IDNA form. An address a mail
    server need not accept (letters outside ASCII before the @) is refused here, with the reason,
    rather than half-sent: smtplib would fail in the middle of the SMTP conversation."""
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
            raise CannotBuild("no sender address is set: set RESOLVER_MAIL_DEFAULT_SENDER")
        return smtp_address(self.address)

    @cached_property
    def mailbox(self) -> Address:
        return _mailbox(self.name, self.envelope)

    @cached_property
    def reply_mailbox(self) -> Address:
        name, address = parseaddr(self.reply_to)
        return _mailbox(name, address or self.reply_to)


def _mailbox(name: str, address: str) -> Address:
    """The name and the address as one mailbox of a header; a line break in either is refused."""
    if "\r" in name or "\n" in name:
        raise BadHeaderError(f"the name {name!r} has a line break in it")
    try:
        return Address(display_name=name, addr_spec=smtp_address(address))
    except ValueError as error:  # not an address at all; it never will be
        raise BadHeaderError(f"the address {address!r} cannot be written in a header: {error}") from error


def _attachment(attachment: dict) -> Attachment:
    """A file from the store, under its name."""
    try:
        data = read_bytes(attachment["sha256"])
    except FileNotFoundError as error:
        raise CannotBuild(f"an attachment is missing from the file store: {error.filename}") from error
    return Attachment(attachment["filename"], attachment.get("content_type") or "application/octet-stream", data)


def build_message(email, sender: Sender, now: datetime, *, public_address: str | None = None) -> Message:
    """The email as it goes out: its own Message-ID, the text and the HTML as alternatives, then any
    attachments; dated ``now`` (the batch's time); its links pointing at ``public_address``."""
    subject, text, html = email.subject, email.body_text, email.body_html
    if has_links(subject, text, html):
        if not public_address:
            raise CannotBuild("its links need the public address, and none is set: set RESOLVER_PUBLIC_BASE_URL")
        subject, text = fill_public_address(subject, public_address), fill_public_address(text, public_address)
        html = fill_public_address(html, public_address, is_html=True)
    # No header names the company or the dispute by id: the recipient has no use for them, and the
    # mail catcher finds them by the Message-ID in the outbox.
    policy_headers = {"From": sender.mailbox, "To": _mailbox(email.to_name, email.to_addr)}
    if subject:
        policy_headers["Subject"] = subject
    reply_token = getattr(email, "reply_token", None)
    if reply_token:  # an email asking for the resident's side: a reply is their answer
        policy_headers["Reply-To"] = _mailbox(sender.name, reply_address(reply_token))
    elif sender.reply_to:
        policy_headers["Reply-To"] = sender.reply_mailbox
    message = Message(
        subject=subject,
        recipients=[smtp_address(email.to_addr)],
        body=text,
        html=html or None,
        sender=sender.envelope,
        date=now.timestamp(),
        attachments=[_attachment(attachment) for attachment in email.attachments or ()],
        policy_headers=policy_headers,
        # An answer to mail received: RFC 3834's mark, so no auto-responder answers it back.
        extra_headers={"Auto-Submitted": "auto-replied"} if getattr(email, "is_auto_reply", False) else None,
    )
    message.msgId = email.message_id  # the row's own, so a resend is recognisably the same message
    return message
