"""The JSON API's portfolio as a property-management system uses it: add a property, its units and
residents, find and change them, archive them; another company's rows are never found, and bad input
gets a clear JSON error and changes nothing."""
from __future__ import annotations

import openapi_schema_validator
import pytest
from sqlalchemy import func, select

from resolver.extensions import db
from resolver.models import CompanyEvent, Dispute, Property, Resident, Unit
from resolver.web.api.keys import create_api_key

@pytest.fixture
def company(make_company):
    """A company set up but for its portfolio, which these tests build themselves."""
    return make_company(with_property=False)


class Api:
    def __init__(self, client, key):
        self.client, self.headers = client, {"Authorization": f"Bearer {key}"}

    def get(self, path, **kw):
        return self.client.get(f"/api/v1{path}", headers=self.headers, **kw)

    def post(self, path, body=None, **kw):
        return self.client.post(f"/api/v1{path}", json=body, headers=self.headers, **kw)

    def patch(self, path, body, **kw):
        return self.client.patch(f"/api/v1{path}", json=body, headers=self.headers, **kw)


@pytest.fixture
def api(app, supervisor, manager):
    _, key = create_api_key(supervisor, name="AppFolio sync", acting_user=manager)
    db.session.commit()
    return Api(app.test_client(), key)


def counts():
    return tuple(db.session.scalar(select(func.count(model.id))) for model in (Property, Unit, Resident, CompanyEvent))


def test_a_system_adds_a_property_its_unit_and_a_resident_then_opens_a_dispute_there(app, api, client):
    response = api.post("/properties", {"name": "Maple Court", "address": "12 Maple St", "portfolio": "North",
                                        "external_id": "P-100"})
    assert response.status_code == 201, response.get_json()
    prop = response.get_json()
    assert response.headers["Location"] == prop["url"] and prop["url"].endswith(f"/api/v1/properties/{prop['id']}")
    assert (prop["name"], prop["is_archived"], prop["archived"], prop["units"]) == ("Maple Court", False, None, [])

    unit = api.post(f"/properties/{prop['id']}/units", {"label": "3F"})
    assert unit.status_code == 201 and unit.get_json()["label"] == "3F"
    assert api.get(unit.headers["Location"].split("/api/v1")[1]).get_json() == {**unit.get_json(), "resident_ids": []}
    resident = api.post("/residents", {"name": "Dana Okafor", "email": "Dana@Mail.test", "phone": "303-555-0101",
                                       "preferred_language": "es", "external_id": "L-1", "property_id": prop["id"],
                                       "unit": "3F"})
    assert resident.status_code == 201, resident.get_json()
    dana = resident.get_json()
    assert (dana["email"], dana["preferred_language"], dana["unit"], dana["property"], dana["unit_id"]) == (
        "dana@mail.test", "es", "3F", "Maple Court", unit.get_json()["id"])
    assert api.get(f"/properties/{prop['id']}/units").get_json()["units"][0]["resident_ids"] == [dana["id"]]

    opened = api.post("/disputes", {"resident": {"id": dana["id"]}, "property_id": prop["id"], "unit": "3F",
                                    "issue": "The carpet cleaning charge.", "open": False})
    assert opened.status_code == 201 and opened.get_json()["unit"] == "3F"

    events = db.session.scalars(select(CompanyEvent).order_by(CompanyEvent.id)).all()
    assert [e.action for e in events if e.action != "api_key_created"] == [
        "property_added", "unit_added", "resident_added"]
    assert all("via API key “AppFolio sync”" in e.actor_label for e in events if e.action != "api_key_created")

    doc = client.get("/api/v1/openapi.json").get_json()
    for body, ref in ((api.get(f"/properties/{prop['id']}").get_json(), "Property"),
                      (api.get(f"/residents/{dana['id']}").get_json(), "Resident"),
                      (api.get(f"/properties/{prop['id']}/units").get_json()["units"][0], "Unit")):
        openapi_schema_validator.validate(body, {"$ref": f"#/components/schemas/{ref}",
                                                 "components": doc["components"]})


