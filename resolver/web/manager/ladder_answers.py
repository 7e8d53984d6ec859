"""The supervisor answers a resident's request to look again, from the dashboard: what they decided
is sent to the resident and the request is done. One POST, one verb, one unit of work."""
from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.validators import InputRequired

from ...errors import DomainError, NotFound
from ...services import outcome
from ..unit_of_work import unit_of_work
from . import blueprint
from .auth import current_actor
from .forms import TextField, refuse_unless_valid


class LadderAnswerForm(FlaskForm):
    note = TextField(2000, validators=[InputRequired(
        message=_l("Write what you decided, in words for the resident: it is sent to them."))])


def _dashboard():
    return redirect(url_for("manager.dashboard") + "#escalations-h", 303)


def _refused(error: DomainError, request_id: int):
    if isinstance(error, NotFound):
        raise error  # another company's request, or none: simply not found
    flash(error.message, "success" if error.status_code == 200 else "error")
    return _dashboard()


@blueprint.post("/ladder-requests/<int:request_id>/answer")
@unit_of_work(refused=_refused)
def answer_ladder_request(request_id: int):
    actor = current_actor()
    outcome.ladder_request_of(actor, request_id)  # another company's is not found, whatever the form says
    form = refuse_unless_valid(LadderAnswerForm())
    answered = outcome.answer_ladder_request(actor, request_id, note=form.note.data)
    flash(_("Your answer is on its way to %(resident)s, and the request is done.",
            resident=answered.dispute.resident.name), "success")
    return _dashboard()
