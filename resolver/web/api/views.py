"""The JSON API for property-management systems: open a dispute, read its state and deadlines, list them.

Every request but the OpenAPI document carries a company API key. A key sees only its own
company's disputes; anything else is "not found". Errors are JSON with a message a person can read.
Opening a dispute is one unit of work: the resident, the dispute and its invitation, or nothing.
"""
from __future__ import annotations

from flask import g, jsonify, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from ...clock import now_utc
from ...errors import DomainError, InvalidInput, NotFound
from ...extensions import csrf, db
from ...models import Company, Dispute, StaffUser
from ...money import TOO_LARGE_CENTS, check_cents
from ...presentation import time_left
from ...text import ascii_whole_number
from ...services.access import dispute_for
from ...services.categories import categories_of, phrases_of
from ...services.disputes import create_dispute, open_dispute
from ...services.people import NewResident, find_or_add_resident
from ...workflow.engine import dispute_engine
from ..errors import missing_page
from ..manager import queries
from ..manager.forms import MAX_ID, has_id_beyond_range
from ..unit_of_work import unit_of_work
from . import blueprint
from .body import check_body, one_line
from .keys import actor_for, key_from_request
from .openapi import openapi_document

PUBLIC_ENDPOINTS = {"api.openapi", "api.docs"}
MAX_PAGE_SIZE = 200
MAX_AMOUNT_CENTS = TOO_LARGE_CENTS - 1  # just under ten million dollars, as the manager's form allows

csrf.exempt(blueprint)  # no cookies here: a request proves itself with its key, not a session


@blueprint.before_request
def require_key():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    g.api_key = key_from_request()
    g.actor = actor_for(g.api_key)
    if has_id_beyond_range(request.view_args):
        what = next(name for name, value in request.view_args.items() if isinstance(value, int) and value > MAX_ID)
        raise NotFound(f"There is no such {what.removesuffix('_id')} in your company.")
    return None


blueprint.before_request(check_body)  # after the key: a stranger's body is not read at all


@blueprint.errorhandler(DomainError)
def domain_error(error: DomainError):
    db.session.rollback()
    body = {"error": type(error).__name__, "message": error.message}
    if error.allowed:
        body["allowed"] = error.allowed
    if getattr(error, "field", None):
        body["field"] = error.field
    response = jsonify(body)
    if error.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="resolver"'
    return response, error.status_code


@blueprint.errorhandler(HTTPException)
def http_error(error: HTTPException):
    response = jsonify(error=error.name.replace(" ", ""), message=error.description)
    response.status_code = error.code
    allow = error.get_response().headers.get("Allow")
    if allow:
        response.headers["Allow"] = allow
    return response


@blueprint.app_errorhandler(404)
@blueprint.app_errorhandler(405)
def unrouted(error: HTTPException):
    """A URL under /api/ that matches no endpoint (``/disputes/abc``) is answered in JSON too; any other, with
    Resolver's own page."""
    if request.path.startswith("/api/"):
        return http_error(error)
    return missing_page(error)


@blueprint.get("/openapi.json")
def openapi():
    return jsonify(openapi_document(url_for("api.list_disputes", _external=True).rsplit("/disputes", 1)[0]))


@blueprint.get("/")
def docs():
    """The API described for people, from the same document machines read."""
    base = url_for("api.list_disputes", _external=True).rsplit("/disputes", 1)[0]
    return render_template("api/docs.html", doc=openapi_document(base))


# Reading ------------------------------------------------------------------------------------------

def _deadlines(dispute: Dispute) -> list[dict]:
    now = now_utc()
    rows = []
    for window in dispute_engine.definition.windows.values():
        due = getattr(dispute, window.due_column)
        if due is None:
            continue
        rows.append({
            "window": window.name,
            "due": due.isoformat(),
            "is_running": dispute.state in window.active_in,
            "time_left": time_left(due, now),
            "is_overdue": dispute.state in window.active_in and due < now,
            "is_breached": window.name == "reply" and dispute.reply_breached_dt is not None,
        })
    return rows


def _summary(dispute: Dispute, next_due=None) -> dict:
    return {
        "id": dispute.id,
        "url": url_for("api.get_dispute", dispute_id=dispute.id, _external=True),
        "state": dispute.state,
        "state_label": dispute.state_label,
        "version": dispute.version,
        "category": dispute.category,
        "resident_id": dispute.resident_id,
        "unit_id": dispute.unit_id,
        "manager_id": dispute.manager_id,
        "created": dispute.created_dt.isoformat(),
        "next_due": next_due.isoformat() if next_due else None,
    }


def _detail(dispute: Dispute) -> dict:
    unit = dispute.unit
    return {
        **_summary(dispute),
        "resident": {"id": dispute.resident.id, "name": dispute.resident.name, "email": dispute.resident.email},
        "property": {"id": unit.property.id, "name": unit.property.name} if unit else None,
        "unit": unit.label if unit else None,
        "manager": {"id": dispute.manager.id, "name": dispute.manager.name, "email": dispute.manager.email},
        "issue": dispute.issue,
        "what_was_fixed": dispute.what_was_fixed,
        "company_position": dispute.company_position,
        "category_label": phrases_of(dispute).label,
        "items": [{"description": i.description, "amount_cents": i.amount_cents, "company_reason": i.company_reason,
                   "decision": i.decision, "granted_cents": i.granted_cents} for i in dispute.items],
        "decision": dispute.decision,
        "deadlines": _deadlines(dispute),
        "allowed": dispute_engine.allowed(dispute),
    }