def test_listing_searches_and_pages(app, api, company):
    for n in range(5):
        api.post("/properties", {"name": f"Court {n}", "address": f"{n} Elm Rd", "external_id": f"P-{n}"})
    body = api.get("/properties?per_page=2&page=3").get_json()
    assert (body["total"], body["pages"], body["page"], [p["name"] for p in body["properties"]]) == (
        5, 3, 3, ["Court 4"])
    assert [p["name"] for p in api.get("/properties?q=3 elm").get_json()["properties"]] == ["Court 3"]
    assert [p["name"] for p in api.get("/properties?q=p-2").get_json()["properties"]] == ["Court 2"]
    first = api.get("/properties?q=Court 0").get_json()["properties"][0]
    api.post(f"/properties/{first['id']}/archive")
    assert api.get("/properties").get_json()["total"] == 4
    assert [p["name"] for p in api.get("/properties?status=archived").get_json()["properties"]] == ["Court 0"]
    api.post("/residents", {"name": "Dana", "email": "dana@mail.test", "property_id": first["id"] + 1, "unit": "1A"})
    api.post("/residents", {"name": "Lee", "email": "lee@mail.test"})
    assert [r["name"] for r in api.get("/residents?q=dana@").get_json()["residents"]] == ["Dana"]
    assert [r["name"] for r in api.get(f"/residents?property_id={first['id'] + 1}").get_json()["residents"]] == ["Dana"]
    assert api.get("/residents").get_json()["total"] == 2


def test_changing_sends_only_what_changes_and_moves_a_resident(app, api):
    prop = api.post("/properties", {"name": "Maple Court", "address": "12 Maple St"}).get_json()
    changed = api.patch(f"/properties/{prop['id']}", {"portfolio": "South"}).get_json()
    assert (changed["name"], changed["address"], changed["portfolio"]) == ("Maple Court", "12 Maple St", "South")
    dana = api.post("/residents", {"name": "Dana", "property_id": prop["id"], "unit": "3F"}).get_json()
    moved = api.patch(f"/residents/{dana['id']}", {"unit": "4A", "phone": "303-555-0199"}).get_json()
    assert (moved["unit"], moved["property_id"], moved["phone"], moved["name"]) == ("4A", prop["id"], "303-555-0199",
                                                                                    "Dana")
    out = api.patch(f"/residents/{dana['id']}", {"property_id": None, "unit": None}).get_json()
    assert (out["unit"], out["unit_id"], out["property_id"]) == (None, None, None)
    unit = api.get(f"/properties/{prop['id']}").get_json()["units"][0]
    renamed = api.patch(f"/properties/{prop['id']}/units/{unit['id']}", {"label": "3G"})
    assert renamed.status_code == 200 and renamed.get_json()["label"] == "3G"


def test_archiving_and_restoring(app, api):
    prop = api.post("/properties", {"name": "Maple Court"}).get_json()
    dana = api.post("/residents", {"name": "Dana", "property_id": prop["id"], "unit": "3F"}).get_json()
    archived = api.post(f"/properties/{prop['id']}/archive").get_json()
    assert archived["is_archived"] and archived["archived"] and all(u["is_archived"] for u in archived["units"])
    assert api.get(f"/residents/{dana['id']}").get_json()["is_archived"]
    unit_id = archived["units"][0]["id"]
    refused = api.post(f"/properties/{prop['id']}/units/{unit_id}/restore")
    assert refused.status_code == 409 and "Maple Court is archived. Restore it first." == refused.get_json()["message"]
    refused = api.post(f"/residents/{dana['id']}/restore")
    assert refused.status_code == 409 and refused.get_json()["error"] == "WrongState"
    refused = api.post("/disputes", {"resident": {"id": dana["id"]}, "issue": "x"})
    assert refused.status_code == 422 and "Dana is archived" in refused.get_json()["message"]
    restored = api.post(f"/properties/{prop['id']}/restore").get_json()
    assert not restored["is_archived"] and not api.get(f"/residents/{dana['id']}").get_json()["is_archived"]
    gone = api.post(f"/residents/{dana['id']}/archive").get_json()
    assert gone["is_archived"]


