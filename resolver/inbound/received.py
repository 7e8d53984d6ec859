"""What became of one message handed to ``resolver.inbound.receive``."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Received:
    """What became of one message.

    ``outcome``: "filed" (a submission on its dispute), "unmatched" (kept for the company's
    managers, or only counted when it names no company; the sender was answered), "ignored" (an
    auto-reply, a bounce, Resolver's own mail), "refused" (malformed, oversized or hostile; the
    sender was told when that is safe), or "duplicate" (this message was handed over before:
    nothing new happened). ``reason`` says why in a few words, for logs.
    """

    outcome: str
    reason: str = ""
    inbound_id: int | None = None
    submission_id: int | None = None

    @property
    def is_new(self) -> bool:
        return self.outcome != "duplicate"
