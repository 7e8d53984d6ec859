"""The resident's outcome page behind their personal outcome link (/r/o/<token>): the letter as
sent, a button to confirm it arrived, the offer to accept or decline, and the way to outside
mediation.

Mail scanners open every link, so GET and HEAD only read (and log the link's use); every change is
a POST from the page's own buttons, with CSRF protection. Each POST calls one verb, in one unit of work.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, send_file, url_for
from markupsafe import Markup

from ...actors import Actor
from ...clock import now_utc
from ...errors import DomainError, LinkError
from ...extensions import db
from ...files import path_for
from ...letters import render
from ...links import resolve_link
from ...models import Dispute
from ...services import outcome
from ..unit_of_work import unit_of_work
from . import blueprint
from .views import not_the_residents


def _open(token: str):
    """(dispute, None) for a usable outcome link, else (None, the page that says why). The use is
    logged, in its own transaction, before anything else happens."""
    try:
        link = resolve_link(token, "outcome", holder_problem=not_the_residents)
    except LinkError as problem:
        return None, _problem_page(problem)
    return db.session.get(Dispute, link.dispute_id), None


def _problem_page(problem: LinkError):
    link = getattr(problem, "link", None)
    dispute = db.session.get(Dispute, link.dispute_id) if link is not None else None
    status = 410 if problem.reason in ("expired", "revoked") else 403 if dispute else 404
    return render_template("resident/link_problem.html", problem=problem, dispute=dispute,
                           company=dispute.company if dispute else None), status


def _page(dispute: Dispute, *, problem: str | None = None, status: int = 200):
    letter = outcome.sent_letter(dispute)
    company = dispute.company
    offer = render.offer_of(letter, dispute) if letter is not None else None
    fulfil = outcome.open_tasks(dispute, "fulfil_offer")
    now = now_utc()
    offer_expired = bool(offer and letter.offer_response is None and letter.offer_expires_dt
                         and now > letter.offer_expires_dt)
    context = {
        "dispute": dispute,
        "company": company,
        "resident": dispute.resident,
        "manager": dispute.manager,
        "letter": letter,
        "letter_html": Markup(letter.body_html) if letter is not None else None,
        "offer": offer,
        "offer_open": bool(
            offer and letter.offer_response is None and dispute.state in ("outcome_sent", "acknowledged")
            and (letter.offer_expires_dt is None or now <= letter.offer_expires_dt)
        ),
        "offer_expired": offer_expired,
        "fulfil_due": fulfil[0].due_dt if fulfil else None,
        "mediation": render.mediation_of(company),
        "ladder": render.ladder_of(company),
        "can_confirm": dispute.acknowledged_dt is None and dispute.state == "outcome_sent",
        # With an open offer, "no, thank you" is the way to disagree; after accepting, there is no disagreement.
        "can_refer": dispute.state in ("outcome_sent", "acknowledged") and (not offer or offer_expired),
        "token": request.view_args["token"],
        "problem": problem,
    }
    return render_template("resident/outcome.html", **context), status


@blueprint.get("/o/<token>")
def outcome_page(token: str):
    dispute, refusal = _open(token)
    if refusal is not None:
        return refusal
    return _page(dispute)


@blueprint.get("/o/<token>/letter.pdf")
def outcome_pdf(token: str):
    dispute, refusal = _open(token)
    if refusal is not None:
        return refusal
    letter = outcome.sent_letter(dispute)
    if letter is None or not letter.pdf_sha256:
        return _page(dispute, problem="There is no letter to download yet.", status=404)
    return send_file(path_for(letter.pdf_sha256), mimetype="application/pdf", as_attachment=True,
                     download_name=outcome.letter_pdf_filename(letter), max_age=0)


def _act(token: str, verb, done: str):
    dispute, refusal = _open(token)
    if refusal is not None:
        return refusal
    return _record(dispute, token, verb, done)


def _shown_again(error: DomainError, dispute: Dispute, token: str, verb, done: str):
    return _page(db.session.get(Dispute, dispute.id), problem=error.message, status=error.status_code)


@unit_of_work(refused=_shown_again)
def _record(dispute: Dispute, token: str, verb, done: str):
    """The verb, in the request's one unit of work (the link was checked and its use logged before).
    The same button pressed twice at once: the retry finds the other press recorded."""
    verb(Actor.resident(dispute.resident), dispute)
    flash(done, "success")
    return redirect(url_for("resident.outcome_page", token=token), code=303)


@blueprint.post("/o/<token>/receipt")
def confirm_receipt(token: str):
    return _act(token, outcome.acknowledge_outcome, "Thank you for letting us know the letter arrived.")


@blueprint.post("/o/<token>/offer")
def answer_offer(token: str):
    answer = request.form.get("answer", "")
    if answer not in ("accept", "decline"):
        dispute, refusal = _open(token)
        if refusal is not None:
            return refusal
        return _page(dispute, problem="Please choose one of the two buttons.", status=422)
    accept = answer == "accept"
    return _act(
        token,
        lambda actor, dispute: outcome.respond_to_offer(actor, dispute, accept=accept),
        "Thank you. You accepted our offer; we will let you know when it is done." if accept
        else "Thank you for letting us know. The details of outside mediation are below.",
    )


@blueprint.post("/o/<token>/mediation")
def ask_for_mediation(token: str):
    return _act(
        token,
        lambda actor, dispute: outcome.refer_out(actor, dispute, reason="The resident still disagrees and asked "
                                                                         "for outside mediation."),
        "Thank you for letting us know. The details of outside mediation are below, and in an email to you.",
    )
