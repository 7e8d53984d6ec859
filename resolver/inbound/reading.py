"""A raw message as Resolver reads it: its headers made safe, its text, its attachments, within limits.

Pure: bytes in, an ``IncomingMail`` out, or ``MailRefused`` with the reason. Hostile mail is met
here before anything is stored: a message too large, with too many parts or parts nested too deep,
or whose MIME structure is broken, is refused whole. Headers that are not UTF-8 (raw Latin-1, a
broken encoded word) are read as well as they can be and stripped of control characters; nothing
from a header ever reaches a page or another header unsanitised.
"""
from __future__ import annotations

import email
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import errors, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from flask_babel import lazy_gettext as _l

from ..text import cleaned_file_name

MAX_MESSAGE_BYTES = 40 * 1024 * 1024  # RESOLVER_INBOUND_MAX_BYTES overrides it
MAX_PARTS = 40
MAX_DEPTH = 5
MAX_HEADER = 2000
# The MIME structure itself is broken: its parts cannot be told apart with any confidence.
_BROKEN = (errors.NoBoundaryInMultipartDefect, errors.StartBoundaryNotFoundDefect,
           errors.CloseBoundaryNotFoundDefect, errors.MultipartInvariantViolationDefect)
_AUTOMATIC_HEADERS = ("auto-submitted", "x-autoreply", "x-autorespond", "precedence", "x-auto-response-suppress",
                      "list-id", "list-unsubscribe", "return-path", "x-failed-recipients")


class MailRefused(Exception):
    """The message cannot be read safely; ``reason`` says why, for the record and the sender."""

    def __init__(self, reason: str, *, words, headers: IncomingMail | None = None):
        super().__init__(reason)
        self.reason = reason
        self.words = words  # for the sender: "it …", the end of "we could not add it to your case: it …"
        self.headers = headers  # what could be read of it, to record and to answer


@dataclass
class Attachment:
    name: str
    declared_type: str
    data: bytes


@dataclass
class IncomingMail:
    """What Resolver needs of one message. Every string is sanitised text."""

    message_id: str = ""
    from_addr: str = ""
    from_name: str = ""
    subject: str = ""
    sent_dt: datetime | None = None
    recipients: list[str] = field(default_factory=list)  # To, Cc, Delivered-To, X-Original-To
    references: list[str] = field(default_factory=list)  # In-Reply-To and References, Message-IDs
    headers: dict[str, str] = field(default_factory=dict)  # the few that say a message is automatic
    content_type: str = ""
    plain: str = ""
    html: str = ""
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def names(self) -> list[dict]:
        """The attachments as the record shows them."""
        return [{"name": item.name, "size_bytes": len(item.data)} for item in self.attachments]


def message_key(mail: IncomingMail | None, raw: bytes) -> str:
    """What makes a message the same message when it is handed over again: its Message-ID, or its
    bytes when it has none."""
    if mail is not None and mail.message_id:
        return hashlib.sha256(b"message-id:" + mail.message_id.lower().encode()).hexdigest()
    return hashlib.sha256(b"bytes:" + raw).hexdigest()


def read_mail(raw: bytes, *, max_bytes: int = MAX_MESSAGE_BYTES) -> IncomingMail:
    """The message in ``raw``; MailRefused when it is too big, too deep, or not a readable email."""
    if len(raw) > max_bytes:
        size = max_bytes // (1024 * 1024)
        raise MailRefused(f"larger than {size} MB", headers=_headers_only(raw),
                          words=_l("it is larger than the %(size)s MB we can take by email.", size=size))
    try:
        message = email.message_from_bytes(raw, policy=policy.default)
        mail = _read_headers(message)
    except Exception:  # noqa: BLE001 - whatever a hostile message makes the parser do, it is refused
        raise MailRefused("unreadable headers", words=_l("it could not be read as an email.")) from None
    if not mail.from_addr:
        raise MailRefused("no sender", headers=mail, words=_l("it did not say who it was from."))
    try:
        _read_parts(message, mail)
    except MailRefused as refused:
        refused.headers = mail
        raise
    except Exception:  # noqa: BLE001
        raise MailRefused("unreadable body", headers=mail,
                          words=_l("it arrived damaged, so we could not read it.")) from None
    return mail


def _headers_only(raw: bytes) -> IncomingMail | None:
    """What the headers of a message too large to read whole say (to record it and answer it)."""
    head = raw[: 256 * 1024].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    try:
        return _read_headers(BytesHeaderParser(policy=policy.default).parsebytes(head))
    except Exception:  # noqa: BLE001
        return None


