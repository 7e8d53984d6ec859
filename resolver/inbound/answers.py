"""The kind answer to a reply Resolver could not file: what happened, and where to go instead.

It is marked ``Auto-Submitted: auto-replied`` (``outbox.queue_email(is_auto_reply=True)``), so an
auto-responder never answers it, and Resolver never answers one itself (``automatic``). The personal
link is given only to the resident's own address, and an address is answered a few times a day at
most, so mail sent in someone else's name cannot turn Resolver into a source of mail to them.
It is written in the language of the case's resident (the one who answers by email), English when no
case is known.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..extensions import db
from ..i18n import speaking
from ..links import current_link, link_url
from ..models import InboundMail
from ..outbox import queue_email
from .matching import Match
from .reading import IncomingMail

ANSWERS_PER_DAY = 3

# Why a reply was not filed, for the sender, in their language (``speaking``): whole sentences.
_NO_CASE = _l("I'm sorry, but we could not add it to your case, because we could not tell which case it "
              "belongs to.")
_NOT_WAITING = _l("I'm sorry, but we could not add it to your case, because your case is not waiting for your "
                  "side just now.")
_ENDED = _l("I'm sorry, but we could not add it to your case, because the time for sending your side of this "
            "case has ended.")
_WHY = {
    "forged token": _NO_CASE,
    "unknown token": _NO_CASE,
    "matches no dispute": _NO_CASE,
    "unreadable": _NO_CASE,
    "no evidence link": _NOT_WAITING,
    "link withdrawn": _l("I'm sorry, but we could not add it to your case, because the address it was sent to is "
                         "no longer in use for your case."),
    "token expired": _ENDED,
    "window closed": _l("I'm sorry, but we could not add it to your case, because the time for sending your side "
                        "of this case has ended, or your case has moved on."),
}


def answer_sender(record: InboundMail, mail: IncomingMail | None, match: Match, *, refused: str | None,
                  now: datetime) -> None:
    """Tell the sender their email was not added to their case, and why (``refused``: the sentences
    saying what was wrong with it; otherwise the match's problem)."""
    if mail is None or not mail.from_addr or _answered_lately(mail.from_addr, now):
        return
    dispute = match.dispute
    resident = dispute.resident if dispute is not None else None
    with speaking(getattr(resident, "preferred_language", None)):
        why = (_("I'm sorry, but we could not add it to your case: %(refused)s Nothing from it has been saved.",
                 refused=str(refused)) if refused else str(_WHY.get(match.problem or "", _NOT_WAITING)))
        queue_email(
            "reply_not_filed", to_addr=mail.from_addr, to_name=mail.from_name,
            company=dispute.company if dispute else None, dispute=dispute, is_auto_reply=True,
            context={"why": why, "subject": mail.subject, "link_url": _link_for(mail, match, now),
                     "manager": dispute.manager if dispute else None},
        )
    record.is_answered = True


def _answered_lately(address: str, now: datetime) -> bool:
    answered = db.session.scalar(select(func.count(InboundMail.id)).where(
        func.lower(InboundMail.from_addr) == address.lower(), InboundMail.is_answered.is_(True),
        InboundMail.received_dt > now - timedelta(days=1)))
    return answered >= ANSWERS_PER_DAY


def _link_for(mail: IncomingMail, match: Match, now: datetime) -> str | None:
    """The resident's own link to their form, when the answer goes to the resident and it still works."""
    dispute = match.dispute
    if dispute is None or dispute.resident is None or (dispute.resident.email or "").lower() != mail.from_addr.lower():
        return None
    link = current_link(dispute.id, "evidence", resident_id=dispute.resident_id)
    if link is None or link.revoked_dt is not None or now > link.expires_dt:
        return None
    return link_url(link)
