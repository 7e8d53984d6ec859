"""The resident's outcome page behind their personal outcome link (/r/o/<token>): the letter as
sent, a button to confirm it arrived, the offer to accept or decline, asking the supervisor to look
again, and how to take it to outside mediation (recorded only when they say they have). Each button
is its own act.

Mail scanners open every link, so GET and HEAD only read (and log the link's use); every change is
a POST from the page's own buttons, with CSRF protection. Each POST calls one verb, in one unit of work.
"""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from ...actors import Actor
from ...clock import now_utc
from ...errors import AlreadyRecorded, DomainError, LinkError
from ...extensions import db
from ...letters import render
from ...links import TooManySends
from ...models import Dispute
from ...services import outcome
from ...workdays import format_day
from ...workflow.engine import dispute_engine
from ..downloads import send_stored
from ..link_pages import check_link, speak_to_holder, too_many_sends_page
from ..unit_of_work import unit_of_work
from . import blueprint
from .forms import LadderForm, MediationForm, OfferAnswerForm, PageForm, ReceiptForm
from .views import OTHER_FORMS_EXPIRED, not_the_residents

WORKFLOW = dispute_engine.definition


ENDPOINTS = frozenset(f"resident.{name}" for name in ("outcome_page", "outcome_pdf", "confirm_receipt",
                                                      "answer_offer", "ask_for_mediation", "ask_supervisor",
                                                      "outcome_language"))


@blueprint.url_value_preprocessor
def _resolve_outcome_link(endpoint: str | None, values: dict | None) -> None:
    # Before anything else (the CSRF check included), and logged in its own transaction either way.
    if check_link(endpoint, values, endpoints=ENDPOINTS, purpose="outcome", holder_problem=not_the_residents):
        speak_to_holder()


@blueprint.before_request
def _refuse_unusable_link():
    if request.endpoint in ENDPOINTS and g.get("link_problem") is not None:
        return _problem_page(g.link_problem)
    return None


def _form_expired(error):
    """A button pressed without the page's security token (a long-open tab): nothing changed; the page again."""
    if g.get("link_problem") is not None:
        return error
    return _page(_dispute(), problem=_("For your safety, this page needs to be sent again. Please press the "
                                       "button once more."), status=400)


OTHER_FORMS_EXPIRED.update(dict.fromkeys(ENDPOINTS, _form_expired))


def _dispute() -> Dispute:
    return db.session.get(Dispute, g.link.dispute_id)


def _problem_page(problem: LinkError):
    link = getattr(problem, "link", None)
    dispute = db.session.get(Dispute, link.dispute_id) if link is not None else None
    if isinstance(problem, TooManySends):
        return too_many_sends_page("resident/too_many_sends.html", problem, dispute=dispute,
                                   company=dispute.company, resident=dispute.resident,
                                   back_url=url_for(".outcome_page", token=request.view_args["token"]))
    status = 410 if problem.reason in ("expired", "revoked") else 403 if dispute else 404
    return render_template("resident/link_problem.html", problem=problem, dispute=dispute,
                           company=dispute.company if dispute else None), status


def _page(dispute: Dispute, *, problem: str | None = None, notice: str | None = None, status: int = 200,
          ladder_message: str = ""):
    letter = outcome.sent_letter(dispute)
    company = dispute.company
    offer = render.offer_of(letter, dispute) if letter is not None else None
    fulfil = outcome.open_tasks(dispute, "fulfil_offer")
    now = now_utc()
    offer_expired = bool(offer and letter.offer_response is None and letter.offer_expires_dt
                         and now > letter.offer_expires_dt)
    # The letter has gone out and the resident has not gone to mediation: they may still answer.
    can_refer = WORKFLOW.can("refer_out", dispute.state)
    context = {
        "dispute": dispute,
        "company": company,
        "resident": dispute.resident,
        "manager": dispute.manager,
        "letter": letter,
        "letter_html": Markup(letter.body_html) if letter is not None else None,
        "offer": offer,
        "offer_open": bool(
            offer and letter.offer_response is None and can_refer
            and (letter.offer_expires_dt is None or now <= letter.offer_expires_dt)
        ),
        "offer_expired": offer_expired,
        "fulfil_due": fulfil[0].due_dt if fulfil else None,
        "promised": (fulfil[0].detail or {}).get("resident_lines", []) if fulfil else [],  # each with its amount
        "mediation": render.mediation_of(company),
        "ladder": render.ladder_of(company),
        "ladder_request": outcome.ladder_request_for(letter),
        "reviewer": outcome.reviewer_of(dispute),
        "look_again_days": outcome.LOOK_AGAIN_WITHIN_DAYS,
        "can_ask_supervisor": dispute.state in WORKFLOW.group("letter_sent"),
        "ladder_message": ladder_message,
        "can_confirm": dispute.acknowledged_dt is None and WORKFLOW.can("acknowledge", dispute.state),
        # Outside mediation is always shown while the matter is open to it; it is recorded only when the
        # resident says they have gone. After accepting the offer, there is no disagreement to take.
        "can_refer": can_refer and not (letter is not None and letter.offer_response == "accepted"),
        "is_referred": dispute.state == WORKFLOW.state_of("refer_out"),
        "is_closed": dispute.state == WORKFLOW.state_of("close"),
        "token": request.view_args["token"],
        "language_action": url_for("resident.outcome_language", token=request.view_args["token"]),
        "problem": problem,
        "notice": notice,
    }
    return render_template("resident/outcome.html", **context), status


