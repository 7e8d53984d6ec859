"""The JSON API's portfolio: a property-management system lists, searches, reads, adds, changes and
archives the company's properties, their units and its residents.

Every request carries the company's API key, and the key sees only its own company: another
company's property or resident is "not found", as a missing one is. Each write is one unit of work
through the same verb the staff's pages call, so it is checked, recorded in the company's history
(as the key's member of staff, "via API key …") and refused with the same words.
"""
from __future__ import annotations

from flask import g, jsonify, request, url_for

from ...clock import now_utc
from ...errors import InvalidInput
from ...models import Property, Resident, Unit
from ...services import portfolio
from ...text import ascii_whole_number
from ..manager.forms import MAX_ID
from ..unit_of_work import unit_of_work
from . import blueprint
from .body import one_line

PROPERTY_FIELDS = ("name", "address", "portfolio", "external_id")
RESIDENT_FIELDS = ("name", "email", "phone", "preferred_language", "external_id")
# The verbs' names for a field -> this API's (a resident's unit is "unit", as when opening a dispute).
_BODY_FIELDS = {"unit_label": "unit", "label": "unit"}


def _when(value) -> str | None:
    return value.isoformat() if value else None


def _property(prop: Property, *, units: list[Unit] | None = None) -> dict:
    body = {
        "id": prop.id, "url": url_for("api.get_property", property_id=prop.id, _external=True),
        "name": prop.name, "address": prop.address, "portfolio": prop.portfolio, "external_id": prop.external_id,
        "is_archived": prop.archived_dt is not None, "archived": _when(prop.archived_dt),
    }
    if units is not None:
        body["units"] = [_unit(unit) for unit in units]
    return body


def _unit(unit: Unit, residents: list[Resident] | None = None) -> dict:
    body = {"id": unit.id, "property_id": unit.property_id, "label": unit.label,
            "is_archived": unit.archived_dt is not None, "archived": _when(unit.archived_dt)}
    if residents is not None:
        body["resident_ids"] = [r.id for r in residents]
    return body


def _resident(resident: Resident, unit_label: str | None = None, property_id: int | None = None,
              property_name: str | None = None) -> dict:
    if resident.unit_id and unit_label is None:
        unit = resident.unit
        unit_label, property_id, property_name = unit.label, unit.property_id, unit.property.name
    return {
        "id": resident.id, "url": url_for("api.get_resident", resident_id=resident.id, _external=True),
        "name": resident.name, "email": resident.email, "phone": resident.phone,
        "preferred_language": resident.preferred_language, "external_id": resident.external_id,
        "property_id": property_id, "property": property_name, "unit_id": resident.unit_id, "unit": unit_label,
        "is_archived": resident.archived_dt is not None, "archived": _when(resident.archived_dt),
    }


# Reading the request -----------------------------------------------------------------------------

def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("Send a JSON object (Content-Type: application/json).")
    return body


def _given(body: dict, names) -> dict:
    return {name: body[name] for name in names if name in body}


