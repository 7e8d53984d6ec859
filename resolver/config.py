"""Configuration: a class of defaults, overridden by ``RESOLVER_*`` environment variables."""
from __future__ import annotations

import os
from datetime import timedelta


class Config:
    SECRET_KEY: str | None = None  # filled from the instance folder when not set
    DATABASE_URL: str | None = None  # default: SQLite in the instance folder
    # Where people reach Resolver, for links in emails. None: the address `resolver serve` recorded in
    # the database when it started (resolver.installation); emails with links wait until one is known.
    PUBLIC_BASE_URL: str | None = None
    UPLOAD_FOLDER: str | None = None  # default: <instance>/files
    # Where files are kept: a folder, or s3://bucket/prefix (endpoint, region and credentials from the
    # usual AWS_* settings). None: UPLOAD_FOLDER.
    STORAGE_URL: str | None = None
    MAIL_SERVER: str | None = None  # None: `resolver serve` starts the local mail catcher
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_DEFAULT_SENDER = "Resolver <resolver@localhost>"
    MAIL_SUPPRESS_SEND = False
    LOCAL_MAIL_PORT = 8025
    # Where residents' replies go (resolver.inbound): the emails asking for their side carry it, with a
    # token, as their Reply-To. None: the address Resolver sends from (MAIL_DEFAULT_SENDER).
    REPLY_ADDRESS: str | None = None
    INBOUND_MAX_BYTES = 40 * 1024 * 1024  # a larger message received is refused whole
    MAX_CONTENT_LENGTH = 64 * 1024 * 1024
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # The session cookie is Secure whenever the request came over HTTPS (see PROXY_HOPS); True makes it
    # Secure always, for a deployment where the proxy does not say which scheme the browser used.
    SESSION_COOKIE_SECURE = False
    WTF_CSRF_TIME_LIMIT = None  # the session lifetime bounds it
    # Pages send no Referer (resolver.web.security_headers), so Flask-WTF's HTTPS check, which wants
    # one, would refuse every form; the form's token and the SameSite cookie stop cross-site posts.
    WTF_CSRF_SSL_STRICT = False
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    WORKER_POLL_SECONDS = 5.0
    OUTBOX_BATCH = 100
    # How long a worker holds claimed emails before another worker may take them over.
    OUTBOX_LEASE_SECONDS = 600
    # Seconds each SMTP command may take before the worker gives up on the connection.
    MAIL_TIMEOUT = 30.0
    DEADLINE_BATCH = 500
    # How many reverse proxies in front of Resolver set X-Forwarded-For/-Proto/-Host/-Prefix. 0 trusts
    # none: the client's address is the connecting peer's (sign-in throttling counts per address).
    PROXY_HOPS = 0
    # Where the worker backs up the database and files (a folder or s3://bucket/prefix; None: no backups),
    # how often, and how many backups it keeps there (resolver.backup).
    BACKUP_URL: str | None = None
    BACKUP_EVERY_HOURS = 24.0
    BACKUP_KEEP = 7
    # The mailbox residents' email replies arrive in, read by the worker (resolver.inbound.imap).
    # No host: no mailbox is read (on one machine, `resolver serve`'s mail catcher takes the replies).
    IMAP_HOST: str | None = None
    IMAP_PORT: int | None = None  # default: 993 with tls, 143 with starttls or none
    IMAP_SECURITY = "tls"  # tls, starttls, or none (refused unless the server is on this machine)
    IMAP_USER: str | None = None
    IMAP_PASSWORD: str | None = None
    IMAP_FOLDER = "INBOX"
    IMAP_TIMEOUT = 20.0  # seconds each step may take before the worker leaves the mailbox for later
    IMAP_BATCH = 50  # messages read a round, so a full mailbox never holds up deadlines and email


# Variables read from the environment, with the type each one is parsed as.
_ENVIRONMENT = {
    "SECRET_KEY": str,
    "DATABASE_URL": str,
    "PUBLIC_BASE_URL": str,
    "UPLOAD_FOLDER": str,
    "STORAGE_URL": str,
    "MAIL_SERVER": str,
    "MAIL_PORT": int,
    "MAIL_USE_TLS": bool,
    "MAIL_USE_SSL": bool,
    "MAIL_USERNAME": str,
    "MAIL_PASSWORD": str,
    "MAIL_DEFAULT_SENDER": str,
    "LOCAL_MAIL_PORT": int,
    "REPLY_ADDRESS": str,
    "INBOUND_MAX_BYTES": int,
    "WORKER_POLL_SECONDS": float,
    "OUTBOX_LEASE_SECONDS": int,
    "PROXY_HOPS": int,
    "SESSION_COOKIE_SECURE": bool,
    "MAIL_TIMEOUT": float,
    "BACKUP_URL": str,
    "BACKUP_EVERY_HOURS": float,
    "BACKUP_KEEP": int,
    "IMAP_HOST": str,
    "IMAP_PORT": int,
    "IMAP_SECURITY": str,
    "IMAP_USER": str,
    "IMAP_PASSWORD": str,
    "IMAP_FOLDER": str,
    "IMAP_TIMEOUT": float,
    "IMAP_BATCH": int,
}


def _parse(kind, raw: str):
    if kind is bool:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    return kind(raw)


def from_environment(environ=os.environ) -> dict:
    return {
        name: _parse(kind, environ[f"RESOLVER_{name}"])
        for name, kind in _ENVIRONMENT.items()
        if environ.get(f"RESOLVER_{name}")
    }
