"""The JSON API as a property-management system uses it: a key, open a dispute, read it, list them."""
from __future__ import annotations

import re
from datetime import timedelta

import openapi_schema_validator
import openapi_spec_validator
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, positive_data_acceptance
from sqlalchemy import func, select

from resolver.extensions import db
from resolver.mail import send_pending
from resolver.models import ApiKey, AuditEvent, Dispute, OutboxEmail, Property, Resident, Unit
from resolver.web.api.keys import create_api_key, revoke_api_key


@pytest.fixture
def api(app, supervisor, manager):
    """A client that sends the company's API key."""
    _, key = create_api_key(supervisor, name="AppFolio sync", acting_user=manager)
    db.session.commit()
    client = app.test_client()

    class Api:
        raw_key = key

        def get(self, path, **kw):
            return client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {key}"}, **kw)

        def post(self, path, body, **kw):
            return client.post(f"/api/v1{path}", json=body, headers={"Authorization": f"Bearer {key}"}, **kw)

    return Api()


def test_keys_are_kept_only_as_a_hash(app, api):
    row = db.session.scalars(select(ApiKey)).one()
    assert api.raw_key.startswith("rsv_") and len(api.raw_key) > 40
    assert api.raw_key not in (row.key_hash, row.prefix) and len(row.key_hash) == 64
    assert api.raw_key[4:12] == row.prefix


def test_opening_a_dispute_for_a_new_resident(app, api, company, manager, smtp):
    prop = Property(company_id=company.id, name="Aspen Court")
    db.session.add(prop)
    db.session.commit()
    response = api.post("/disputes", {
        "resident": {"name": "Dana Okafor", "email": "dana@mail.test"},
        "property_id": prop.id, "unit": "7C",
        "issue": "The carpet cleaning charge is unfair.", "category": "deposit",
        "items": [{"description": "Carpet cleaning", "amount_cents": 15000, "company_reason": "Stains"}],
    })
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/disputes/{body['id']}")
    assert body["state"] == "awaiting_evidence" and body["unit"] == "7C"
    assert body["items"][0]["amount_cents"] == 15000
    [deadline] = body["deadlines"]
    assert deadline["window"] == "evidence" and deadline["is_running"] and deadline["time_left"].startswith("due in")
    assert "withdraw" in body["allowed"]
    dispute = db.session.get(Dispute, body["id"])
    assert dispute.manager_id == manager.id  # the key acts for this manager
    labels = db.session.scalars(select(AuditEvent.actor_label).where(AuditEvent.dispute_id == dispute.id)).all()
    assert all("via API key “AppFolio sync”" in label for label in labels)
    assert send_pending() == 1 and smtp.to("dana@mail.test")


def test_reading_a_dispute_and_its_deadlines(app, api, make_dispute, frozen_clock):
    dispute = make_dispute("evidence_received")
    db.session.commit()
    frozen_clock.advance(timedelta(days=9))
    body = api.get(f"/disputes/{dispute.id}").get_json()
    assert body["state"] == "evidence_received" and body["state_label"] == "resident's side received"
    reply = next(d for d in body["deadlines"] if d["window"] == "reply")
    assert reply["is_running"] and reply["is_overdue"] and reply["time_left"].startswith("overdue by")
    assert body["resident"]["name"] == "Tammy Rivera"


def test_listing_is_nearest_deadline_first_and_paged(app, api, make_dispute, frozen_clock):
    later = make_dispute("awaiting_evidence")
    frozen_clock.advance(timedelta(days=-1))
    sooner = make_dispute("awaiting_evidence")
    draft = make_dispute("draft")
    db.session.commit()
    body = api.get("/disputes").get_json()
    assert [d["id"] for d in body["disputes"]] == [sooner.id, later.id, draft.id]
    assert body["total"] == 3 and body["page"] == 1 and body["pages"] == 1
    assert api.get("/disputes?state=draft").get_json()["total"] == 1


