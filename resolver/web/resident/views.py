"""The resident's pages behind their personal evidence link (/r/e/<token>...): the form to send
their side, the receipt, the status page (with a way to ask for more time, and the company's side once
the case goes to the team) and the files: their own, and the company's from then on.

Residents have no account: the link is the key. It is checked, and its use logged, before anything
else runs (before the form body is even read, so the upload size can follow the company's limits).
GET and HEAD only read. A send carries a one-time form key, so a double-clicked button counts once;
files are written durably before the submission's row commits, and a refused send leaves nothing.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime
from typing import Callable

from babel import dates as babel_dates
from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from ... import uploads
from ...actors import Actor
from ...clock import now_utc
from ...errors import DeadlinePassed, DomainError, GuardFailed, InvalidInput, LinkError, StaleDispute
from ...extensions import db
from ...i18n import current_language, format_locale
from ...languages import DEFAULT_LANGUAGE
from ...links import TooManySends
from ...models import AccessLink, Dispute, EvidenceFile, ExtensionRequest, Submission
from ...services.company_evidence import company_side_for_resident
from ...services.evidence import request_more_time, submit_evidence
from ...workdays import format_day, local
from ...workflow.engine import dispute_engine
from ..downloads import send_stored
from ..link_pages import check_link, speak_to_holder, too_many_sends_page
from ..sent_files import files_of_this_request
from ..unit_of_work import unit_of_work
from . import blueprint
from .forms import FORM_KEY, EvidenceForm, MoreTimeForm

WORKFLOW = dispute_engine.definition
ENDPOINTS = frozenset(
    f"resident.{name}"
    for name in ("evidence_form", "send_evidence", "evidence_receipt", "evidence_status", "ask_more_time",
                 "evidence_file", "evidence_language")
)
# Room in a send for the text fields and the multipart framing, on top of the files themselves.
FORM_ALLOWANCE = 1024 * 1024


# The link, checked before anything else --------------------------------------------------------

@blueprint.url_value_preprocessor
def _resolve_evidence_link(endpoint: str | None, values: dict | None) -> None:
    # url_value_preprocessors run before every before_request, CSRF's included (which reads the body).
    # The use is logged (in its own transaction) whatever happens next.
    if not check_link(endpoint, values, endpoints=ENDPOINTS, purpose="evidence", holder_problem=not_the_residents):
        return
    speak_to_holder()
    # Only a send through a good link may carry files; everything else is a few form fields at most.
    if g.link is not None and endpoint == "resident.send_evidence":
        request.max_content_length = _link_dispute().company.max_dispute_bytes + FORM_ALLOWANCE
    else:
        request.max_content_length = FORM_ALLOWANCE


def not_the_residents(link: AccessLink) -> LinkError | None:
    """A resident's link that is not held by the dispute's resident (theirs changed, or it was never theirs)."""
    dispute = db.session.get(Dispute, link.dispute_id)
    if link.resident_id is None or link.resident_id != dispute.resident_id:
        return LinkError(_("This link belongs to someone else. Please use the link from your own email."),
                         reason="wrong-person")
    return None


@blueprint.before_request
def _refuse_unusable_link():
    if request.endpoint in ENDPOINTS and g.get("link_problem") is not None:
        return _link_problem_page(g.link_problem)
    return None


def _link_problem_page(problem: LinkError):
    link: AccessLink | None = getattr(problem, "link", None)
    dispute = db.session.get(Dispute, link.dispute_id) if link is not None else None
    if isinstance(problem, TooManySends):
        return too_many_sends_page("resident/too_many_sends.html", problem, dispute=dispute,
                                   company=dispute.company, resident=dispute.resident,
                                   back_url=url_for(".evidence_status", token=request.view_args["token"]))
    status = 410 if problem.reason in ("expired", "revoked") else 403 if dispute else 404
    return render_template("resident/link_problem.html", problem=problem, dispute=dispute,
                           company=dispute.company if dispute else None), status


# The blueprint's other pages (the outcome page's buttons) say the same their own way: endpoint -> page.
OTHER_FORMS_EXPIRED: dict[str, Callable[[CSRFError], object]] = {}


@blueprint.errorhandler(CSRFError)
def _form_expired(error: CSRFError):
    """The form's security token was missing or stale (a long-closed tab, a restarted phone):
    show the page again with what was typed, so nothing is lost."""
    if request.endpoint not in ENDPOINTS:
        page = OTHER_FORMS_EXPIRED.get(request.endpoint)
        return page(error) if page is not None else error
    if g.get("link_problem") is not None:
        return _link_problem_page(g.link_problem)
    message = _("For your safety, this page needs to be sent again. Nothing was saved yet. What you wrote "
                "is still below; please check it, attach any files again, and press the button once more.")
    view = ResidentView.load()
    if request.endpoint == "resident.evidence_language":
        return _status_page(view, problem=DomainError(_("For your safety, please choose the language again.")),
                            status=400)
    if request.endpoint == "resident.ask_more_time":
        return _status_page(view, form=_posted(MoreTimeForm), problem=InvalidInput(message), status=400)
    return _form_page(view, form=_posted(EvidenceForm, view.dispute), problem=InvalidInput(message), status=400)


@blueprint.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge):
    """More bytes than this dispute can take in one send: a clear page instead of a bare 413."""
    if request.endpoint not in ENDPOINTS:
        return error
    if g.get("link_problem") is not None:
        return _link_problem_page(g.link_problem)
    view = ResidentView.load()
    return render_template("resident/upload_too_large.html", **view.context()), 413


# What every page shows ---------------------------------------------------------------------------

def _link_dispute() -> Dispute:
    return db.session.get(Dispute, g.link.dispute_id)


@dataclass
class ResidentView:
    """The dispute as the resident sees it through their link."""

    link: AccessLink
    dispute: Dispute
    now: datetime
    submissions: list[Submission] = field(default_factory=list)
    extension_requests: list[ExtensionRequest] = field(default_factory=list)

    @classmethod
    def load(cls) -> ResidentView:
        dispute = _link_dispute()
        submissions = db.session.scalars(
            select(Submission).where(Submission.dispute_id == dispute.id).order_by(Submission.received_dt, Submission.id)
        ).all()
        extension_requests = db.session.scalars(
            select(ExtensionRequest).where(ExtensionRequest.dispute_id == dispute.id)
            .order_by(ExtensionRequest.requested_dt, ExtensionRequest.id)
        ).all()
        return cls(g.link, dispute, now_utc(), list(submissions), list(extension_requests))

    @property
    def company(self):
        return self.dispute.company

    @property
    def is_window_open(self) -> bool:
        """Whether the resident can still send (or add to) their side: the workflow lets the dispute
        take a submission, and its evidence deadline has not passed."""
        due = self.dispute.evidence_due_dt
        return WORKFLOW.can("submit_evidence", self.dispute.state) and due is not None and self.now <= due

    @property
    def can_ask_more_time(self) -> bool:
        """Only while the evidence window runs (before the first send), and one request at a time."""
        return (self.dispute.state in WORKFLOW.windows["evidence"].active_in and self.is_window_open
                and not any(r.status == "pending" for r in self.extension_requests))

    @property
    def stage(self) -> str:
        """Where things stand, in the status page's words (asked of the workflow, not named here):
        waiting, ended, received, reviewing, writing, sent, confirmed, mediation, called_off or over."""
        state = self.dispute.state
        if state in WORKFLOW.windows["evidence"].active_in:
            return "waiting" if self.is_window_open else "ended"
        steps = [("ended", state == WORKFLOW.state_of("lapse")), ("received", WORKFLOW.can("send_to_panel", state)),
                 ("reviewing", WORKFLOW.can("decide", state)), ("writing", self.is_reply_running),
                 ("sent", WORKFLOW.can("acknowledge", state)), ("confirmed", state == WORKFLOW.state_of("acknowledge")),
                 ("mediation", state == WORKFLOW.state_of("refer_out")),
                 ("called_off", state == WORKFLOW.state_of("withdraw"))]
        return next((stage for stage, is_it in steps if is_it), "over")

    @property
    def is_reply_running(self) -> bool:
        """Whether the company's written answer is still to come (its reply window runs)."""
        return self.dispute.state in WORKFLOW.windows["reply"].active_in

    @property
    def files_sent(self) -> tuple[int, int]:
        return uploads.dispute_usage(self.dispute.id)

    @cached_property
    def company_side(self) -> dict | None:
        """The company's side and its files, once the case has gone to the team (as the team sees it)."""
        return company_side_for_resident(self.dispute)

    def download_name(self, evidence: EvidenceFile) -> str | None:
        """The name ``evidence`` downloads under, or None when it is not for this resident to see: their
        own files always; the company's once the case went to the team, exactly as the team was sent them."""
        if evidence.dispute_id != self.dispute.id:
            return None
        if not evidence.is_company_side:
            return uploads.served_name(evidence.original_name, evidence.content_type)
        listed = next((f for f in (self.company_side or {}).get("files", []) if f["id"] == evidence.id), None)
        if listed is None or listed["sha256"] != evidence.sha256:
            return None
        return uploads.served_name(listed["name"], evidence.content_type)

    def when(self, value: datetime | None) -> str:
        """'11:59 PM on Saturday 14 March 2026', in the company's time zone (and the page's language)."""
        if value is None:
            return ""
        moment = local(value, self.company)
        if current_language() == DEFAULT_LANGUAGE:
            clock = moment.strftime("%I:%M %p").lstrip("0")
        else:
            clock = babel_dates.format_time(moment, "short", locale=format_locale())
        return _("%(time)s on %(day)s", time=clock, day=format_day(value, self.company))

    def time_left(self, value: datetime) -> str:
        """'That is in 5 days (America/Denver time).', counted in the company's calendar days."""
        days = (local(value, self.company).date() - local(self.now, self.company).date()).days
        zone = self.company.time_zone.replace("_", " ")
        if days <= 0:
            return _("That is today (%(zone)s time).", zone=zone)
        if days == 1:
            return _("That is tomorrow (%(zone)s time).", zone=zone)
        return ngettext("That is in %(num)d day (%(zone)s time).", "That is in %(num)d days (%(zone)s time).",
                        days, zone=zone)

    def day(self, value: datetime | None) -> str:
        return format_day(value, self.company) if value else ""

    def context(self, **extra) -> dict:
        count, total = self.files_sent
        return {
            "view": self, "dispute": self.dispute, "company": self.company, "resident": self.dispute.resident,
            "token": request.view_args["token"], "limits": uploads.UploadLimits.of(self.company),
            "files_sent_count": count, "files_sent_bytes": total, "describe_size": uploads.describe_size,
            "when": self.when, "day": self.day,
            "language_action": url_for("resident.evidence_language", token=request.view_args["token"]), **extra,
        }