def _read_headers(message: EmailMessage) -> IncomingMail:
    from_name, from_addr = _address(_header(message, "From"))
    sent_dt = None
    try:
        sent_dt = parsedate_to_datetime(_header(message, "Date"))
        sent_dt = sent_dt.astimezone(timezone.utc) if sent_dt.tzinfo else sent_dt.replace(tzinfo=timezone.utc)
    except (TypeError, ValueError, IndexError, OverflowError):
        sent_dt = None
    recipients = [_header(message, name) for name in ("To", "Cc", "Delivered-To", "X-Original-To")]
    own_id = _message_ids(_header(message, "Message-ID"))
    return IncomingMail(
        message_id=own_id[0] if own_id else "",
        from_addr=from_addr, from_name=from_name[:200],
        subject=_header(message, "Subject")[:300],
        sent_dt=sent_dt,
        recipients=[address for _name, address in getaddresses([r for r in recipients if r]) if address],
        references=_message_ids(_header(message, "In-Reply-To") + " " + _header(message, "References")),
        headers={name: _header(message, name) for name in _AUTOMATIC_HEADERS if name in message},
        content_type=(message.get_content_type() or "").lower(),
    )


def _header(message, name: str) -> str:
    """One header as safe text: decoded where it can be; raw bytes (a header not in UTF-8) read as
    UTF-8 or else Windows-1252, which is what such mail mostly is; control characters removed."""
    raw = next((value for key, value in message.raw_items() if key.lower() == name.lower()), None)
    if raw is None:
        return ""
    if isinstance(raw, str) and _has_raw_bytes(raw):
        return safe_text(raw)[:MAX_HEADER]
    try:
        value = str(message.get(name) or "")
    except Exception:  # noqa: BLE001 - a header the policy cannot parse is read as it came
        value = str(raw)
    return safe_text(value)[:MAX_HEADER]


def _has_raw_bytes(value: str) -> bool:
    return any("\udc80" <= char <= "\udcff" for char in value)


def safe_text(value: str) -> str:
    """``value`` without the parser's stand-ins for undecodable bytes, and without control characters."""
    if _has_raw_bytes(value):
        data = value.encode("utf-8", "surrogateescape")
        try:
            value = data.decode("utf-8")
        except UnicodeDecodeError:
            value = data.decode("cp1252", "replace")
    value = value.encode("utf-8", "replace").decode("utf-8")  # any surrogate left
    return "".join(" " if char in "\r\n\t" else char for char in value if char >= " " or char in "\r\n\t").strip()


def _address(value: str) -> tuple[str, str]:
    name, address = parseaddr(value)
    address = address.strip()
    if "@" not in address or len(address) > 254 or any(char in address for char in " <>,;\"'"):
        return name, ""
    return name, address


def _message_ids(value: str) -> list[str]:
    ids, start = [], value.find("<")
    while start != -1 and len(ids) < 50:
        end = value.find(">", start)
        if end == -1:
            break
        candidate = value[start:end + 1]
        if " " not in candidate and len(candidate) <= 300:
            ids.append(candidate)
        start = value.find("<", end)
    return ids


def _read_parts(message: EmailMessage, mail: IncomingMail) -> None:
    count = 0
    for part, depth in _walk(message, 0):
        count += 1
        if count > MAX_PARTS:
            raise MailRefused("too many parts", words=_l("it has more than %(count)s parts.", count=MAX_PARTS))
        if depth > MAX_DEPTH:
            raise MailRefused("parts nested too deep", words=_l("it has parts nested too deep inside one another."))
        if any(isinstance(defect, _BROKEN) for defect in part.defects):
            raise MailRefused("broken MIME structure", words=_l("it arrived damaged, so we could not read it."))
        if part.is_multipart():
            continue
        _take(part, mail)


def _walk(part: EmailMessage, depth: int):
    yield part, depth
    if part.is_multipart():
        for child in part.get_payload():
            yield from _walk(child, depth + 1)


def _take(part: EmailMessage, mail: IncomingMail) -> None:
    """A leaf part: the reply's text (its first text and HTML parts that are not attachments), or an
    attachment (everything else: photos, documents, a forwarded message)."""
    content_type = (part.get_content_type() or "application/octet-stream").lower()
    disposition = (part.get_content_disposition() or "").lower()
    name = _file_name(part)
    is_body = disposition != "attachment" and not (name and disposition)
    if is_body and content_type == "text/plain" and not mail.plain:
        mail.plain = _decoded_text(part)
    elif is_body and content_type == "text/html" and not mail.html:
        mail.html = _decoded_text(part)
    else:
        data = _payload(part)
        if data or name:
            mail.attachments.append(Attachment(cleaned_file_name(name or _unnamed(content_type)), content_type, data))


def _file_name(part: EmailMessage) -> str:
    try:
        return safe_text(part.get_filename() or "")
    except Exception:  # noqa: BLE001
        return ""


def _unnamed(content_type: str) -> str:
    return {"image/jpeg": "photo.jpg", "image/png": "image.png", "application/pdf": "document.pdf",
            "message/rfc822": "message.eml"}.get(content_type, "attachment")


def _payload(part: EmailMessage) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _decoded_text(part: EmailMessage) -> str:
    data = _payload(part)
    charset = part.get_content_charset() or "utf-8"
    try:
        return data.decode(charset)
    except (LookupError, UnicodeDecodeError):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("cp1252", "replace")