@blueprint.get("/disputes")
def list_disputes():
    args = request.args
    state = args.get("state", "")
    if state not in ("", "all") and state not in dispute_engine.definition.states:
        raise InvalidInput(f"There is no state {state!r}. Use one of: all, "
                           + ", ".join(dispute_engine.definition.states) + ".", field="state")
    page_number = ascii_whole_number(args.get("page", "1"), low=1, high=queries.MAX_PAGE)
    if page_number is None:
        raise InvalidInput(f"page is a whole number from 1 to {queries.MAX_PAGE:,}.", field="page")
    page = queries.dashboard(g.actor.company_id, queries.DashboardFilters(
        state=state, search=args.get("q", "")[:100], page=page_number))
    return jsonify(
        disputes=[_summary(row.dispute, row.next_due_dt) for row in page.rows],
        page=page.page, pages=page.pages, total=page.total,
    )


@blueprint.get("/disputes/<int:dispute_id>")
def get_dispute(dispute_id: int):
    return jsonify(_detail(dispute_for(g.actor, dispute_id)))


@blueprint.get("/categories")
def list_categories():
    """The categories a new dispute may name, by key, with the company's own names for them."""
    company = db.session.get(Company, g.actor.company_id)
    return jsonify(categories=[{"key": c.key, "label": c.label} for c in categories_of(company)])


# Opening ------------------------------------------------------------------------------------------

def _string(body: dict, name: str, *, limit: int = 20_000, required: bool = False) -> str:
    value = body.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string.", field=name)
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{name} is required.", field=name)
    if len(value) > limit:
        raise InvalidInput(f"{name} must be at most {limit:,} characters.", field=name)
    return value


def _whole_id(value, field: str) -> int:
    """An id as JSON sends it: a whole number that can name a row (else the row is simply not there)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(f"{field} must be a whole number.", field=field)
    if not 1 <= value <= MAX_ID:
        raise InvalidInput(f"There is no {field.removesuffix('_id')} {value} in your company.", field=field)
    return value


def _company_row(model, row_id, field: str):
    row = db.session.get(model, _whole_id(row_id, field))
    if row is None or row.company_id != g.actor.company_id:
        raise InvalidInput(f"There is no {field.removesuffix('_id')} {row_id} in your company.", field=field)
    return row


# The verb's field names are the manager's form's; a JSON client reads them as its own body's.
_BODY_FIELDS = {"new_name": "resident.name", "new_email": "resident.email", "unit_label": "unit"}


def _resident_and_unit(body: dict):
    given = body.get("resident")
    if not isinstance(given, dict):
        raise InvalidInput("resident is required: {\"id\": 12} or {\"name\": ..., \"email\": ...}.", field="resident")
    who = {}
    if "id" in given:
        who["resident_id"] = _whole_id(given["id"], "resident_id")
    else:
        given = one_line(given, within="resident.")
        who["new"] = NewResident(name=_string(given, "name", limit=200, required=True),
                                 email=_string(given, "email", limit=254, required=True),
                                 phone=_string(given, "phone", limit=40))
    if body.get("property_id") is not None:
        who["property_id"] = _whole_id(body["property_id"], "property_id")
        who["unit_label"] = _string(body, "unit", limit=40, required=True)
    try:
        return find_or_add_resident(g.actor, **who)
    except InvalidInput as refused:
        refused.field = _BODY_FIELDS.get(refused.field, refused.field)
        raise


def _items(body: dict) -> list[dict]:
    items = body.get("items") or []
    if not isinstance(items, list):
        raise InvalidInput("items must be a list.", field="items")
    parsed = []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidInput(f"items[{n}] must be an object.", field="items")
        amount = item.get("amount_cents", 0)
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise InvalidInput(f"items[{n}].amount_cents must be a whole number of cents from 0 to "
                               f"{MAX_AMOUNT_CENTS:,}.", field="items")
        parsed.append({"description": _string(item, "description", limit=300, required=True),
                       "amount_cents": check_cents(amount, field="items", label=f"items[{n}].amount_cents") or 0, "company_reason": _string(item, "company_reason", limit=5000)})
    return parsed


@blueprint.post("/disputes")
@unit_of_work
def create():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("Send a JSON object (Content-Type: application/json).")
    actor = g.actor
    manager = None
    if body.get("manager_id") is not None:
        manager = _company_row(StaffUser, body["manager_id"], "manager_id")
    is_open = body.get("open", True)
    if not isinstance(is_open, bool):
        raise InvalidInput("open must be true or false.", field="open")
    resident, unit = _resident_and_unit(body)
    dispute = create_dispute(
        actor, resident=resident, unit=unit, manager=manager,
        issue=_string(body, "issue", required=True), what_was_fixed=_string(body, "what_was_fixed"),
        company_position=_string(body, "company_position"), category=_string(body, "category", limit=80),
        items=_items(body),
    )
    if is_open:
        open_dispute(actor, dispute)
    g.api_key.last_used_dt = now_utc()
    response = jsonify(_detail(dispute))
    response.headers["Location"] = url_for("api.get_dispute", dispute_id=dispute.id, _external=True)
    return response, 201