def test_another_companys_rows_are_not_found_and_nothing_changes(app, api, make_company, make_resident):
    theirs = make_resident(make_company(), name="Pat Other")
    prop_id, unit_id = theirs.unit.property_id, theirs.unit_id
    db.session.commit()
    before = counts()
    for response in (
        api.get(f"/properties/{prop_id}"), api.patch(f"/properties/{prop_id}", {"name": "Mine"}),
        api.post(f"/properties/{prop_id}/archive"), api.get(f"/properties/{prop_id}/units"),
        api.post(f"/properties/{prop_id}/units", {"label": "9Z"}),
        api.patch(f"/properties/{prop_id}/units/{unit_id}", {"label": "9Z"}),
        api.get(f"/residents/{theirs.id}"), api.patch(f"/residents/{theirs.id}", {"name": "Mine"}),
        api.post(f"/residents/{theirs.id}/archive"), api.get(f"/residents?property_id={prop_id}"),
    ):
        assert response.status_code == 404, response.request.path
        assert response.get_json()["error"] == "NotFound" and "in your company" in response.get_json()["message"]
    missing = api.get("/properties/999999").get_json()
    assert missing["message"] == "There is no property 999999 in your company."
    assert api.get(f"/properties/{prop_id}").get_json()["message"] == f"There is no property {prop_id} in your company."
    moved = api.post("/residents", {"name": "Sneaky", "property_id": prop_id, "unit": "1A"})
    assert moved.status_code == 422 and moved.get_json()["field"] == "property_id"
    assert "Pat Other" not in str(api.get("/residents?q=pat&status=all").get_json())
    assert api.get("/properties/99999999999999").get_json()["message"] == "There is no such property in your company."
    assert counts() == before


@pytest.mark.parametrize(("path", "body", "field", "message"), [
    ("/properties", {}, "name", "Give the property's name"),
    ("/properties", {"name": "   "}, "name", "Give the property's name"),
    ("/properties", {"name": 12}, "name", "The name must be text."),
    ("/properties", {"name": "Maple Court"}, "name", "You already have a property called “Maple Court”"),
    ("/properties", {"name": "Elm", "external_id": "P-100"}, "external_id", "Maple Court already has the external id"),
    ("/properties", {"name": "x" * 201}, "name", "at most 200 characters"),
    ("/properties", {"name": "Bad\u0000name"}, "name", "control character"),
    ("/residents", {"name": "Pat", "email": "pat at mail"}, "email", "is not an email address"),
    ("/residents", {"name": "Pat", "preferred_language": "klingon"}, "preferred_language", "Choose the resident's"),
    ("/residents", {"name": "Pat", "preferred_language": ["es"]}, "preferred_language", "Choose the resident's"),
    ("/residents", {"name": "Pat", "unit": "3F"}, "property_id", "Choose the property the unit is in"),
    ("/residents", {"name": "Pat", "property_id": "1", "unit": "3F"}, "property_id", "whole number"),
    ("/residents", {"name": "Pat", "property_id": 2**40, "unit": "3F"}, "property_id", "There is no property"),
    ("/residents", {"name": "Pat", "unit": 5, "property_id": None}, "unit", "must be text"),
    ("/residents", {"name": "Pat", "external_id": "l-1"}, "external_id", "Dana already has the external id"),
])
def test_bad_input_gets_a_clear_json_error_and_changes_nothing(app, api, path, body, field, message):
    prop = api.post("/properties", {"name": "Maple Court", "external_id": "P-100"}).get_json()
    api.post("/residents", {"name": "Dana", "external_id": "L-1", "property_id": prop["id"], "unit": "3F"})
    before = counts()
    response = api.post(path, body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["field"] == field and message in response.get_json()["message"], response.get_json()
    assert counts() == before


def test_bad_requests_on_lists_and_changes(app, api):
    prop = api.post("/properties", {"name": "Maple Court"}).get_json()
    unit = api.post(f"/properties/{prop['id']}/units", {"label": "3F"}).get_json()
    for path, field in (("/properties?page=0", "page"), ("/properties?per_page=500", "per_page"),
                        ("/residents?status=gone", "status"), ("/residents?property_id=x", "property_id")):
        response = api.get(path)
        assert response.status_code == 422 and response.get_json()["field"] == field, path
    before = counts()
    assert api.patch(f"/properties/{prop['id']}", {"name": ""}).get_json()["field"] == "name"
    assert api.post(f"/properties/{prop['id']}/units", {"label": "3f"}).get_json()["message"] == (
        "Maple Court already has a unit 3F.")
    assert api.patch(f"/properties/{prop['id']}/units/{unit['id']}", {"label": ""}).status_code == 422
    not_json = api.client.patch(f"/api/v1/properties/{prop['id']}", data="name=x", headers={
        **api.headers, "Content-Type": "text/plain"})
    assert not_json.status_code == 422 and "JSON object" in not_json.get_json()["message"]
    assert counts() == before
    assert db.session.scalar(select(func.count(Dispute.id))) == 0
