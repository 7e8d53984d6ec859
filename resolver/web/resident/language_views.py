"""The language switch on the pages behind a resident's links (/r/e/<token>/language, /r/o/<token>/language):
the resident picks the language Resolver speaks to them, on these pages and in the emails and letter to
come, and goes back to the page they were reading. The link is checked (and its pace kept) as for every
other send through it."""
from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from ...actors import Actor
from ...i18n import speaking
from ...services.resident_language import choose_language
from ..unit_of_work import unit_of_work
from . import blueprint, outcome_views, views
from .forms import LanguageForm
# The pages a refusal is shown on: each link's own (the status page; the outcome page).
from .outcome_views import _dispute as outcome_dispute
from .outcome_views import _shown_again as outcome_page_refusing
from .views import ResidentView, _status_page


def _chosen(token: str, dispute, *, landing: str, endpoints: frozenset[str]):
    form = LanguageForm()
    if not form.validate():
        raise form.refusal()
    tag = form.language.data or ""
    choose_language(Actor.resident(dispute.resident), dispute, tag)
    with speaking(tag):
        # TRANSLATORS: each language names itself here ("in English", "en español").
        flash(_("From now on we will write to you in English: on these pages, in our emails and in our letter."),
              "success")
    return redirect(_page_chosen_on(form.back.data or "", token, landing=landing, endpoints=endpoints), code=303)


def _page_chosen_on(path: str, token: str, *, landing: str, endpoints: frozenset[str]) -> str:
    """The page of this same link the switch was pressed on (a page one may open), else its ``landing`` page."""
    try:
        endpoint, values = current_app.create_url_adapter(request).match(path, method="GET")
    except HTTPException:
        endpoint, values = None, {}
    if endpoint not in endpoints or values.get("token") != token:
        return url_for(landing, token=token)
    return url_for(endpoint, **values)


@blueprint.post("/e/<token>/language")
@unit_of_work(refused=lambda error, token: _status_page(ResidentView.load(), problem=error, status=error.status_code))
def evidence_language(token: str):
    return _chosen(token, ResidentView.load().dispute, landing="resident.evidence_form",
                   endpoints=views.ENDPOINTS - {"resident.evidence_language"})


@blueprint.post("/o/<token>/language")
@unit_of_work(refused=outcome_page_refusing)
def outcome_language(token: str):
    return _chosen(token, outcome_dispute(), landing="resident.outcome_page",
                   endpoints=outcome_views.ENDPOINTS - {"resident.outcome_language"})
