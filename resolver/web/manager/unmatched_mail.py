"""The "Unmatched mail" page: replies Resolver could not file, the company's only, each to attach to
a dispute by hand or to dismiss. One POST, one verb, one unit of work."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import InputRequired

from ...errors import DomainError, NotFound
from ...inbound import by_hand
from ..unit_of_work import unit_of_work
from . import blueprint
from .auth import current_actor
from .forms import refuse_unless_valid


# Why a reply was not added, in a manager's words (``inbound.matching`` gives the reasons).
REASONS = {
    "window closed": _l("the time for the resident's side had ended, or the dispute had moved on"),
    "token expired": _l("the reply address had expired"),
    "link withdrawn": _l("the reply address had been withdrawn"),
    "no evidence link": _l("the dispute was not waiting for the resident's side"),
}


class AttachForm(FlaskForm):
    dispute_id = IntegerField(validators=[InputRequired(message=_l("Choose the dispute this email belongs to."))])


def _list():
    return redirect(url_for("manager.unmatched_mail"), 303)


def _refused(error: DomainError, mail_id: int):
    if isinstance(error, NotFound):
        raise error  # another company's mail, or none: simply not found
    flash(error.message, "error")
    return _list()


@blueprint.get("/mail/unmatched")
def unmatched_mail():
    actor = current_actor()
    return render_template("manager/unmatched_mail.html", mails=by_hand.unmatched_mail(actor),
                           disputes=by_hand.open_disputes(actor), reasons=REASONS)


@blueprint.post("/mail/unmatched/<int:mail_id>/attach")
@unit_of_work(refused=_refused)
def attach_mail(mail_id: int):
    actor = current_actor()
    by_hand.mail_for(actor, mail_id)  # another company's is not found, whatever the form says
    form = refuse_unless_valid(AttachForm())
    submission = by_hand.attach_mail(actor, mail_id, form.dispute_id.data)
    flash(_("The email was added to dispute %(number)s, and the resident was sent the usual receipt.",
            number=submission.dispute_id), "success")
    return _list()


@blueprint.post("/mail/unmatched/<int:mail_id>/dismiss")
@unit_of_work(refused=_refused)
def dismiss_mail(mail_id: int):
    by_hand.dismiss_mail(current_actor(), mail_id)
    flash(_("The email was set aside. It is still recorded, but no longer listed here."), "success")
    return _list()
