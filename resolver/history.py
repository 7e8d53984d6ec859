"""A dispute's history: the one way an audit event is recorded, and the chain that shows it unchanged.

The workflow engine records each transition through it (``dispute_engine.fire``), and a verb
everything else it wants kept (a vote arrived, a letter was approved, a deadline moved). The history
is append-only: nothing here updates or deletes a row, and the database refuses to (a trigger).

Each event also carries its place in its dispute's history (``position`` 1, 2, ...) and a hash over
the hash of the event before it and its own fields. An event changed after it was recorded, or
removed, breaks the chain there; ``verify_histories`` (``resolver verify-history``) finds where. The
company's own history (``CompanyEvent``) is chained the same way, one chain per company.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import inspect, select

from .actors import Actor
from .clock import now_utc
from .extensions import db
from .models import AuditEvent, CompanyEvent

_UNCHANGED = object()
# What the history calls a resident who acts. Their name stays on the Resident row (which erasure
# clears); the pages that show the history read it from there.
RESIDENT_LABEL = "Resident"


def record_event(
    dispute,
    actor: Actor,
    action: str,
    *,
    now: datetime | None = None,
    reason: str = "",
    data: dict | None = None,
    from_state=_UNCHANGED,
    to_state: str | None = None,
) -> AuditEvent:
    """Add one event to ``dispute``'s history: who (``actor``), what (``action``), when (``now``,
    else the clock), why (``reason``) and the details (``data``).

    Unless told otherwise the event says the dispute stayed in its state; the engine gives
    ``from_state`` and ``to_state`` for a transition, and creating a dispute its beginning (from
    nothing to the initial state).

    The history is kept for good, so it holds nothing of a resident's own: a resident who acts is
    ``RESIDENT_LABEL`` with their id, and what they wrote stays on the row it belongs to (their
    request for more time, their request to look again), never in ``reason``.
    """
    event = AuditEvent(
        dispute_id=dispute.id,
        occurred_dt=now or now_utc(),
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_label=RESIDENT_LABEL if actor.kind == "resident" else actor.label,
        action=action,
        from_state=dispute.state if from_state is _UNCHANGED else from_state,
        to_state=to_state or dispute.state,
        reason=reason,
        data=data or {},
    )
    return append_to_chain(event)


# The chain -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chain:
    """One kind of history: its rows, the column naming whose history a row belongs to, and a word for it."""

    model: type
    owner: str
    label: str

    @property
    def owner_column(self):
        return getattr(self.model, self.owner)


CHAINS = (Chain(AuditEvent, "dispute_id", "Dispute"), Chain(CompanyEvent, "company_id", "Company"))
_CHAIN_OF = {chain.model: chain for chain in CHAINS}


def chain_hash(previous_hash: str, fields: dict) -> str:
    """The hash of one event: SHA-256 over the hash before it and its fields in one canonical form
    (sorted-key JSON, times as ISO 8601 UTC). The first event of a history follows the empty string."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=_iso_utc)
    return hashlib.sha256(f"{previous_hash}\n{canonical}".encode()).hexdigest()


def _iso_utc(value):
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    raise TypeError(f"{type(value).__name__} has no place in a history's hash")


def _chained_fields(model: type, row) -> dict:
    """What an event's hash covers, read from an event or from a selected row alike."""
    return {name: getattr(row, name) for name in model.CHAINED_FIELDS}


def append_to_chain(event):
    """Give a new ``AuditEvent`` or ``CompanyEvent`` the next place in its history and its hash, and add it.

    The place follows the last event of the same history, whether in the database (this transaction's
    flushed events included) or still waiting in the session; a second writer that took the same place
    at the same moment hits the unique (owner, position) constraint and is retried as a version conflict.
    """
    chain = _CHAIN_OF[type(event)]
    # Stored as the database gives it back, so the hash is computed over what is read later.
    event.data = json.loads(json.dumps(event.data or {}))
    owner_id = getattr(event, chain.owner)
    position, previous_hash = _last_link(chain, owner_id)
    event.position = position + 1
    event.hash = chain_hash(previous_hash, _chained_fields(chain.model, event))
    db.session.add(event)
    db.session.info.setdefault(_TAILS, {})[chain.model, owner_id] = event
    return event


# The session's newest event of each history, while it waits to be flushed.
_TAILS = "resolver.history.tails"


def _last_link(chain: Chain, owner_id: int) -> tuple[int, str]:
    """(position, hash) of the history's last event so far, or (0, '') for a history not begun.

    An event still waiting in the session is the last; once flushed (or rolled back) it is no longer
    waiting, and the database says what the last is."""
    waiting = db.session.info.get(_TAILS, {}).get((chain.model, owner_id))
    if waiting is not None and inspect(waiting).pending:
        return waiting.position, waiting.hash
    with db.session.no_autoflush:  # the verb's rows may not be whole yet; events are never left waiting here
        row = db.session.execute(
            select(chain.model.position, chain.model.hash).where(chain.owner_column == owner_id)
            .order_by(chain.model.position.desc()).limit(1)
        ).first()
    return (row.position, row.hash) if row else (0, "")


# Checking the chains -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokenLink:
    chain: Chain
    owner_id: int
    problem: str

    def __str__(self) -> str:
        return f"{self.chain.label} {self.owner_id}: {self.problem}"


@dataclass
class Verification:
    histories: int = 0
    events: int = 0
    broken: list[BrokenLink] = field(default_factory=list)  # the first broken link of each broken history

    @property
    def is_intact(self) -> bool:
        return not self.broken

    def report(self) -> list[str]:
        if self.is_intact:
            return [f"All {self.histories} histories intact ({self.events} events)."]
        return [*map(str, self.broken),
                f"{len(self.broken)} of {self.histories} histories broken ({self.events} events checked)."]


def verify_histories(*, batch: int = 2000) -> Verification:
    """Walk every history, event by event in order, streamed ``batch`` rows at a time; note the first
    broken link of each broken history (an event whose hash does not match, or a missing place)."""
    result = Verification()
    for chain in CHAINS:
        result.broken.extend(_verify_chain(chain, result, batch))
    return result


def _verify_chain(chain: Chain, result: Verification, batch: int) -> Iterator[BrokenLink]:
    model = chain.model
    columns = [getattr(model, name) for name in model.CHAINED_FIELDS]
    rows = db.session.execute(
        select(model.id, model.hash, *columns).order_by(chain.owner_column, model.position)
        .execution_options(yield_per=batch)
    )
    owner, expected, previous_hash, is_broken = None, 1, "", False
    for row in rows:
        result.events += 1
        if getattr(row, chain.owner) != owner:
            owner, expected, previous_hash, is_broken = getattr(row, chain.owner), 1, "", False
            result.histories += 1
        if is_broken:
            continue  # the first broken link is the one to name
        if row.position > expected:
            is_broken = True
            missing = (f"position {expected} is missing" if row.position == expected + 1
                       else f"positions {expected} to {row.position - 1} are missing")
            yield BrokenLink(chain, owner, f"{missing} (removed after it was recorded)")
            continue
        if chain_hash(previous_hash, _chained_fields(model, row)) != row.hash:
            is_broken = True
            yield BrokenLink(chain, owner, f"event at position {row.position} (id {row.id}) does not match its "
                                           "hash — changed after it was recorded")
            continue
        expected, previous_hash = expected + 1, row.hash
