"""Residents' replies, read from Resolver's mailbox over IMAP by the worker.

Each round the worker looks in ``RESOLVER_IMAP_FOLDER`` for unseen messages, hands each to
``resolver.inbound.receive`` and, only once it has returned, marks the message seen. A message whose
filing failed stays unseen and is tried again next round; a message filed but not yet marked (the
connection dropped between the two) is handed over again and ``receive`` files it once. Several
workers may read the same mailbox: they may hand over the same message, which is filed once, and a
message another worker already marked is simply marked again.

Seen rather than a custom keyword or a move to another folder: every IMAP server keeps ``\\Seen``
(Exchange keeps no custom keywords, and a move needs a folder made by hand), and marking a message
unread in any mail program is how a person asks Resolver to read it again.

A mailbox that cannot be reached is never the worker's problem: every network step has a timeout,
the failure is logged, and the mailbox is left alone for a growing pause (30 seconds, doubling up to
15 minutes) so deadlines and email keep their pace. stdlib ``imaplib`` is enough for the five
commands this needs; it runs against Dovecot, Gmail and Exchange alike.
"""
from __future__ import annotations

import imaplib
import ipaddress
import logging
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask

from ..clock import now_utc
from ..extensions import db

log = logging.getLogger(__name__)

SECURITIES = ("tls", "starttls", "none")
FIRST_PAUSE = timedelta(seconds=30)
LONGEST_PAUSE = timedelta(minutes=15)


class MailboxSettingsError(ValueError):
    """The IMAP settings cannot be used as they are (the message says which and why)."""


@dataclass(frozen=True)
class MailboxSettings:
    host: str
    port: int
    security: str
    user: str
    password: str
    folder: str
    timeout: float
    batch: int

    @classmethod
    def from_config(cls, config) -> MailboxSettings | None:
        """The app's IMAP settings, or None when no mailbox is set (``RESOLVER_IMAP_HOST`` empty)."""
        host = (config.get("IMAP_HOST") or "").strip()
        if not host:
            return None
        security = (config.get("IMAP_SECURITY") or "tls").strip().lower()
        if security not in SECURITIES:
            raise MailboxSettingsError(
                f"RESOLVER_IMAP_SECURITY must be one of {', '.join(SECURITIES)}, not {security!r}.")
        if security == "none" and not _is_loopback(host):
            raise MailboxSettingsError(
                f"RESOLVER_IMAP_SECURITY=none would send the mailbox password in clear to {host}; "
                "it is allowed only for a server on this machine. Use tls (port 993) or starttls."
            )
        return cls(
            host=host,
            port=int(config.get("IMAP_PORT") or (993 if security == "tls" else 143)),
            security=security,
            user=config.get("IMAP_USER") or "",
            password=config.get("IMAP_PASSWORD") or "",
            folder=config.get("IMAP_FOLDER") or "INBOX",
            timeout=float(config.get("IMAP_TIMEOUT") or 20.0),
            batch=int(config.get("IMAP_BATCH") or 50),
        )


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# The pause after a failure ------------------------------------------------------------------


@dataclass
class _Pause:
    failures: int = 0
    until_dt: datetime | None = None

    def is_over(self, now: datetime) -> bool:
        return self.until_dt is None or now >= self.until_dt

    def failed(self, now: datetime) -> timedelta:
        self.failures += 1
        length = min(LONGEST_PAUSE, FIRST_PAUSE * 2 ** (self.failures - 1))
        self.until_dt = now + length
        return length

    def succeeded(self) -> None:
        self.failures, self.until_dt = 0, None


def _pause_of(app: Flask) -> _Pause:
    return app.extensions.setdefault("imap_pause", _Pause())


# One visit to the mailbox ---------------------------------------------------------------------


def poll_mailbox(app: Flask) -> int:
    """Hand the unseen messages in the mailbox to ``receive`` (at most ``IMAP_BATCH`` a visit); return
    how many were new to Resolver. Never raises: a mailbox that cannot be reached or read, or whose
    settings cannot be used, is logged and left alone for a pause."""
    pause = _pause_of(app)
    if not pause.is_over(now_utc()):
        return 0
    try:
        settings = MailboxSettings.from_config(app.config)
    except MailboxSettingsError as error:
        pause.failed(now_utc())
        log.error("replies by email are not read: %s", error)
        return 0
    if settings is None:
        return 0
    try:
        filed = _visit(app, settings)
    except (OSError, imaplib.IMAP4.error) as error:  # timeouts, refused connections, TLS, NO/BAD answers
        length = pause.failed(now_utc())
        log.warning("could not read the mailbox of %s on %s:%d (%s); trying again in %d s",
                    settings.user, settings.host, settings.port, str(error) or type(error).__name__,
                    length.total_seconds())
        return 0
    pause.succeeded()
    return filed


def _visit(app: Flask, settings: MailboxSettings) -> int:
    imap = _connect(settings)
    try:
        imap.login(settings.user, settings.password)
        _check(imap.select(_quoted(settings.folder)), f"open the folder {settings.folder!r}")
        uids = _check(imap.uid("SEARCH", "UNSEEN"), "search for unseen messages")[0].split()
        filed = 0
        for uid in uids[:settings.batch]:
            filed += _file_one(app, imap, uid.decode())
        return filed
    finally:
        _log_out(imap)


def _connect(settings: MailboxSettings) -> imaplib.IMAP4:
    """A connection whose every read and write gives up after ``timeout`` seconds."""
    if settings.security == "tls":
        return imaplib.IMAP4_SSL(settings.host, settings.port, ssl_context=ssl.create_default_context(),
                                 timeout=settings.timeout)
    imap = imaplib.IMAP4(settings.host, settings.port, timeout=settings.timeout)
    if settings.security == "starttls":
        try:
            imap.starttls(ssl.create_default_context())
        except BaseException:
            _log_out(imap)
            raise
    return imap


def _file_one(app: Flask, imap: imaplib.IMAP4, uid: str) -> int:
    """Hand one message to ``receive``, then mark it seen; 1 when it was new to Resolver, else 0."""
    from . import receive

    raw = _fetch(imap, uid)
    if raw is None:  # gone since the search: another worker or a person removed it
        return 0
    try:
        with app.app_context():
            try:
                received = receive(raw, via="imap")
            finally:
                db.session.remove()
    except Exception:  # the database is away, say: the message stays unseen for the next round
        log.exception("could not file the message with IMAP UID %s; it stays unseen for the next round", uid)
        return 0
    _check(imap.uid("STORE", uid, "+FLAGS.SILENT", r"(\Seen)"), f"mark the message with UID {uid} seen")
    return int(received.is_new)


def _fetch(imap: imaplib.IMAP4, uid: str) -> bytes | None:
    """The message exactly as it arrived; PEEK leaves it unseen until it is filed."""
    data = _check(imap.uid("FETCH", uid, "(BODY.PEEK[])"), f"fetch the message with UID {uid}")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            return item[1]
    return None


def _check(answer: tuple, doing: str) -> list:
    status, data = answer
    if status != "OK":
        raise imaplib.IMAP4.error(f"the server would not {doing}: {_said(data)}")
    return data


def _said(data) -> str:
    first = data[0] if data else b""
    return first.decode("utf-8", "replace") if isinstance(first, bytes) else str(first)


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _log_out(imap: imaplib.IMAP4) -> None:
    try:
        imap.logout()
    except (OSError, imaplib.IMAP4.error):  # the server left first, or stopped answering
        try:
            imap.shutdown()
        except OSError:
            pass
