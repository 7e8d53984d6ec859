"""Sending the approved letter (or an approved correction): the PDF made and kept, the email with
the resident's outcome link queued, the reply deadline checked."""
from __future__ import annotations

from datetime import datetime

from markupsafe import Markup

from ...actors import Actor
from ...clock import now_utc
from ...errors import GuardFailed, WrongState
from ...files import store_bytes
from ...history import record_event
from ...i18n import speaking
from ...letters import render
from ...letters.pdf import html_to_pdf
from ...links import current_link, issue_link, link_url
from ...models import Dispute, Letter, LetterStatus
from ...workdays import format_day
from ...workflow.engine import dispute_engine
from ..access import check_version, require_staff
from ..disputes import record_reply_breach
from ..notify import tell
from .letter import SENT_STATES, check_offer, corrected_letter, letter_pdf_filename, letters_of, sent_letter
from .letter import is_past_promise, sending_context

WORKFLOW = dispute_engine.definition

# The outcome link outlives the offer and the follow-up, so a late resident reads a polite page.


def send_outcome(actor: Actor, dispute: Dispute, *, expected_version: int | None = None) -> Letter:
    """Send the approved letter (or an approved correction): PDF made and kept, email queued.

    The PDF is made before anything changes: if it cannot be made, nothing is sent and nothing
    changes (no email without its PDF).
    """
    require_staff(actor, dispute)
    check_version(dispute, expected_version)
    approved = [letter for letter in letters_of(dispute) if letter.status == LetterStatus.APPROVED]
    letter = approved[-1] if approved else None
    is_correction = letter is not None and letter.is_correction
    if dispute.state in SENT_STATES and not is_correction:
        sent = sent_letter(dispute)
        when = format_day(sent.sent_dt, dispute.company) if sent is not None else "earlier"
        raise WrongState(f"The letter was already sent on {when}. To change it, write a correction; "
                         "it goes as a new letter, linked to the first.")
    if not (WORKFLOW.can("send_outcome", dispute.state) or dispute.state in SENT_STATES):
        if dispute.decision is None:
            raise WrongState("There is no decision yet, so there is no letter to send.",
                             allowed=dispute_engine.allowed(dispute))
        raise WrongState("Write and approve the letter before sending it.", allowed=dispute_engine.allowed(dispute))
    if letter is None:
        raise GuardFailed("Approve the letter before sending it.")
    check_offer(dispute, letter.token_kind, letter.token_cents, letter.concession_cents)
    now = now_utc()
    # The letter goes in the language it was written in, whatever the resident's language is now.
    with speaking(letter.language):
        context = sending_context(letter, dispute, now)
        follow_up_due, corrects = context["follow_up_due_dt"], context["corrects"]
        offer_expires = context["offer"].expires_dt if context["offer"] is not None else None
        # Everything that can fail comes first; nothing has changed yet.
        pdf = html_to_pdf(render.render_document(context))
        fragment = render.render_fragment(context)
        text = render.render_text(context)
    pdf_sha256 = store_bytes(pdf)

    is_late = is_past_promise(dispute, now) and not is_correction
    if is_late and dispute.reply_breached_dt is None:
        # The sweep may not have run yet; a late reply is recorded as late all the same.
        record_reply_breach(Actor.system("Resolver (deadline)"), dispute)
    letter.offer_expires_dt = offer_expires
    letter.pdf_sha256 = pdf_sha256
    letter.sent_dt = now
    letter.body_html = fragment
    details = {"letter_id": letter.id, "version": letter.version, "pdf_sha256": pdf_sha256, "late": is_late}
    if is_correction:
        letter.status = "sent"
        record_event(dispute, actor, "correction_sent", now=now, data={**details, "corrects": corrects.id})
        link = outcome_link(dispute, now, offer_expires)
        template = "outcome_correction"
    else:
        dispute.outcome_sent_dt = now
        dispute_engine.fire(dispute, "send_outcome", actor=actor, now=now, data=details)
        letter.status = "sent"
        link = issue_link(dispute, "outcome", resident=dispute.resident,
                          expires_dt=max(dispute.follow_up_due_dt, offer_expires or now) + dispute_engine.definition.link_grace["outcome"])
        template = "outcome_letter"
    tell(dispute.resident, dispute, template, {
        "letter": letter,
        "letter_html": Markup(fragment),
        "letter_text": text,
        "link_url": link_url(link),
        "offer": context["offer"],
        "follow_up_due": follow_up_due,
        "corrects": corrects,
        "manager": dispute.manager,
    }, attachments=[{"filename": letter_pdf_filename(letter), "content_type": "application/pdf",
                     "sha256": pdf_sha256}])
    return letter


def outcome_link(dispute: Dispute, now: datetime, offer_expires: datetime | None):
    """The resident's outcome link, kept alive long enough for this letter; a fresh one if it is gone."""
    link = current_link(dispute.id, "outcome", resident_id=dispute.resident_id)
    needed = max(now, offer_expires or now, dispute.follow_up_due_dt or now) + dispute_engine.definition.link_grace["outcome"]
    if link is None:
        return issue_link(dispute, "outcome", resident=dispute.resident, expires_dt=needed)
    if link.expires_dt < needed:
        link.expires_dt = needed
    return link