@blueprint.get("/o/<token>")
def outcome_page(token: str):
    return _page(_dispute())


@blueprint.get("/o/<token>/letter.pdf")
def outcome_pdf(token: str):
    dispute = _dispute()
    letter = outcome.sent_letter(dispute)
    if letter is None or not letter.pdf_sha256:
        return _page(dispute, problem=_("There is no letter to download yet."), status=404)
    return send_stored(letter.pdf_sha256, mimetype="application/pdf", as_attachment=True,
                       download_name=outcome.letter_pdf_filename(letter), max_age=0, etag=letter.pdf_sha256)


def _shown_again(error: DomainError, token: str):
    """The page again, as it is now, with what was refused and why (or, for an act already recorded,
    what stands: a plain page, not an error)."""
    if isinstance(error, AlreadyRecorded):
        return _page(_dispute(), notice=error.message, status=error.status_code)
    # What the resident typed is kept, so a refusal never loses their words.
    return _page(_dispute(), problem=error.message, status=error.status_code,
                 ladder_message=request.form.get("message", "") if request.endpoint == "resident.ask_supervisor" else "")


def _read(form: PageForm) -> PageForm:
    """The page's form as sent (its security token checked), or the refusal that says what is wrong."""
    if not form.validate():
        raise form.refusal()
    return form


def _done(token: str, message: str):
    flash(message, "success")
    return redirect(url_for("resident.outcome_page", token=token), code=303)


# The same button pressed twice at once: the retry finds the other press recorded.

@blueprint.post("/o/<token>/receipt")
@unit_of_work(refused=_shown_again)
def confirm_receipt(token: str):
    _read(ReceiptForm())
    dispute = _dispute()
    outcome.acknowledge_outcome(Actor.resident(dispute.resident), dispute)
    return _done(token, _("Thank you for letting us know the letter arrived."))


@blueprint.post("/o/<token>/offer")
@unit_of_work(refused=_shown_again)
def answer_offer(token: str):
    form = _read(OfferAnswerForm())
    dispute = _dispute()
    outcome.respond_to_offer(Actor.resident(dispute.resident), dispute, accept=form.is_accepted)
    return _done(token, _("Thank you. You accepted our offer; we will let you know when it is done.") if form.is_accepted
                 else _("Thank you for letting us know. Our decision stands, and %(name)s has been told.",
                        name=dispute.manager.name))


@blueprint.post("/o/<token>/mediation")
@unit_of_work(refused=_shown_again)
def ask_for_mediation(token: str):
    _read(MediationForm())
    dispute = _dispute()
    outcome.refer_out(Actor.resident(dispute.resident), dispute,
                      reason="The resident told us they have taken this to outside mediation.")
    return _done(token, _("Thank you for letting us know you have gone to outside mediation. The details are below, "
                          "and in an email to you."))


@blueprint.post("/o/<token>/supervisor")
@unit_of_work(refused=_shown_again)
def ask_supervisor(token: str):
    form = _read(LadderForm())
    dispute = _dispute()
    asked = outcome.ask_supervisor(Actor.resident(dispute.resident), dispute, message=form.message.data or "")
    return _done(token, _("Thank you. %(name)s will look at it again and write to you by %(day)s. We have emailed "
                          "you this too.", name=outcome.reviewer_of(dispute)["name"],
                          day=format_day(asked.due_dt, dispute.company)))
