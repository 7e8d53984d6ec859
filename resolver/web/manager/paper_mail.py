"""A resident's letter that came by post: staff type it in (and scan its pages) from the dispute page,
and print the receipt for a resident without an email address.

The letter becomes a submission through the same verb as the resident's form, dated the day it
arrived; a refused entry shows the page again with what was typed, and keeps no file it brought.
"""
from __future__ import annotations

import io

from flask import flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ...errors import DomainError, NotFound
from ...letters.receipt import paper_receipt_pdf
from ...models import Submission
from ...extensions import db
from ...services.access import dispute_for
from ...services.evidence import submit_evidence
from ...workdays import format_moment
from ..sent_files import files_of_this_request
from ..unit_of_work import unit_of_work
from . import blueprint
from .auth import current_actor
from .dispute_page import dispute_page_context
from .forms import refuse_unless_valid
from .paper_forms import PaperSubmissionForm


def _entry_refused(error: DomainError, dispute_id: int):
    """The dispute page again, with why and the letter as it was typed (its files to be attached again)."""
    if isinstance(error, NotFound):
        raise error
    dispute = dispute_for(current_actor(), dispute_id)
    form = g.get("paper_form") or PaperSubmissionForm.blank()
    return render_template("manager/dispute.html", error=error, **dispute_page_context(dispute, paper_form=form)), \
        error.status_code


@blueprint.post("/disputes/<int:dispute_id>/letters-by-post")
@unit_of_work(refused=_entry_refused)
def record_paper_submission(dispute_id: int):
    actor = current_actor()
    dispute = dispute_for(actor, dispute_id)
    g.paper_form = form = PaperSubmissionForm()
    if problem := form.version_problem():
        raise problem
    refuse_unless_valid(form)  # before any file is stored: a wrong date keeps nothing
    submission = submit_evidence(
        actor, dispute, form_key=form.form_key.data, details=form.details.data,
        suggested_resolution=form.suggested_resolution.data, suggested_amount_cents=form.suggested_amount.data,
        files=files_of_this_request(request.files.getlist("files"), dispute).files,
        received_on=form.received_on.data,
        expected_version=form.expected_version.data,
    )
    flash(_recorded_message(dispute, submission), "success")
    return redirect(url_for("manager.dispute_page", dispute_id=dispute.id), 303)


def _recorded_message(dispute, submission: Submission) -> str:
    resident = dispute.resident
    due = format_moment(dispute.reply_due_dt, dispute.company)
    if resident.email:
        receipt = _("A receipt is on its way to %(resident)s <%(email)s>.", resident=resident.name,
                    email=resident.email)
    else:
        receipt = _("%(resident)s has no email address, so please print the receipt (the PDF beside the letter "
                    "below) and post it to them.", resident=resident.name)
    recorded = _("The letter is recorded as the resident's side. The written reply is due by %(due)s.", due=due)
    return f"{recorded} {receipt}"


@blueprint.get("/disputes/<int:dispute_id>/submissions/<int:submission_id>/receipt.pdf")
def paper_receipt(dispute_id: int, submission_id: int):
    """The receipt to print and post (for a letter from a resident without email; any side can have one)."""
    dispute = dispute_for(current_actor(), dispute_id)
    submission = db.session.scalars(
        select(Submission).where(Submission.id == submission_id, Submission.dispute_id == dispute.id)
    ).first()
    if submission is None:
        raise NotFound("That submission is not on this dispute.")
    response = send_file(io.BytesIO(paper_receipt_pdf(dispute, submission)), mimetype="application/pdf",
                         as_attachment=True, download_name=f"dispute-{dispute.id}-receipt-{submission.id}.pdf")
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