def _posted(form_class, dispute: Dispute | None = None):
    """The form as it was sent (for showing it again), from the view that read it or from the request."""
    form = g.get("form")
    if isinstance(form, form_class):
        return form
    return form_class.for_dispute(dispute) if dispute is not None else form_class()


def _form_page(view: ResidentView, *, form: EvidenceForm | None = None, problem: DomainError | None = None,
               status: int = 200):
    form = form if form is not None else EvidenceForm.for_dispute(view.dispute, formdata=None)
    if problem is not None:
        form.explain(problem)
    # A send shown again keeps its one-time key, so sending it once more still counts once.
    if not FORM_KEY.match(form.form_key.data or ""):
        form.form_key.data = secrets.token_urlsafe(24)
    files_were_attached = any(f.filename for f in request.files.getlist("files")) if request.method == "POST" else False
    return render_template(
        "resident/evidence_form.html",
        **view.context(form=form, files_were_attached=files_were_attached),
    ), status


def _status_page(view: ResidentView, *, form: MoreTimeForm | None = None, problem: DomainError | None = None,
                 status: int = 200):
    form = form if form is not None else MoreTimeForm(formdata=None)
    if problem is not None:
        form.explain(problem)
    return render_template("resident/evidence_status.html", **view.context(form=form, problem=problem)), status


