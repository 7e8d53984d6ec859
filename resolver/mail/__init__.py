"""Delivering the outbox: pending emails go out over SMTP (Flask-Mail's settings), each one exactly once.

A batch first claims its rows with a lease (``claimed_until_dt``), in one UPDATE: over rows it locked
with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, under the database's single write lock on SQLite. Two
workers therefore never hold the same row. The batch then sends its rows over one SMTP connection
and marks each one sent only after the server accepted it, committing message by message. A message
that fails goes back to the queue with a growing delay; nothing is ever dropped, and a permanent
refusal for a recipient is kept as ``failed`` for staff to see. When the server is down the batch
stops at once instead of knocking again and again. An email whose links need the public address
(``links.email_url``) is not claimed while no address is known: it waits, queued and untouched.

One window cannot be closed by any sender: the server accepts a message and the database then fails
to record it. The lease runs out and the message goes again, with the same Message-ID, so the
receiving side can tell it is the same message.

The parts, one job each: ``claims`` (the outbox rows: claiming, releasing, recording what happened),
``messages`` (an outbox row as a Flask-Mail ``Message``), ``connection`` (the SMTP connection and what
an error from it means) and ``sending`` (a batch, from claim to the last message).
"""
from __future__ import annotations

from .claims import FIRST_RETRY, LAST_RETRY, LEASE, outbox_counts, retry_delay, waiting_for_address
from .connection import ServerUnavailable, describe
from .messages import Sender, build_message
from .sending import BATCH_SHARE_OF_LEASE, send_pending

__all__ = [
    "BATCH_SHARE_OF_LEASE", "FIRST_RETRY", "LAST_RETRY", "LEASE", "Sender", "ServerUnavailable",
    "build_message", "describe", "outbox_counts", "retry_delay", "send_pending", "waiting_for_address",
]
