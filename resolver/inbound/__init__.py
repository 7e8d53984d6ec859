"""Evidence by replying to the email: a resident's answer to the invitation or a reminder, received
as a raw message, becomes a submission on their dispute exactly as if it came through the form.

``receive(raw, via=...)`` is the one door every transport (the worker's IMAP polling, ``serve``'s
local mail catcher) hands a message to. It does its own unit of work: everything a message causes
(its record, the submission and its files, the receipt, an answer to the sender) commits together,
or nothing does. It is idempotent per message: each message is filed once under a key (a hash of its
Message-ID, or of its bytes when it has none) that the database keeps unique, so two workers handing
over the same message file it once. It never raises for bad mail: hostile, malformed, automatic or
unmatched mail is recorded and answered as it deserves. It raises only when Resolver itself cannot do
its part (the database or the file store is down), so the transport keeps the message and tries again.

The parts: ``reading`` (the raw bytes as a message, within limits), ``automatic`` (auto-replies,
bounces and Resolver's own mail, never filed), ``text`` (only the new words: quoted history and
signatures stripped, HTML turned into text), ``addresses`` (the reply address and its signed token),
``matching`` (which dispute a reply answers) and ``filing`` (the unit of work).
"""
from __future__ import annotations

from .received import Received

__all__ = ["Received", "receive"]


def receive(raw: bytes, *, via: str) -> Received:
    """File one message received by ``via`` ("imap", "local"); see the module's docstring.

    Call it inside an app context, with no changes pending in ``db.session`` (it commits or rolls
    back the session itself). Returns what became of the message; raises only for an infrastructure
    failure (the transport should keep the message and hand it over again later).
    """
    from .filing import receive_message

    return receive_message(raw, via=via)
