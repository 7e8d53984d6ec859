"""The staff's pages for the company's residents: a list to search, and each resident's page with the
form that changes their details or moves them to another unit, and archives or restores them; the
download of everything held about them, and (a supervisor's, after a confirmation page) the erasure
of their personal data on request.

Any member of staff may use them, for their own company only. A refusal shows the form again as it
was typed, with the reason beside the field, and changes nothing.
"""
from __future__ import annotations

import io

from flask import flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField
from wtforms.validators import DataRequired

from ...errors import DomainError, NotFound
from ...extensions import db
from ...languages import DEFAULT_LANGUAGE, LANGUAGES
from ...models import Dispute, Resident, Unit
from ...services import personal_data, portfolio
from ..unit_of_work import after_commit, unit_of_work
from . import blueprint
from .auth import current_actor, current_staff, supervisor_required
from .forms import TextField, refuse_unless_valid
from .portfolio import list_filters
from .portfolio_forms import ResidentForm


DISPUTES_SHOWN = 20  # on a resident's page, the newest; the dashboard finds the rest


def _done(message: str, resident: Resident):
    flash(message, "success")
    return redirect(url_for("manager.resident_page", resident_id=resident.id), 303)


@blueprint.get("/residents")
def residents():
    filters = list_filters()
    chosen = None
    if filters.property.data is not None:
        try:
            chosen = portfolio.own_property(current_actor(), filters.property.data)
        except NotFound:
            chosen = None  # another company's, or none: everyone is shown
    page = portfolio.residents_page(g.company.id, search=filters.q.data, status=filters.status.data,
                                    property_id=chosen.id if chosen else None, page=filters.page_number)
    return render_template("manager/residents.html", page=page, statuses=portfolio.STATUSES, chosen=chosen,
                           languages=LANGUAGES)


def _form_page(resident: Resident | None, *, error: DomainError | None = None, status: int = 200):
    """The resident's form (a new one's when ``resident`` is None), as saved or as typed."""
    properties = portfolio.current_properties(g.company.id)
    unit = db.session.get(Unit, resident.unit_id) if resident and resident.unit_id else None
    if unit is not None and unit.property not in properties:
        properties.append(unit.property)  # their own property stays on the list, archived or not
    if error:
        shown = request.form
    elif resident is not None:
        shown = {"name": resident.name, "email": resident.email, "phone": resident.phone,
                 "preferred_language": resident.preferred_language, "external_id": resident.external_id,
                 "property_id": str(unit.property_id) if unit else "", "unit_label": unit.label if unit else ""}
    else:
        shown = {"property_id": request.args.get("property", ""), "preferred_language": DEFAULT_LANGUAGE}
    disputes = [] if resident is None else list(db.session.scalars(
        select(Dispute).where(Dispute.resident_id == resident.id)
        .order_by(Dispute.created_dt.desc(), Dispute.id.desc()).limit(DISPUTES_SHOWN + 1)))
    return render_template("manager/resident.html", resident=resident, unit=unit, shown=shown, error=error,
                           properties=properties, languages=LANGUAGES, disputes=disputes[:DISPUTES_SHOWN],
                           more_disputes=len(disputes) > DISPUTES_SHOWN), status


@blueprint.route("/residents/new", methods=["GET", "POST"])
@unit_of_work(refused=lambda error, **_: _form_page(None, error=error, status=error.status_code))
def new_resident():
    if request.method != "POST":
        return _form_page(None)
    form = refuse_unless_valid(ResidentForm())
    resident = portfolio.add_resident(current_actor(), **form.fields)
    return _done(_("%(resident)s is added.", resident=resident.name), resident)


def _refused(error: DomainError, resident_id: int, **_):
    if isinstance(error, NotFound):
        raise error
    return _form_page(portfolio.own_resident(current_actor(), resident_id), error=error, status=error.status_code)


@blueprint.get("/residents/<int:resident_id>")
def resident_page(resident_id: int):
    return _form_page(portfolio.own_resident(current_actor(), resident_id))


@blueprint.post("/residents/<int:resident_id>")
@unit_of_work(refused=_refused)
def edit_resident(resident_id: int):
    actor = current_actor()
    resident = portfolio.own_resident(actor, resident_id)
    form = refuse_unless_valid(ResidentForm())
    portfolio.edit_resident(actor, resident, **form.fields)
    return _done(_("Saved %(resident)s.", resident=resident.name), resident)


@blueprint.post("/residents/<int:resident_id>/archive")
@unit_of_work(refused=_refused)
def archive_resident(resident_id: int):
    actor = current_actor()
    resident = portfolio.own_resident(actor, resident_id)
    refuse_unless_valid(FlaskForm())  # nothing to read but the CSRF token
    portfolio.archive_resident(actor, resident)
    return _done(_("%(resident)s is archived: no longer offered for new disputes. Disputes that name them keep "
                   "them.", resident=resident.name), resident)


@blueprint.post("/residents/<int:resident_id>/restore")
@unit_of_work(refused=_refused)
def restore_resident(resident_id: int):
    actor = current_actor()
    resident = portfolio.own_resident(actor, resident_id)
    refuse_unless_valid(FlaskForm())
    portfolio.restore_resident(actor, resident)
    return _done(_("%(resident)s is back.", resident=resident.name), resident)


# Their personal data ------------------------------------------------------------------------------

@blueprint.post("/residents/<int:resident_id>/export")
@unit_of_work(refused=_refused)
def export_resident(resident_id: int):
    actor = current_actor()
    resident = portfolio.own_resident(actor, resident_id)
    refuse_unless_valid(FlaskForm())  # nothing to read but the CSRF token
    archive = personal_data.export_resident(actor, resident)
    return send_file(io.BytesIO(archive), mimetype="application/zip", as_attachment=True,
                     download_name=personal_data.export_filename(resident))


class ErasureForm(FlaskForm):
    reason = TextField(personal_data.MAX_REASON)
    is_confirmed = BooleanField(validators=[DataRequired(
        _l("Tick the box to confirm: what is erased cannot be brought back."))])


def _erasure_page(resident: Resident, *, error: DomainError | None = None, status: int = 200):
    disputes = list(db.session.scalars(select(Dispute).where(Dispute.resident_id == resident.id).order_by(Dispute.id)))
    return render_template("manager/resident_erase.html", resident=resident, disputes=disputes, error=error,
                           can_erase=current_staff().is_supervisor,
                           reason=request.form.get("reason", "") if error else ""), status


@blueprint.get("/residents/<int:resident_id>/erase")
def resident_erasure(resident_id: int):
    return _erasure_page(portfolio.own_resident(current_actor(), resident_id))


def _erasure_refused(error: DomainError, resident_id: int, **_):
    if isinstance(error, NotFound):
        raise error
    return _erasure_page(portfolio.own_resident(current_actor(), resident_id), error=error,
                         status=error.status_code)


@blueprint.post("/residents/<int:resident_id>/erase")
@supervisor_required
@unit_of_work(refused=_erasure_refused)
def erase_resident(resident_id: int):
    actor = current_actor()
    resident = portfolio.own_resident(actor, resident_id)
    form = refuse_unless_valid(ErasureForm())
    files = personal_data.erase_resident(actor, resident, reason=form.reason.data)
    after_commit(lambda: personal_data.remove_files(files))
    return _done(_("Their personal data is erased: contact details, files and what was written in their disputes. "
                   "The history and the reports' numbers remain."), resident)
