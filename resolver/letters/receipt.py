"""The receipt for the resident's side as a PDF the office prints and posts: for a letter from a resident
without an email address, the same receipt the others are emailed (what we received, by when we
will answer), in the resident's language. Made on request from the rows, so it always says what is on
record."""
from __future__ import annotations

from flask import current_app

from ..i18n import speaking
from ..models import Dispute, Submission
from ..presentation import by_post_note
from .pdf import html_to_pdf
from .render import ladder_of


def receipt_context(dispute: Dispute, submission: Submission) -> dict:
    return {
        "dispute": dispute,
        "company": dispute.company,
        "resident": dispute.resident,
        "manager": dispute.manager,
        "unit": dispute.unit,
        "property": dispute.unit.property if dispute.unit is not None else None,
        "submission": submission,
        "by_post": by_post_note(submission, dispute.company),
        "files": submission.files,
        "items": [(item, submission.item_responses.get(str(item.id))) for item in dispute.items
                  if submission.item_responses.get(str(item.id))],
        # The date first promised: later moves are told to the resident as they happen.
        "reply_due": dispute.reply_promised_dt or dispute.reply_due_dt,
        "ladder": ladder_of(dispute.company),
    }


def paper_receipt_pdf(dispute: Dispute, submission: Submission) -> bytes:
    with speaking(dispute.resident.preferred_language):
        html = current_app.jinja_env.get_template("letters/paper_receipt.html").render(
            receipt_context(dispute, submission))
    return html_to_pdf(html)