def test_bad_input_gets_a_clear_json_error_and_changes_nothing(app, api, make_company, make_resident, resident):
    stranger = make_resident(make_company())
    db.session.commit()
    before = (db.session.scalar(select(func.count(Dispute.id))), db.session.scalar(select(func.count(Resident.id))),
              db.session.scalar(select(func.count(OutboxEmail.id))))
    cases = [
        ({"issue": "x"}, "resident is required"),
        ({"resident": {"id": stranger.id}, "issue": "x"}, "no resident"),
        ({"resident": {"id": "12"}, "issue": "x"}, "whole number"),
        ({"resident": {"id": resident.id}, "issue": ""}, "issue is required"),
        ({"resident": {"id": resident.id}, "issue": "x", "items": [{"description": "a", "amount_cents": -1}]},
         "items[0].amount_cents cannot be negative"),
        ({"resident": {"id": resident.id}, "issue": "x", "items": [{"description": "a", "amount_cents": "150"}]},
         "whole number of cents from 0 to 999,999,999"),
        ({"resident": {"id": resident.id}, "issue": "x",
          "items": [{"description": "a", "amount_cents": 1_000_000_000}]}, "items[0].amount_cents is too large"),
        ({"resident": {"id": resident.id}, "issue": "x", "items": [{"description": "a", "amount_cents": 1.5}]},
         "whole number of cents"),
        ({"resident": {"name": "New", "email": "nope"}, "issue": "x"}, "not an email address"),
        ({"resident": {"id": resident.id}, "issue": "x", "property_id": 999999, "unit": "1"}, "no property"),
        ({"resident": {"id": resident.id}, "issue": "x", "open": "yes"}, "true or false"),
    ]
    for body, message in cases:
        response = api.post("/disputes", body)
        assert response.status_code == 422, body
        assert message in response.get_json()["message"], (body, response.get_json())
    response = api.post("/disputes", None, data="not json", content_type="text/plain")
    assert response.status_code == 422
    after = (db.session.scalar(select(func.count(Dispute.id))), db.session.scalar(select(func.count(Resident.id))),
             db.session.scalar(select(func.count(OutboxEmail.id))))
    assert after == before
    assert api.get("/disputes?state=nonsense").status_code == 422
    assert api.get("/disputes/999999").status_code == 404
    assert api.get("/disputes/999999").get_json()["error"] == "NotFound"


def test_ids_and_amounts_beyond_any_column_are_refused_not_failed(app, api, resident):
    db.session.commit()
    missing = api.get("/disputes/99999999999999999999")
    assert missing.status_code == 404 and missing.get_json()["error"] == "NotFound"
    assert api.get("/disputes/abc").get_json()["error"] == "NotFound"  # JSON even when no route matches
    for body, field in (
        ({"resident": {"id": 2**40}, "issue": "x"}, "resident_id"),
        ({"resident": {"id": resident.id}, "issue": "x", "manager_id": 2**63}, "manager_id"),
        ({"resident": {"id": resident.id}, "issue": "x", "property_id": -1, "unit": "1"}, "property_id"),
        ({"resident": {"id": resident.id}, "issue": "x", "items": [{"description": "Fee", "amount_cents": 2**40}]},
         "items"),
    ):
        response = api.post("/disputes", body)
        assert response.status_code == 422 and response.get_json()["field"] == field, body
    assert db.session.scalar(select(func.count(Dispute.id))) == 0