# Pages -------------------------------------------------------------------------------------------

@blueprint.get("/e/<token>")
def evidence_form(token: str):
    view = ResidentView.load()
    if view.is_window_open:
        return _form_page(view)
    if not view.submissions:
        return render_template("resident/evidence_closed.html", **view.context())
    return _status_page(view)


def _send_refused(problem: DomainError, token: str):
    """A send that saved nothing: the form again with what was typed, or why nothing more can be added."""
    view = ResidentView.load()
    form = _posted(EvidenceForm, view.dispute)
    if isinstance(problem, uploads.UploadNotSaved):
        return _form_page(view, form=form, problem=InvalidInput(problem.message, field="files"), status=503)
    if isinstance(problem, InvalidInput):
        return _form_page(view, form=form, problem=problem, status=422)
    # The deadline passed while the form was open, or the dispute moved on: nothing was saved.
    if isinstance(problem, StaleDispute):
        message = _("This dispute changed while you were looking at it. Reload the page to see what changed, "
                    "then try again.")
    else:
        message = problem.message if isinstance(problem, (GuardFailed, DeadlinePassed)) else (
            _("This dispute has moved on, so nothing more can be added through this page."))
    return render_template("resident/evidence_closed.html", **view.context(late_send=True, problem=message)), 409


@blueprint.post("/e/<token>")
@unit_of_work(refused=_send_refused)
def send_evidence(token: str):
    view = ResidentView.load()
    g.form = form = EvidenceForm.for_dispute(view.dispute)
    if not form.validate():
        raise form.refusal()  # before any file is stored: a wrong amount keeps nothing
    batch = files_of_this_request(request.files.getlist("files"), view.dispute)
    # The same form sent twice (a double click, two sends at once): the verb returns the first send.
    submission = submit_evidence(
        Actor.resident(view.dispute.resident), view.dispute, form_key=form.form_key.data,
        details=form.details.data or "", suggested_resolution=form.suggested_resolution.data or "",
        suggested_amount_cents=form.suggested_amount.data, item_responses=form.item_responses(view.dispute),
        files=batch.files,
    )
    posted = (form.details.data or "", form.suggested_resolution.data or "")
    if (submission.details, submission.suggested_resolution) != posted:
        # The same form sent again after changes (the Back button): the first send stands, so say so.
        flash(_("This form had already been sent, so the changes made to it since were not saved. "
                "To add something, use “add more” below."), "error")
    return redirect(url_for(".evidence_receipt", token=token, submission_id=submission.id), code=303)


