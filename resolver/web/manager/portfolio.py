"""The staff's pages for the company's properties and their units: a list to search, each property's
page with its units and residents, and the forms that add, change, archive and restore them.

Any member of staff may use them, for their own company only (another company's property is not
found). Each POST reads one form, calls one verb and redirects; a refusal shows the page again with
the reason beside what was typed, and changes nothing. The residents' pages are in ``residents``.
"""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from ...errors import DomainError, NotFound
from ...services import portfolio
from ..unit_of_work import unit_of_work
from . import blueprint
from .auth import current_actor
from .forms import refuse_unless_valid
from .portfolio_forms import ListForm, PropertyForm, UnitForm

def list_filters() -> ListForm:
    """A list page's search as asked; a garbled one is the first page of current rows."""
    form = ListForm(request.args)
    if not form.validate():
        form = ListForm()
    return form


def _done(message: str, endpoint: str, **values):
    flash(message, "success")
    return redirect(url_for(endpoint, **values), 303)


# The list -----------------------------------------------------------------------------------------

@blueprint.get("/properties")
def properties():
    filters = list_filters()
    page = portfolio.properties_page(g.company.id, search=filters.q.data, status=filters.status.data,
                                     page=filters.page_number)
    return render_template("manager/properties.html", page=page, statuses=portfolio.STATUSES)


# Adding one ---------------------------------------------------------------------------------------

def _new_property_page(error: DomainError | None = None, status: int = 200, **_):
    return render_template("manager/property_new.html", typed=request.form, error=error), status


@blueprint.route("/properties/new", methods=["GET", "POST"])
@unit_of_work(refused=lambda error, **_: _new_property_page(error, error.status_code))
def new_property():
    if request.method != "POST":
        return _new_property_page()
    form = refuse_unless_valid(PropertyForm())
    prop = portfolio.add_property(current_actor(), **form.fields)
    return _done(_("%(property)s is added. Add its units below.", property=prop.name), "manager.property_page",
                 property_id=prop.id)


# A property's page --------------------------------------------------------------------------------

def _property_page(property_id: int, *, error: DomainError | None = None, status: int = 200,
                   unit_id: int | None = None):
    prop = portfolio.own_property(current_actor(), property_id)
    return render_template(
        "manager/property.html", prop=prop, units=portfolio.units_of(prop), error=error,
        # A refused form is shown as it was typed; the page's other forms show what is saved.
        failed=request.endpoint if error else None, failed_unit_id=unit_id, typed=request.form if error else {},
    ), status


def _refused(error: DomainError, property_id: int, unit_id: int | None = None, **_):
    if isinstance(error, NotFound):
        raise error  # nothing to show the page of
    return _property_page(property_id, error=error, status=error.status_code, unit_id=unit_id)


@blueprint.get("/properties/<int:property_id>")
def property_page(property_id: int):
    return _property_page(property_id)


@blueprint.post("/properties/<int:property_id>")
@unit_of_work(refused=_refused)
def edit_property(property_id: int):
    actor = current_actor()
    prop = portfolio.own_property(actor, property_id)
    form = refuse_unless_valid(PropertyForm())
    portfolio.edit_property(actor, prop, **form.fields)
    return _done(_("Saved %(property)s.", property=prop.name), "manager.property_page", property_id=prop.id)


@blueprint.post("/properties/<int:property_id>/archive")
@unit_of_work(refused=_refused)
def archive_property(property_id: int):
    actor = current_actor()
    prop = portfolio.own_property(actor, property_id)
    refuse_unless_valid(FlaskForm())  # nothing to read but the CSRF token
    portfolio.archive_property(actor, prop)
    return _done(_("%(property)s is archived, with its units and their residents: they are no longer offered for new "
                   "disputes. Disputes that name them keep them.", property=prop.name), "manager.property_page",
                 property_id=prop.id)


@blueprint.post("/properties/<int:property_id>/restore")
@unit_of_work(refused=_refused)
def restore_property(property_id: int):
    actor = current_actor()
    prop = portfolio.own_property(actor, property_id)
    refuse_unless_valid(FlaskForm())
    portfolio.restore_property(actor, prop)
    return _done(_("%(property)s is back, with the units and residents archived with it.", property=prop.name),
                 "manager.property_page",
                 property_id=prop.id)


# Its units ----------------------------------------------------------------------------------------

@blueprint.post("/properties/<int:property_id>/units")
@unit_of_work(refused=_refused)
def add_unit(property_id: int):
    actor = current_actor()
    prop = portfolio.own_property(actor, property_id)
    unit = portfolio.add_unit(actor, prop, refuse_unless_valid(UnitForm()).label.data)
    return _done(_("Unit %(unit)s is added to %(property)s.", unit=unit.label, property=prop.name),
                 "manager.property_page", property_id=prop.id)


def _unit(property_id: int, unit_id: int):
    actor = current_actor()
    return actor, portfolio.own_unit(actor, portfolio.own_property(actor, property_id), unit_id)


@blueprint.post("/properties/<int:property_id>/units/<int:unit_id>")
@unit_of_work(refused=_refused)
def rename_unit(property_id: int, unit_id: int):
    actor, unit = _unit(property_id, unit_id)
    before = unit.label
    portfolio.rename_unit(actor, unit, refuse_unless_valid(UnitForm()).label.data)
    message = (_("Unit %(before)s is unit %(after)s now.", before=before, after=unit.label) if unit.label != before
               else _("Nothing changed."))
    return _done(message, "manager.property_page", property_id=property_id)


@blueprint.post("/properties/<int:property_id>/units/<int:unit_id>/archive")
@unit_of_work(refused=_refused)
def archive_unit(property_id: int, unit_id: int):
    actor, unit = _unit(property_id, unit_id)
    refuse_unless_valid(FlaskForm())
    portfolio.archive_unit(actor, unit)
    return _done(_("Unit %(unit)s is archived, with its residents.", unit=unit.label), "manager.property_page",
                 property_id=property_id)


@blueprint.post("/properties/<int:property_id>/units/<int:unit_id>/restore")
@unit_of_work(refused=_refused)
def restore_unit(property_id: int, unit_id: int):
    actor, unit = _unit(property_id, unit_id)
    refuse_unless_valid(FlaskForm())
    portfolio.restore_unit(actor, unit)
    return _done(_("Unit %(unit)s is back, with the residents archived with it.", unit=unit.label),
                 "manager.property_page",
                 property_id=property_id)

