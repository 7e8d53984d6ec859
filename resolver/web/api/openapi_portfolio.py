"""The OpenAPI description of the portfolio's part of the JSON API: properties, their units, residents."""
from __future__ import annotations

from ...languages import LANGUAGES
from ...services.portfolio import MAX_PAGE_SIZE, PAGE_SIZE, STATUSES


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str, **extra) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}, **extra}


def _id(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}


LOCATION = {"Location": {"schema": {"type": "string"}}}
LISTING = [
    {"name": "q", "in": "query", "schema": {"type": "string"},
     "description": "Part of a name, address, unit label, email, phone or external id."},
    {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(STATUSES)},
     "description": "`active` (the default): not archived; `archived`; or `all`."},
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10**6}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
     "description": f"{PAGE_SIZE} by default."},
]


def _paths_for(plural: str, singular: str, kind: str, errors: dict, error: dict) -> dict:
    """The list, the one, and archiving and restoring it, for properties and residents alike."""
    missing = _json(error, f"No such {singular} in this key's company.")
    conflict = _json(error, "Not now: e.g. what it belongs to is archived; restore that first.")
    row_id = f"{singular}_id"
    extra = [{"name": "property_id", "in": "query", "schema": {"type": "integer", "minimum": 1},
              "description": "Only the residents of this property."}] if kind == "Resident" else []
    changed = {"200": _json(_ref(kind), f"The {singular} as it is now"), "404": missing, "409": conflict, **errors}
    return {
        f"/{plural}": {
            "get": {"operationId": f"list{kind}s", "summary": f"List and search {plural}, by name ({PAGE_SIZE} a page)",
                    "parameters": LISTING + extra,
                    "responses": {"200": _json({"type": "object", "properties": {
                        plural: {"type": "array", "items": _ref(kind)}, "page": {"type": "integer"},
                        "pages": {"type": "integer"}, "total": {"type": "integer"}}}, f"A page of {plural}"),
                        **({"404": _json(error, "No such property in this key's company.")} if extra else {}),
                        **errors}},
            "post": {"operationId": f"add{kind}", "summary": f"Add a {singular}",
                     "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(f"New{kind}")}}},
                     "responses": {"201": _json(_ref(kind), "Added", headers=LOCATION),
                                   "409": conflict, **errors}},
        },
        f"/{plural}/{{{row_id}}}": {
            "parameters": [_id(row_id)],
            "get": {"operationId": f"get{kind}", "summary": f"One {singular}",
                    "responses": {"200": _json(_ref(kind), f"The {singular}"), "404": missing, **errors}},
            "patch": {"operationId": f"change{kind}", "summary": f"Change a {singular}: only the fields sent change",
                      "requestBody": {"required": True, "content": {"application/json": {
                          "schema": _ref(f"{kind}Changes")}}},
                      "responses": changed},
        },
        f"/{plural}/{{{row_id}}}/archive": {
            "parameters": [_id(row_id)],
            "post": {"operationId": f"archive{kind}",
                     "summary": f"Archive a {singular}: no longer offered for new disputes"
                                + (" (with its units and their residents)" if kind == "Property" else ""),
                     "responses": changed}},
        f"/{plural}/{{{row_id}}}/restore": {
            "parameters": [_id(row_id)],
            "post": {"operationId": f"restore{kind}", "summary": f"Restore an archived {singular}",
                     "responses": changed}},
    }