@blueprint.get("/e/<token>/receipt/<int:submission_id>")
def evidence_receipt(token: str, submission_id: int):
    view = ResidentView.load()
    submission = db.session.get(Submission, submission_id)
    if submission is None or submission.dispute_id != view.dispute.id:
        return _status_page(view, problem=DomainError(
            _("That receipt is not part of your dispute. Your receipts are listed below.")), status=404)
    return render_template("resident/evidence_receipt.html", **view.context(submission=submission))


@blueprint.get("/e/<token>/status")
def evidence_status(token: str):
    return _status_page(ResidentView.load())


def _more_time_refused(problem: DomainError, token: str):
    status = problem.status_code
    if isinstance(problem, StaleDispute):
        # Another tab, or the manager, kept changing the dispute: asked again, a second tab asking at
        # the same time reads "you have already asked", so this is rare.
        problem = DomainError(_("Your dispute changed a moment ago, so your request was not sent. "
                                "Please check the page below and ask again."))
    return _status_page(ResidentView.load(), form=_posted(MoreTimeForm), problem=problem, status=status)


@blueprint.post("/e/<token>/more-time")
@unit_of_work(refused=_more_time_refused)
def ask_more_time(token: str):
    view = ResidentView.load()
    g.form = form = MoreTimeForm()
    if not form.validate():
        raise form.refusal()
    extension = request_more_time(Actor.resident(view.dispute.resident), view.dispute, days=form.days.data,
                                  reason=form.reason.data or "")
    flash(ngettext("Your request for %(num)d more day was sent to %(name)s. You will get an email with the "
                   "answer, and this page will show it too.",
                   "Your request for %(num)d more days was sent to %(name)s. You will get an email with the "
                   "answer, and this page will show it too.", extension.days_asked, name=view.dispute.manager.name),
          "success")
    return redirect(url_for(".evidence_status", token=token), code=303)


@blueprint.get("/e/<token>/files/<int:file_id>")
def evidence_file(token: str, file_id: int):
    """One of the resident's own files, or one of the company's once the case went to the team, always
    as a download of the served copy (a photo without its location data), never rendered as a page."""
    view = ResidentView.load()
    evidence = db.session.get(EvidenceFile, file_id)
    name = view.download_name(evidence) if evidence is not None else None
    if name is None:
        return _status_page(view, problem=DomainError(
            _("That file is not part of your dispute. Your receipts list your files.")), status=404)
    response = send_stored(evidence.sha256, mimetype=evidence.content_type, as_attachment=True, download_name=name,
                           max_age=0, conditional=False, etag=False)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
