"""Telling a person about a dispute: the one way a verb queues an email about a dispute.

``tell`` renders ``templates/emails/<template>.txt`` and ``.html`` and writes the email to the
outbox in the caller's transaction (``resolver.outbox.queue_email``), addressed to the person, with
the dispute and its company in the template's context and on the outbox row, in the person's
language (a resident's preferred one, when Resolver speaks it; everyone else's is English).
"""
from __future__ import annotations

from ..i18n import speaking
from ..models import OutboxEmail
from ..outbox import queue_email


def tell(person, dispute, template: str, context: dict | None = None, *,
         attachments: list[dict] | None = None, reply_token: str | None = None) -> OutboxEmail:
    """Queue the email ``template`` about ``dispute`` to ``person``.

    ``person``: anyone with an ``email`` and a ``name`` (a manager, a resident, a team member), or
    a ``{"email": ..., "name": ...}`` dict (a supervisor contact from the company's settings).
    ``context``: what the template needs beyond ``dispute``, ``company`` and ``recipient_name``.
    ``attachments``: stored files, as ``{"filename", "content_type", "sha256"}`` dicts.
    ``reply_token``: the resident can answer by replying (``resolver.inbound.addresses``).
    """
    if isinstance(person, dict):
        email, name = person["email"], person["name"]
    else:
        email, name = person.email, person.name
    with speaking(getattr(person, "preferred_language", None)):
        return queue_email(template, to_addr=email, to_name=name, company=dispute.company, dispute=dispute,
                           context=context or {}, attachments=attachments, reply_token=reply_token)
