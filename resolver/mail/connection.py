"""The SMTP connection a batch sends over (Flask-Mail's), and what an error from the server means."""
from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager

import flask_mail
from flask_mail import BadHeaderError

DEFAULT_TIMEOUT_SECONDS = 30


class ServerUnavailable(Exception):
    """The mail server cannot take mail now: every message left in the batch waits."""


class Connection(flask_mail.Connection):
    """Flask-Mail's connection, opened with a timeout.

    Flask-Mail opens its ``smtplib`` connection without one, and a server that stops answering would
    then hold the worker (and the rows it claimed) for ever. Only the opening is ours; sending, and
    a new connection every MAIL_MAX_EMAILS, are Flask-Mail's.
    """

    def __init__(self, state, timeout: float):
        super().__init__(state)
        self.timeout = timeout

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
            host.close()  # a refused login must not leave the socket open
            raise
        return host

    def abandon(self) -> None:
        """Drop a connection the server broke: saying goodbye to it would only wait for a timeout."""
        if self.host is not None:
            self.host.close()
            self.host = None


@contextmanager
def connected(state, timeout: float) -> Iterator[Connection]:
    """A connection to the configured server (none with MAIL_SUPPRESS_SEND) for the ``with`` block;
    ServerUnavailable when there is no server to reach."""
    if not state.server and not state.suppress:
        raise ServerUnavailable(
            "no mail server is set: set RESOLVER_MAIL_SERVER, or run `resolver serve`, which keeps mail on this machine"
        )
    connection = Connection(state, timeout)
    try:
        connection.__enter__()
    except (OSError, smtplib.SMTPException) as error:
        raise ServerUnavailable(f"could not connect to the mail server {connection.address}: {describe(error)}") from error
    try:
        yield connection
    finally:
        try:
            connection.__exit__(None, None, None)
        except (OSError, smtplib.SMTPException):  # a server that already left needs no goodbye
            connection.abandon()


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


def outcome(error: Exception) -> str:
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
