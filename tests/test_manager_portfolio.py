"""The staff's Properties and Residents pages: a new company adds its first property, its units and
residents, finds them again, changes and archives them; refusals show the reason and change nothing."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from resolver.extensions import db
from resolver.models import CompanyEvent, Dispute, Property, Resident, Unit


@pytest.fixture
def company(make_company):
    """A company set up but for its portfolio, which these tests build themselves."""
    return make_company(with_property=False)


def counts():
    return tuple(db.session.scalar(select(func.count(model.id))) for model in (Property, Unit, Resident, CompanyEvent))


def test_a_new_company_can_add_a_property_and_open_a_dispute_for_its_unit(app, signed_in_client, company, manager):
    """Finding 1: a new company had no way to add a property, so a dispute for unit 3F was refused with
    "Choose the property the unit is in" and an empty list of properties."""
    db.session.commit()
    staff = signed_in_client(manager)
    form = staff.get("/disputes/new").get_data(as_text=True)
    assert "You have no properties yet" in form and 'href="/properties/new"' in form
    listing = staff.get("/properties").get_data(as_text=True)
    assert "No properties yet" in listing and 'href="/properties/new"' in listing

    response = staff.post("/properties/new", {"name": "Maple Court", "address": "12 Maple St, Denver CO",
                                              "portfolio": "North", "external_id": "P-100"})
    assert response.status_code == 303
    prop = db.session.scalars(select(Property)).one()
    assert response.headers["Location"] == f"/properties/{prop.id}"
    assert "Maple Court is added" in staff.get(response.headers["Location"]).get_data(as_text=True)
    assert staff.post(f"/properties/{prop.id}/units", {"label": "3F"}).status_code == 303

    form = staff.get("/disputes/new").get_data(as_text=True)
    assert f'<option value="{prop.id}" >Maple Court</option>' in form and "You have no properties yet" not in form
    response = staff.post("/disputes/new", {
        "resident_choice": "new", "new_name": "Dana Okafor", "new_email": "dana@mail.test",
        "property_id": str(prop.id), "unit_label": "3F", "issue": "The carpet cleaning charge.", "intent": "draft",
        "category": "deposit",
    })
    assert response.status_code == 303, response.get_data(as_text=True)
    dispute = db.session.scalars(select(Dispute)).one()
    assert dispute.unit.label == "3F" and dispute.unit.property_id == prop.id


def test_the_empty_list_offers_the_csv_import(app, signed_in_client, manager):
    staff = signed_in_client(manager)
    html = staff.get("/properties").get_data(as_text=True)
    assert 'data-testid="empty"' in html and '<a href="/import">import a CSV</a>' in html


def test_the_navigation_offers_properties_and_residents(app, signed_in_client, manager):
    html = signed_in_client(manager).get("/properties").get_data(as_text=True)
    nav = html.split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]
    assert 'href="/properties" aria-current="page">Properties' in nav and 'href="/residents"' in nav


def test_a_property_page_shows_its_units_and_residents_and_adds_renames_and_archives_them(
    app, signed_in_client, company, manager
):
    prop = Property(company_id=company.id, name="Maple Court")
    db.session.add(prop)
    db.session.commit()
    staff = signed_in_client(manager)
    for label in ("3F", "4A"):
        staff.post(f"/properties/{prop.id}/units", {"label": label})
    response = staff.post("/residents/new", {"name": "Dana Okafor", "email": "Dana@Mail.test", "phone": "303-555-0101",
                                             "preferred_language": "es", "property_id": str(prop.id),
                                             "unit_label": "3F"})
    assert response.status_code == 303
    dana = db.session.scalars(select(Resident)).one()
    assert (dana.email, dana.preferred_language, dana.unit.label) == ("dana@mail.test", "es", "3F")

    page = staff.get(f"/properties/{prop.id}").get_data(as_text=True)
    assert "Dana Okafor" in page and 'data-unit=' in page and "4A" in page
    four_a = db.session.scalars(select(Unit).where(Unit.label == "4A")).one()
    assert staff.post(f"/properties/{prop.id}/units/{four_a.id}", {"label": "4B"}).status_code == 303
    assert "Unit 4A is unit 4B now." in staff.get(f"/properties/{prop.id}").get_data(as_text=True)

    refused = staff.post(f"/properties/{prop.id}/units/{four_a.id}", {"label": "3f"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "Maple Court already has a unit 3F." in html and 'value="3f"' in html and "Nothing was changed." in html

    assert staff.post(f"/properties/{prop.id}/archive", {}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Resident, dana.id).archived_dt is not None
    page = staff.get(f"/properties/{prop.id}").get_data(as_text=True)
    assert 'data-testid="archived"' in page and "Restore Maple Court" in page and "Add a unit" not in page
    assert staff.post(f"/properties/{prop.id}/restore", {}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Resident, dana.id).archived_dt is None


@pytest.mark.parametrize(("path", "data", "message"), [
    ("/properties/new", {"name": ""}, "Give the property&#39;s name"),
    ("/properties/new", {"name": "Maple Court"}, "You already have a property called “Maple Court”"),
    ("/properties/new", {"name": "x" * 201}, "Please keep this under 200 characters"),
    ("/residents/new", {"name": "Pat", "email": "pat at mail"}, "is not an email address"),
    ("/residents/new", {"name": "Pat", "preferred_language": "xx"}, "Choose the resident&#39;s language"),
    ("/residents/new", {"name": "Pat", "unit_label": "3F"}, "Choose the property the unit is in"),
    ("/residents/new", {"name": "Pat", "property_id": "abc", "unit_label": "3F"}, "Choose a property from the list"),
])
def test_refused_forms_keep_what_was_typed_and_change_nothing(app, signed_in_client, company, manager, path, data,
                                                              message):
    db.session.add(Property(company_id=company.id, name="Maple Court"))
    db.session.commit()
    staff = signed_in_client(manager)
    before = counts()
    response = staff.post(path, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html, html
    assert "Nothing was saved." in html and 'role="alert"' in html
    for value in data.values():
        if value and len(value) < 50 and value not in ("xx", "abc"):  # not one of the choices: not shown
            assert f'value="{value}"' in html or f">{value}<" in html, value
    assert counts() == before


def test_another_companys_property_and_resident_are_not_found(app, signed_in_client, manager, make_company,
                                                              make_resident):
    theirs = make_resident(make_company(), name="Pat Other")
    prop_id = theirs.unit.property_id
    db.session.commit()
    staff = signed_in_client(manager)
    before = counts()
    for path in (f"/properties/{prop_id}", f"/residents/{theirs.id}"):
        assert staff.get(path).status_code == 404
    for path, data in ((f"/properties/{prop_id}", {"name": "Mine"}), (f"/properties/{prop_id}/archive", {}),
                       (f"/properties/{prop_id}/units", {"label": "9Z"}),
                       (f"/properties/{prop_id}/units/{theirs.unit_id}", {"label": "9Z"}),
                       (f"/residents/{theirs.id}", {"name": "Mine"}), (f"/residents/{theirs.id}/archive", {})):
        assert staff.post(path, data).status_code == 404, path
    refused = staff.post("/residents/new", {"name": "Sneaky", "property_id": str(prop_id), "unit_label": "1A"})
    assert refused.status_code == 422
    assert f"there is no property {prop_id} in your company" in refused.get_data(as_text=True)
    assert "Pat Other" not in staff.get("/residents?q=pat").get_data(as_text=True)
    assert counts() == before


def test_the_lists_search_and_page(app, signed_in_client, company, manager):
    maple = Property(company_id=company.id, name="Maple Court", address="12 Maple St")
    elm = Property(company_id=company.id, name="Elm House", address="4 Elm Rd")
    db.session.add_all([maple, elm])
    db.session.flush()
    unit = Unit(property_id=maple.id, label="3F")
    db.session.add(unit)
    db.session.flush()
    db.session.add_all([Resident(company_id=company.id, name=f"Resident {n:02}", email=f"r{n}@mail.test",
                                 external_id=f"L-{n}", unit_id=unit.id) for n in range(55)])
    db.session.commit()
    staff = signed_in_client(manager)
    html = staff.get("/properties?q=maple+st").get_data(as_text=True)
    assert "Maple Court" in html and "Elm House" not in html and "1 property matching" in html
    assert "Elm House" in staff.get("/properties?q=ELM").get_data(as_text=True)
    first = staff.get("/residents").get_data(as_text=True)
    assert "55 residents" in first and "Page 1 of 2" in first and "Resident 49" in first and "Resident 50" not in first
    second = staff.get("/residents?page=2").get_data(as_text=True)
    assert "Resident 54" in second and "Resident 00" not in second
    found = staff.get("/residents?q=L-7").get_data(as_text=True)
    assert "1 resident matching" in found and "Resident 07" in found
    assert "55 residents" in staff.get(f"/residents?property={maple.id}").get_data(as_text=True)
    assert "0 residents" in staff.get(f"/residents?property={elm.id}").get_data(as_text=True)
    assert "55 residents" in staff.get("/residents?status=nonsense&page=x").get_data(as_text=True)  # garbled: all


def test_a_resident_is_edited_moved_and_archived_and_then_not_offered_for_a_new_dispute(
    app, signed_in_client, company, manager, resident
):
    prop = resident.unit.property
    db.session.commit()
    staff = signed_in_client(manager)
    page = staff.get(f"/residents/{resident.id}").get_data(as_text=True)
    assert f'value="{resident.email}"' in page and 'value="{}"'.format(resident.unit.label) in page
    response = staff.post(f"/residents/{resident.id}", {
        "name": "Tammy Rivera-Lopez", "email": resident.email, "phone": "", "preferred_language": "es",
        "external_id": "L-9", "property_id": str(prop.id), "unit_label": "12C"})
    assert response.status_code == 303
    db.session.expire_all()
    moved = db.session.get(Resident, resident.id)
    assert (moved.name, moved.phone, moved.preferred_language, moved.unit.label) == (
        "Tammy Rivera-Lopez", "", "es", "12C")
    offered = f'<option value="{resident.id}" >Tammy Rivera-Lopez — {prop.name}, unit 12C'
    assert offered in staff.get("/disputes/new").get_data(as_text=True)

    assert staff.post(f"/residents/{resident.id}/archive", {}).status_code == 303
    assert ">Tammy Rivera-Lopez — " not in staff.get("/disputes/new").get_data(as_text=True)
    refused = staff.post("/disputes/new", {"resident_choice": "existing", "resident_id": str(resident.id),
                                           "issue": "x", "intent": "draft", "category": "other"})
    assert refused.status_code == 422 and "is archived" in refused.get_data(as_text=True)
    assert "Tammy Rivera-Lopez" in staff.get("/residents?status=archived").get_data(as_text=True)
    assert "Tammy Rivera-Lopez" not in staff.get("/residents").get_data(as_text=True)
    assert staff.post(f"/residents/{resident.id}/restore", {}).status_code == 303
    assert offered in staff.get("/disputes/new").get_data(as_text=True)


def test_an_archived_property_is_not_offered_but_its_disputes_still_show_it(
    app, signed_in_client, manager, make_dispute, resident
):
    dispute = make_dispute("awaiting_evidence")
    prop = resident.unit.property
    db.session.commit()
    staff = signed_in_client(manager)
    assert staff.post(f"/properties/{prop.id}/archive", {}).status_code == 303
    form = staff.get("/disputes/new").get_data(as_text=True)
    assert not re.search(rf'<option value="{prop.id}"[^>]*>{prop.name}</option>', form)
    page = staff.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert prop.name in page and resident.name in page
    refused = staff.post("/disputes/new", {"resident_choice": "new", "new_name": "New", "new_email": "n@mail.test",
                                           "property_id": str(prop.id), "unit_label": "1A", "issue": "x",
                                           "intent": "draft", "category": "other"})
    assert refused.status_code == 422 and f"{prop.name} is archived" in refused.get_data(as_text=True)


def test_a_supervisor_manages_the_portfolio_too_and_the_history_names_who(app, signed_in_client, supervisor, company):
    db.session.commit()
    staff = signed_in_client(supervisor)
    assert staff.post("/properties/new", {"name": "Maple Court"}).status_code == 303
    [event] = db.session.scalars(select(CompanyEvent)).all()
    assert (event.action, event.subject_label, event.actor_label) == ("property_added", "Maple Court", "Sam Supervisor")