def portfolio_paths(errors: dict, error: dict) -> dict:
    unit_paths = {"parameters": [_id("property_id"), _id("unit_id")]}
    missing = _json(error, "No such property, or no such unit at it, in this key's company.")
    conflict = _json(error, "Not now: the property is archived; restore it first.")
    changed = {"200": _json(_ref("Unit"), "The unit as it is now"), "404": missing, "409": conflict, **errors}
    return {
        **_paths_for("properties", "property", "Property", errors, error),
        "/properties/{property_id}/units": {
            "parameters": [_id("property_id")],
            "get": {"operationId": "listUnits", "summary": "A property's units, current ones first",
                    "responses": {"200": _json({"type": "object", "properties": {
                        "units": {"type": "array", "items": _ref("Unit")}}}, "The units"), "404": missing, **errors}},
            "post": {"operationId": "addUnit", "summary": "Add a unit to a property",
                     "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("UnitLabel")}}},
                     "responses": {"201": _json(_ref("Unit"), "Added", headers=LOCATION),
                                   "404": missing, "409": conflict, **errors}},
        },
        "/properties/{property_id}/units/{unit_id}": {
            **unit_paths,
            "get": {"operationId": "getUnit", "summary": "One unit, with its residents' ids",
                    "responses": {"200": _json(_ref("Unit"), "The unit"), "404": missing, **errors}},
            "patch": {"operationId": "renameUnit", "summary": "Rename a unit",
                      "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("UnitLabel")}}},
                      "responses": changed}},
        "/properties/{property_id}/units/{unit_id}/archive": {
            **unit_paths, "post": {"operationId": "archiveUnit", "summary": "Archive a unit, with its residents",
                                   "responses": changed}},
        "/properties/{property_id}/units/{unit_id}/restore": {
            **unit_paths, "post": {"operationId": "restoreUnit", "summary": "Restore an archived unit",
                                   "responses": changed}},
        **_paths_for("residents", "resident", "Resident", errors, error),
    }


def _text(limit: int, **extra) -> dict:
    return {"type": "string", "maxLength": limit, **extra}


ARCHIVED = {"is_archived": {"type": "boolean"}, "archived": {"type": ["string", "null"], "format": "date-time"}}
PROPERTY_FIELDS = {"name": _text(200, examples=["Maple Court"]), "address": _text(2000),
                   "portfolio": _text(120, description="The portfolio or owner group."),
                   "external_id": _text(80, description="Its id in the property-management system; unique.")}
LANGUAGE = {"type": "string", "enum": list(LANGUAGES),
            "description": "A language tag: " + ", ".join(f"`{tag}` {name}" for tag, name in LANGUAGES.items()) + "."}
RESIDENT_FIELDS = {
    "name": _text(200), "email": _text(254, description="Optional; checked when given. A dispute cannot be opened "
                                                        "without one."),
    "phone": _text(40), "preferred_language": LANGUAGE,
    "external_id": _text(80, description="The resident's or lease's id in the property-management system; unique."),
    "property_id": {"type": ["integer", "null"], "minimum": 1,
                    "description": "With `unit`: where they live (null: no unit on file)."},
    "unit": {"type": ["string", "null"], "maxLength": 40, "examples": ["4B"],
             "description": "The unit's label; a unit new to the property is added. Alone, another unit of the "
                            "same property."},
}


def portfolio_schemas() -> dict:
    return {
        "Unit": {"type": "object", "required": ["id", "property_id", "label", "is_archived"], "properties": {
            "id": {"type": "integer"}, "property_id": {"type": "integer"}, "label": {"type": "string"},
            "resident_ids": {"type": "array", "items": {"type": "integer"}}, **ARCHIVED}},
        "Property": {"type": "object", "required": ["id", "name", "is_archived"], "properties": {
            "id": {"type": "integer"}, "url": {"type": "string"},
            **{name: {"type": "string"} for name in PROPERTY_FIELDS}, **ARCHIVED,
            "units": {"type": "array", "items": _ref("Unit")}}},
        "Resident": {"type": "object", "required": ["id", "name", "is_archived"], "properties": {
            "id": {"type": "integer"}, "url": {"type": "string"}, "name": {"type": "string"},
            "email": {"type": "string"}, "phone": {"type": "string"}, "external_id": {"type": "string"},
            "preferred_language": {"type": "string", "description": LANGUAGE["description"]},
            "property_id": {"type": ["integer", "null"]}, "property": {"type": ["string", "null"]},
            "unit_id": {"type": ["integer", "null"]}, "unit": {"type": ["string", "null"]}, **ARCHIVED}},
        "NewProperty": {"type": "object", "required": ["name"], "properties": PROPERTY_FIELDS},
        "PropertyChanges": {"type": "object", "properties": PROPERTY_FIELDS},
        "UnitLabel": {"type": "object", "required": ["label"], "properties": {"label": _text(40, examples=["4B"])}},
        "NewResident": {"type": "object", "required": ["name"], "properties": RESIDENT_FIELDS},
        "ResidentChanges": {"type": "object", "properties": RESIDENT_FIELDS},
    }