def _id(value, field: str) -> int | None:
    """An id as JSON sends it (or null); one too large to name a row names none in this company."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(f"{field} must be a whole number.", field=field)
    if not 1 <= value <= MAX_ID:
        raise InvalidInput(f"There is no {field.removesuffix('_id')} {value} in your company.", field=field)
    return value


def _place(body: dict) -> dict:
    """Where a resident lives, as the body says it: ``property_id`` and ``unit`` (null: no unit on file)."""
    place = {}
    if "property_id" in body:
        place["property_id"] = _id(body["property_id"], "property_id")
    if "unit" in body:
        place["unit_label"] = body["unit"] if body["unit"] is not None else ""
    return place


def _whole(name: str, default: int, low: int, high: int) -> int:
    number = ascii_whole_number(request.args.get(name, str(default)), low=low, high=high)
    if number is None:
        raise InvalidInput(f"{name} is a whole number from {low} to {high:,}.", field=name)
    return number


def _listing() -> dict:
    status = request.args.get("status", "active")
    if status not in portfolio.STATUSES:
        raise InvalidInput("status is one of: " + ", ".join(portfolio.STATUSES) + ".", field="status")
    return {"search": request.args.get("q", "")[:100], "status": status, "page": _whole("page", 1, 1, 10**6),
            "per_page": _whole("per_page", portfolio.PAGE_SIZE, 1, portfolio.MAX_PAGE_SIZE)}


def _written(body, status: int = 200, location: str | None = None):
    g.api_key.last_used_dt = now_utc()
    response = jsonify(body)
    if location:
        response.headers["Location"] = location
    return response, status


def _in_api_words(verb, *args, **kwargs):
    try:
        return verb(*args, **kwargs)
    except InvalidInput as refused:
        refused.field = _BODY_FIELDS.get(refused.field, refused.field)
        raise


# Properties --------------------------------------------------------------------------------------

@blueprint.get("/properties")
def list_properties():
    page = portfolio.properties_page(g.actor.company_id, **_listing())
    return jsonify(properties=[_property(row.property) for row in page.rows], page=page.page, pages=page.pages,
                   total=page.total)


@blueprint.post("/properties")
@unit_of_work
def create_property():
    prop = portfolio.add_property(g.actor, **{"name": None, **_given(one_line(_body(), ("name",)), PROPERTY_FIELDS)})
    return _written(_property(prop, units=[]), 201, url_for("api.get_property", property_id=prop.id, _external=True))


@blueprint.get("/properties/<int:property_id>")
def get_property(property_id: int):
    prop = portfolio.own_property(g.actor, property_id)
    return jsonify(_property(prop, units=[row.unit for row in portfolio.units_of(prop)]))


@blueprint.patch("/properties/<int:property_id>")
@unit_of_work
def update_property(property_id: int):
    prop = portfolio.own_property(g.actor, property_id)
    portfolio.edit_property(g.actor, prop, **_given(one_line(_body(), ("name",)), PROPERTY_FIELDS))
    return _written(_property(prop, units=[row.unit for row in portfolio.units_of(prop)]))


@blueprint.post("/properties/<int:property_id>/archive")
@unit_of_work
def archive_property(property_id: int):
    prop = portfolio.archive_property(g.actor, portfolio.own_property(g.actor, property_id))
    return _written(_property(prop, units=[row.unit for row in portfolio.units_of(prop)]))


@blueprint.post("/properties/<int:property_id>/restore")
@unit_of_work
def restore_property(property_id: int):
    prop = portfolio.restore_property(g.actor, portfolio.own_property(g.actor, property_id))
    return _written(_property(prop, units=[row.unit for row in portfolio.units_of(prop)]))


# Units -------------------------------------------------------------------------------------------

@blueprint.get("/properties/<int:property_id>/units")
def list_units(property_id: int):
    prop = portfolio.own_property(g.actor, property_id)
    return jsonify(units=[_unit(row.unit, row.residents) for row in portfolio.units_of(prop)])


@blueprint.post("/properties/<int:property_id>/units")
@unit_of_work
def create_unit(property_id: int):
    prop = portfolio.own_property(g.actor, property_id)
    unit = portfolio.add_unit(g.actor, prop, _body().get("label"))
    return _written(_unit(unit, []), 201, url_for("api.get_unit", property_id=prop.id, unit_id=unit.id,
                                                  _external=True))


def _own_unit(property_id: int, unit_id: int) -> Unit:
    return portfolio.own_unit(g.actor, portfolio.own_property(g.actor, property_id), unit_id)


def _unit_now(unit: Unit) -> dict:
    return next(_unit(row.unit, row.residents) for row in portfolio.units_of(unit.property) if row.unit.id == unit.id)


@blueprint.get("/properties/<int:property_id>/units/<int:unit_id>")
def get_unit(property_id: int, unit_id: int):
    return jsonify(_unit_now(_own_unit(property_id, unit_id)))


@blueprint.patch("/properties/<int:property_id>/units/<int:unit_id>")
@unit_of_work
def update_unit(property_id: int, unit_id: int):
    unit = _own_unit(property_id, unit_id)
    body = _body()
    if "label" in body:
        portfolio.rename_unit(g.actor, unit, body["label"])
    return _written(_unit_now(unit))


@blueprint.post("/properties/<int:property_id>/units/<int:unit_id>/archive")
@unit_of_work
def archive_unit(property_id: int, unit_id: int):
    unit = portfolio.archive_unit(g.actor, _own_unit(property_id, unit_id))
    return _written(_unit_now(unit))


@blueprint.post("/properties/<int:property_id>/units/<int:unit_id>/restore")
@unit_of_work
def restore_unit(property_id: int, unit_id: int):
    unit = portfolio.restore_unit(g.actor, _own_unit(property_id, unit_id))
    return _written(_unit_now(unit))


# Residents ---------------------------------------------------------------------------------------

@blueprint.get("/residents")
def list_residents():
    property_id = None
    if "property_id" in request.args:
        property_id = portfolio.own_property(g.actor, _whole("property_id", 1, 1, MAX_ID)).id
    page = portfolio.residents_page(g.actor.company_id, property_id=property_id, **_listing())
    return jsonify(residents=[_resident(row.resident, row.unit_label, row.property_id, row.property_name)
                              for row in page.rows], page=page.page, pages=page.pages, total=page.total)


@blueprint.post("/residents")
@unit_of_work
def create_resident():
    body = one_line(_body())
    resident = _in_api_words(portfolio.add_resident, g.actor, **{"name": None, **_given(body, RESIDENT_FIELDS)},
                             **_place(body))
    return _written(_resident(resident), 201, url_for("api.get_resident", resident_id=resident.id, _external=True))


@blueprint.get("/residents/<int:resident_id>")
def get_resident(resident_id: int):
    return jsonify(_resident(portfolio.own_resident(g.actor, resident_id)))


@blueprint.patch("/residents/<int:resident_id>")
@unit_of_work
def update_resident(resident_id: int):
    resident = portfolio.own_resident(g.actor, resident_id)
    body = one_line(_body())
    _in_api_words(portfolio.edit_resident, g.actor, resident, **_given(body, RESIDENT_FIELDS), **_place(body))
    return _written(_resident(resident))


@blueprint.post("/residents/<int:resident_id>/archive")
@unit_of_work
def archive_resident(resident_id: int):
    return _written(_resident(portfolio.archive_resident(g.actor, portfolio.own_resident(g.actor, resident_id))))


@blueprint.post("/residents/<int:resident_id>/restore")
@unit_of_work
def restore_resident(resident_id: int):
    return _written(_resident(portfolio.restore_resident(g.actor, portfolio.own_resident(g.actor, resident_id))))
