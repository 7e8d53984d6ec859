"""Which dispute a reply answers, and whether it can still be filed there.

The first key is the token in the address it was sent to (``addresses``); when there is none, the
second is a reference (In-Reply-To, References) to the email that asked for the resident's side,
whose Message-ID the outbox keeps. A reply is filed only when that finds a dispute whose evidence
link still works and whose window is open; otherwise the match says why not, and which dispute
(so which company) the mail belongs to, when it names one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..extensions import db
from ..links import current_link
from ..models import AccessLink, Dispute, OutboxEmail
from ..workflow.engine import dispute_engine
from .addresses import link_id_of, tokens_in
from .reading import IncomingMail

# The emails that ask the resident for their side, and so can be answered by a reply.
ASKING_TEMPLATES = ("evidence_invitation", "evidence_reminder")


@dataclass(frozen=True)
class Match:
    """The dispute a reply names (None: none), its evidence link, and why it cannot be filed there
    (None: it can)."""

    dispute: Dispute | None = None
    link: AccessLink | None = None
    problem: str | None = None

    @property
    def is_filable(self) -> bool:
        return self.dispute is not None and self.problem is None


def match_reply(mail: IncomingMail, now: datetime) -> Match:
    tokens = [token for token in tokens_in(mail.recipients) if token]
    if tokens:
        return _by_token(tokens[0], now)
    dispute = _by_reference(mail.references)
    if dispute is None:
        return Match(problem="matches no dispute")
    link = current_link(dispute.id, "evidence", resident_id=dispute.resident_id)
    if link is None:
        return Match(dispute, problem="no evidence link")
    return _check(dispute, link, now)


def _by_token(token: str, now: datetime) -> Match:
    link_id = link_id_of(token)
    if link_id is None:
        return Match(problem="forged token")
    link = db.session.get(AccessLink, link_id)
    if link is None or link.purpose != "evidence":
        return Match(problem="unknown token")
    return _check(db.session.get(Dispute, link.dispute_id), link, now)


def _by_reference(message_ids: list[str]) -> Dispute | None:
    if not message_ids:
        return None
    dispute_id = db.session.scalars(
        select(OutboxEmail.dispute_id).where(
            OutboxEmail.message_id.in_(message_ids[:50]), OutboxEmail.template.in_(ASKING_TEMPLATES),
            OutboxEmail.dispute_id.is_not(None))
        .order_by(OutboxEmail.id.desc()).limit(1)
    ).first()
    return db.session.get(Dispute, dispute_id) if dispute_id is not None else None


def _check(dispute: Dispute, link: AccessLink, now: datetime) -> Match:
    """The same tests a visit with the link passes, and the form's own: is its window open?"""
    if link.revoked_dt is not None or link.resident_id != dispute.resident_id:
        return Match(dispute, link, "link withdrawn")
    if not dispute_engine.definition.can("submit_evidence", dispute.state):
        return Match(dispute, link, "window closed")
    if now > link.expires_dt:
        return Match(dispute, link, "token expired")
    if dispute.evidence_due_dt is None or now > dispute.evidence_due_dt:
        return Match(dispute, link, "window closed")
    return Match(dispute, link)
