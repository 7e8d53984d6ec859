"""A round of sending: claim the due emails, send them one after another over one connection, and
record each outcome as it happens."""
from __future__ import annotations

import logging
import smtplib
from collections import deque
from datetime import datetime, timedelta

from flask import current_app

from ..clock import now_utc
from ..extensions import db
from ..installation import NO_PUBLIC_ADDRESS, public_address
from ..models import Company
from .claims import LEASE, claim, mark_failed, mark_sent, release, waiting_for_address
from .connection import DEFAULT_TIMEOUT_SECONDS, Connection, ServerUnavailable, connected, describe, outcome
from .messages import CannotBuild, Sender, build_message

log = logging.getLogger("resolver.mail")

# A batch starts no new message once 40 % of its lease is gone, so the message in hand (a handful of
# SMTP commands, each bounded by MAIL_TIMEOUT) finishes well inside the lease.
BATCH_SHARE_OF_LEASE = 0.4
# This many temporary refusals in a row mean the server is in trouble, not the messages.
REFUSALS_BEFORE_STOPPING = 3


def send_pending(limit: int = 100, now: datetime | None = None) -> int:
    """Send up to ``limit`` due outbox emails over one SMTP connection; return how many went out."""
    if limit <= 0:
        return 0
    now = now or now_utc()
    lease = timedelta(seconds=current_app.config.get("OUTBOX_LEASE_SECONDS") or LEASE.total_seconds())
    address = public_address()
    if address is None and (waiting := waiting_for_address()):
        # One line for the batch: the emails are fine, a setting is missing. They stay queued, untouched.
        log.warning("%d %s with links %s: %s", waiting, "email" if waiting == 1 else "emails",
                    "waits" if waiting == 1 else "wait", NO_PUBLIC_ADDRESS)
    emails = claim(limit, now, now + lease, with_links=address is not None)
    if not emails:
        return 0
    batch = _Batch(emails, now, now + lease, time_allowed=lease * BATCH_SHARE_OF_LEASE, address=address)
    return batch.run(current_app.config.get("MAIL_TIMEOUT") or DEFAULT_TIMEOUT_SECONDS)


class _Senders(dict):
    """Company id -> its Sender, looked up once a batch."""

    def __missing__(self, company_id):
        company = db.session.get(Company, company_id) if company_id is not None else None
        sender = Sender.for_company(company, current_app.extensions["mail"].default_sender)
        self[company_id] = sender
        return sender


class _Batch:
    """One round of sending: the claimed emails, one after another over one connection."""

    def __init__(self, emails, now: datetime, lease_end: datetime, time_allowed: timedelta, address: str | None):
        self.emails = deque(emails)
        self.address = address  # the public address the emails' links are filled in with
        self.now = now
        self.lease_end = lease_end
        self.time_allowed = time_allowed
        self.started = now_utc()
        self.sent = 0
        self.refusals_in_a_row = 0
        self.senders = _Senders()

    def run(self, timeout: float) -> int:
        try:
            with connected(current_app.extensions["mail"], timeout) as connection:
                while self.emails and now_utc() - self.started < self.time_allowed:
                    self.send_next(connection)
        except ServerUnavailable as trouble:
            # One line for the whole batch: a server that is down is one problem, not one per email.
            log.warning("the mail server is unavailable; %d emails wait: %s", len(self.emails), trouble)
            while self.emails:
                mark_failed(self.emails.popleft(), str(trouble), self.now, permanent=False, is_logged=False)
        finally:
            if self.emails:  # the batch ran out of time, or the database failed under it
                try:
                    db.session.rollback()
                    release(self.emails, self.lease_end)
                except Exception:  # the lease runs out on its own; the rows are not lost
                    log.exception("could not release %d claimed emails", len(self.emails))
        return self.sent

    def send_next(self, connection: Connection) -> None:
        email = self.emails[0]
        sender = self.senders[email.company_id]
        try:
            message = build_message(email, sender, self.now, public_address=self.address)
            connection.send(message, envelope_from=sender.envelope)
        except CannotBuild as error:
            self.emails.popleft()
            mark_failed(email, str(error), self.now, permanent=False)
            return
        except Exception as error:
            self.failed(email, error, connection)
            return
        self.emails.popleft()
        self.refusals_in_a_row = 0
        mark_sent(email, self.now)
        self.sent += 1

    def failed(self, email, error: Exception, connection: Connection) -> None:
        verdict = outcome(error)
        if verdict == "down":  # the email in hand stays first in line and waits with the rest
            connection.abandon()
            raise ServerUnavailable(f"the mail server {connection.address} stopped answering: {describe(error)}") from error
        self.emails.popleft()
        if verdict == "retry" and not isinstance(error, smtplib.SMTPException):
            log.exception("unexpected error sending email %s for dispute %s", email.id, email.dispute_id)
        mark_failed(email, describe(error), self.now, permanent=verdict == "refused")
        self.refusals_in_a_row = self.refusals_in_a_row + 1 if verdict == "retry" else 0
        if self.refusals_in_a_row >= REFUSALS_BEFORE_STOPPING and self.emails:
            raise ServerUnavailable(
                f"the mail server {connection.address} turned away {self.refusals_in_a_row} messages in a row "
                f"(the last: {describe(error)})"
            ) from error
