"""The OpenAPI 3.1 description of the JSON API, served at /api/v1/openapi.json."""
from __future__ import annotations

from ...money import TOO_LARGE_CENTS
from ...workflow.definition import Decision, load_definition
from .openapi_portfolio import portfolio_paths, portfolio_schemas


def openapi_document(server_url: str) -> dict:
    workflow = load_definition("dispute")
    states = list(workflow.states)
    error = {"$ref": "#/components/schemas/Error"}
    errors = {
        "401": {"description": "No key, or a key that is not valid or was revoked.",
                "content": {"application/json": {"schema": error}}},
        "422": {"description": "Bad input; nothing was changed.", "content": {"application/json": {"schema": error}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Resolver API",
            "version": "1",
            "description": "Open resolution-team disputes from a property-management system, read their "
                           "state and deadlines, and keep the company's properties, units and residents in "
                           "step. Authenticate with a company API key (Settings → API keys) as "
                           "`Authorization: Bearer rsv_…`. A key sees only its own company's disputes.",
        },
        "servers": [{"url": server_url}],
        "security": [{"apiKey": []}],
        "paths": {
            "/disputes": {
                "get": {
                    "operationId": "listDisputes",
                    "summary": "List disputes, nearest deadline first (50 a page)",
                    "parameters": [
                        {"name": "state", "in": "query", "schema": {"type": "string", "enum": ["", "all", *states]},
                         "description": "Empty (the default): every open dispute; `all`: closed ones too."},
                        {"name": "q", "in": "query", "schema": {"type": "string"},
                         "description": "Part of the resident's name or the unit."},
                        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                    ],
                    "responses": {
                        "200": {"description": "A page of disputes", "content": {"application/json": {"schema": {
                            "type": "object",
                            "properties": {
                                "disputes": {"type": "array", "items": {"$ref": "#/components/schemas/DisputeSummary"}},
                                "page": {"type": "integer"}, "pages": {"type": "integer"},
                                "total": {"type": "integer"},
                            }}}}},
                        **errors,
                    },
                },
                "post": {
                    "operationId": "openDispute",
                    "summary": "Open a dispute and invite the resident to send their side",
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/NewDispute"}}}},
                    "responses": {
                        "201": {"description": "Created (and opened unless `open` was false)",
                                "headers": {"Location": {"schema": {"type": "string"}}},
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Dispute"}}}},
                        "403": {"description": "NotReady: the company is not set up to promise the resident a "
                                               "resolution team (too few people on its roster) or a supervisor to "
                                               "turn to; the message says what is missing and where a supervisor "
                                               "fixes it. Nothing was created or sent.",
                                "content": {"application/json": {"schema": error}}},
                        "409": {"description": "The dispute cannot be opened, e.g. the resident has no email.",
                                "content": {"application/json": {"schema": error}}},
                        **errors,
                    },
                },
            },
            "/disputes/{dispute_id}": {
                "get": {
                    "operationId": "getDispute",
                    "summary": "A dispute's state, deadlines and what can happen next",
                    "parameters": [{"name": "dispute_id", "in": "path", "required": True,
                                    "schema": {"type": "integer", "minimum": 1}}],
                    "responses": {
                        "200": {"description": "The dispute",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Dispute"}}}},
                        "404": {"description": "No such dispute in this key's company.",
                                "content": {"application/json": {"schema": error}}},
                        **errors,
                    },
                },
            },
            "/categories": {
                "get": {
                    "operationId": "listCategories",
                    "summary": "The dispute categories a new dispute may name",
                    "description": "The company's categories offered for new disputes (Resolver's own, as the "
                                   "company words them, and those it added in Settings; archived ones are left "
                                   "out). Send a category's `key` as a new dispute's `category`.",
                    "responses": {
                        "200": {"description": "The categories, in the order staff see them", "content": {
                            "application/json": {"schema": {"type": "object", "properties": {"categories": {
                                "type": "array", "items": {"type": "object", "properties": {
                                    "key": {"type": "string", "examples": ["deposit"]},
                                    "label": {"type": "string", "examples": ["Security deposit deduction"]}}}}}}}}},
                        **errors,
                    },
                },
            },
            **portfolio_paths(errors, error),
        },
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer", "bearerFormat": "rsv_…"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error", "message"], "properties": {
                    "error": {"type": "string"}, "message": {"type": "string"},
                    "field": {"type": "string"}, "allowed": {"type": "array", "items": {"type": "string"}}}},
                "Deadline": {"type": "object", "properties": {
                    "window": {"type": "string", "enum": list(workflow.windows)},
                    "due": {"type": "string", "format": "date-time"}, "is_running": {"type": "boolean"},
                    "time_left": {"type": "string", "examples": ["due in 2 days", "overdue by 5 hours"]},
                    "is_overdue": {"type": "boolean"}, "is_breached": {"type": "boolean"}}},
                "DisputeSummary": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "url": {"type": "string"},
                    "state": {"type": "string", "enum": states}, "state_label": {"type": "string"},
                    "version": {"type": "integer"},
                    "category": {"type": "string", "examples": ["deposit"],
                                 "description": "The key of the dispute's category (see `GET /categories`). "
                                                "Disputes opened before categories existed may hold the text "
                                                "typed then."},
                    "resident_id": {"type": "integer"}, "unit_id": {"type": ["integer", "null"]},
                    "manager_id": {"type": "integer"}, "created": {"type": "string", "format": "date-time"},
                    "next_due": {"type": ["string", "null"], "format": "date-time"}}},
                "Dispute": {"allOf": [{"$ref": "#/components/schemas/DisputeSummary"}, {"type": "object", "properties": {
                    "resident": {"type": "object"}, "property": {"type": ["object", "null"]},
                    "unit": {"type": ["string", "null"]}, "manager": {"type": "object"},
                    "issue": {"type": "string"}, "what_was_fixed": {"type": "string"},
                    "company_position": {"type": "string"},
                    "category_label": {"type": "string", "description": "The category's name, as the company "
                                                                         "words it."},
                    "items": {"type": "array", "items": {"type": "object"}},
                    "decision": {"type": ["string", "null"], "enum": [*map(str, Decision), None]},
                    "deadlines": {"type": "array", "items": {"$ref": "#/components/schemas/Deadline"}},
                    "allowed": {"type": "array", "items": {"type": "string"}}}}]},
                "NewDispute": {"type": "object", "required": ["resident", "issue"], "properties": {
                    "resident": {"oneOf": [
                        {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}},
                        {"type": "object", "required": ["name", "email"], "properties": {
                            "name": {"type": "string"}, "email": {"type": "string", "format": "email"},
                            "phone": {"type": "string"}}}]},
                    "property_id": {"type": "integer"}, "unit": {"type": "string", "examples": ["4B"]},
                    "issue": {"type": "string", "description": "As the resident describes it."},
                    "what_was_fixed": {"type": "string"}, "company_position": {"type": "string"},
                    "category": {"type": "string", "examples": ["deposit"],
                                 "description": "A category's key from `GET /categories` (it decides how the "
                                                "letter speaks of the matter and of money given back). For "
                                                "older clients its name or another usual name for it (\"late "
                                                "fee\", \"security deposit\") is read as that key. Left out: "
                                                "`other`. Anything else is refused with 422, `field: "
                                                "category`, and `allowed` listing the keys."},
                    "manager_id": {"type": "integer"},
                    "items": {"type": "array", "items": {"type": "object", "required": ["description"], "properties": {
                        "description": {"type": "string"}, "amount_cents": {"type": "integer", "minimum": 0, "maximum": TOO_LARGE_CENTS - 1},
                        "company_reason": {"type": "string"}}}},
                    "open": {"type": "boolean", "default": True,
                             "description": "false keeps it a draft; nothing is sent."}}},
                **portfolio_schemas(),
            },
        },
    }