def test_a_revoked_key_stops_working(app, api, supervisor):
    assert api.get("/disputes").status_code == 200
    revoke_api_key(supervisor, db.session.scalars(select(ApiKey)).one())
    db.session.commit()
    response = api.get("/disputes")
    assert response.status_code == 401 and "revoked" in response.get_json()["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_openapi_document_describes_the_api(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    assert {"/disputes", "/disputes/{dispute_id}", "/properties", "/residents"} <= set(doc["paths"])
    assert {"get", "post"} <= set(doc["paths"]["/disputes"])
    assert doc["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    # Every API route the app serves is in the document, with each of its methods.
    served = {(re.sub(r"<int:(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1")), method.lower())
              for rule in client.application.url_map.iter_rules()
              if rule.endpoint.startswith("api.") and rule.endpoint not in ("api.openapi", "api.docs")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, item in doc["paths"].items() for method in item if method != "parameters"}
    assert served == documented


def test_the_api_needs_no_csrf_token_but_a_session_cookie_alone_gets_nothing(app, signed_in_client, manager):
    staff = signed_in_client(manager)
    assert staff.get("/api/v1/disputes").status_code == 401


def test_people_can_read_the_api_described_in_a_page(app, client):
    html = client.get("/api/v1/").get_data(as_text=True)
    assert "Resolver API" in html and "/disputes/{dispute_id}" in html and "Authorization: Bearer rsv_" in html


def test_the_openapi_document_is_valid_and_the_answers_match_it(app, api, client, make_dispute):
    doc = client.get("/api/v1/openapi.json").get_json()
    openapi_spec_validator.validate(doc)
    dispute = make_dispute("evidence_received")
    db.session.commit()

    def check(body, ref):
        openapi_schema_validator.validate(body, {"$ref": f"#/components/schemas/{ref}", "components": doc["components"]})

    with pytest.raises(Exception):
        check({"id": 1, "state": "nonsense"}, "DisputeSummary")  # the check does check
    check(api.get(f"/disputes/{dispute.id}").get_json(), "Dispute")
    for row in api.get("/disputes").get_json()["disputes"]:
        check(row, "DisputeSummary")
    check(api.get("/disputes/999999").get_json(), "Error")


# Schemathesis: requests generated from the OpenAPI document, answers checked against it -------------

@pytest.fixture
def api_schema(app, api, make_dispute, make_resident, company):
    """The document as the app serves it, for a company with disputes to find and a property to use."""
    make_dispute("awaiting_evidence")
    make_dispute("evidence_received")
    db.session.add(Property(company_id=company.id, name="Aspen Court"))
    db.session.commit()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema.raw_key = api.raw_key
    return schema


# Schemathesis's strategies are driven by Hypothesis directly rather than through its pytest plugin's
# lazy fixtures, which reach into pytest's private attributes and break on new pytest releases.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_every_answer_matches_the_openapi_document(api_schema, mode):
    """Whatever a client sends that the document allows (and much that it does not), the API never
    fails with a 500, answers only with status codes, content types and bodies the document promises,
    and refuses a request without a key."""
    # Schemathesis reads a WSGI answer's bytes as they are, without undoing a compression its client
    # accepted: the documented bodies are checked uncompressed (compression is checked in the browser).
    key = {"Authorization": f"Bearer {api_schema.raw_key}", "Accept-Encoding": "identity"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    labels = {operation.label for operation in operations}
    assert {"GET /disputes", "POST /disputes", "GET /disputes/{dispute_id}", "GET /properties", "POST /properties",
            "PATCH /properties/{property_id}", "POST /properties/{property_id}/units",
            "PATCH /residents/{resident_id}", "POST /residents/{resident_id}/archive"} <= labels
    assert len(labels) == 22

    for operation in operations:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=40, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
        def answers_as_documented(case):
            response = case.call(headers=key)
            # Ids the document allows may name rows that do not exist: those are refused with 422 or
            # 404, as documented, so an allowed shape is not always an accepted request. A query
            # parameter the API does not know is ignored, as HTTP APIs do, so a request carrying one
            # is not refused either; the tests above check that each malformed part is.
            case.validate_response(response, headers=key,
                                   excluded_checks=[positive_data_acceptance, negative_data_rejection])

        answers_as_documented()


def test_the_api_and_the_managers_form_find_or_add_residents_and_units_the_same_way(
    app, api, signed_in_client, company, manager
):
    prop = Property(company_id=company.id, name="Aspen Court")
    unhoused = Resident(company_id=company.id, name="Lee Nowhere", email="lee@mail.test")
    db.session.add_all([prop, unhoused])
    db.session.commit()
    staff = signed_in_client(manager)
    assert staff.post("/disputes/new", {
        "resident_choice": "new", "new_name": "Dana Okafor", "new_email": "dana@mail.test",
        "property_id": str(prop.id), "unit_label": "7C", "issue": "The carpet charge.", "category": "deposit",
        "intent": "draft",
    }).status_code == 303
    # The same unit again, through the API, for a resident with no unit on file: found, not added twice,
    # and now the resident's.
    response = api.post("/disputes", {"resident": {"id": unhoused.id}, "property_id": prop.id, "unit": "7C",
                                      "issue": "The parking fee.", "open": False})
    assert response.status_code == 201, response.get_json()
    db.session.expire_all()
    units = db.session.scalars(select(Unit).where(Unit.property_id == prop.id)).all()
    assert [u.label for u in units] == ["7C"]
    assert db.session.get(Resident, unhoused.id).unit_id == units[0].id
    assert {d.unit_id for d in db.session.scalars(select(Dispute))} == {units[0].id}
    assert db.session.scalars(select(Resident).where(Resident.name == "Dana Okafor")).one().unit_id == units[0].id
    # Both doors refuse a bad address with the same check, and name the field their own way.
    refused = api.post("/disputes", {"resident": {"name": "New", "email": "a@b"}, "issue": "x"}).get_json()
    assert "not an email address" in refused["message"] and refused["field"] == "resident.email"
    html = staff.post("/disputes/new", {"resident_choice": "new", "new_name": "New", "new_email": "a@b",
                                        "issue": "x"}).get_data(as_text=True)
    assert "not an email address" in html and 'id="new_email-error"' in html


def test_a_new_dispute_names_its_category_by_key_and_an_unknown_one_is_refused(app, api, company, resident):
    db.session.commit()
    listed = api.get("/categories").get_json()["categories"]
    assert {"key": "rent_or_fee", "label": "Rent or fee charge"} in listed
    assert [c["key"] for c in listed][-1] == "other"

    def opened(category):
        body = {"resident": {"id": resident.id}, "issue": "The late fee.", "open": False}
        return api.post("/disputes", body if category is None else {**body, "category": category})

    refused = opened("parking lot lights")
    assert refused.status_code == 422
    assert refused.get_json()["field"] == "category"
    assert refused.get_json()["allowed"] == ["deposit", "rent_or_fee", "repair", "noise", "pest", "other"]
    assert db.session.scalar(select(func.count(Dispute.id))) == 0

    by_key = opened("rent_or_fee").get_json()
    assert by_key["category"] == "rent_or_fee" and by_key["category_label"] == "Rent or fee charge"
    # A client written before categories were keys sends a name: it is read as that category's key.
    assert opened("Late fee").get_json()["category"] == "rent_or_fee"
    assert opened(None).get_json()["category"] == "other"
