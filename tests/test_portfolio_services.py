"""The portfolio verbs: properties, units and residents added, changed, archived and restored by any
member of staff, within their own company only, each change in the company's history."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from resolver.actors import Actor
from resolver.errors import InvalidInput, NotAllowed, NotFound, WrongState
from resolver.extensions import db
from resolver.models import CompanyEvent, Resident, Unit
from resolver.services import portfolio
from resolver.services.people import find_or_add_resident


@pytest.fixture
def company(make_company):
    """A company set up but for its portfolio, which these tests build themselves."""
    return make_company(with_property=False)


@pytest.fixture
def staff(manager):
    return Actor.staff(manager)


def history(company) -> list[tuple[str, str]]:
    return [(e.action, e.subject_label) for e in db.session.scalars(
        select(CompanyEvent).where(CompanyEvent.company_id == company.id).order_by(CompanyEvent.id))]


def test_a_manager_adds_a_property_with_a_unit_and_a_resident(app, staff, company):
    prop = portfolio.add_property(staff, name="  Maple   Court ", address="12 Maple St\nDenver CO",
                                  portfolio="North", external_id="P-100")
    unit = portfolio.add_unit(staff, prop, "3F")
    resident = portfolio.add_resident(staff, name="Dana Okafor", email="Dana@Mail.test", phone="303-555-0101",
                                      preferred_language="es", external_id="R-1", property_id=prop.id,
                                      unit_label="3F")
    assert prop.name == "Maple Court" and prop.address == "12 Maple St\nDenver CO"
    assert resident.unit_id == unit.id and resident.email == "dana@mail.test" and resident.preferred_language == "es"
    assert history(company) == [("property_added", "Maple Court"), ("unit_added", "Maple Court, unit 3F"),
                                ("resident_added", f"Resident #{resident.id}")]
    events = db.session.scalars(select(CompanyEvent)).all()
    assert {e.subject_kind for e in events} == {"company"}
    assert events[2].data == {"resident_id": resident.id, "unit_id": unit.id, "unit": "Maple Court, unit 3F"}
    assert all(e.actor_label == "Morgan Manager" for e in events)


@pytest.mark.parametrize(("call", "message", "field"), [
    (lambda s, p: portfolio.add_property(s, name="  "), "Give the property's name", "name"),
    (lambda s, p: portfolio.add_property(s, name="maple court"), "already have a property called", "name"),
    (lambda s, p: portfolio.add_property(s, name="Elm", external_id="p-100"), "Maple Court already has the external id",
     "external_id"),
    (lambda s, p: portfolio.add_property(s, name="x" * 201), "at most 200 characters", "name"),
    (lambda s, p: portfolio.add_unit(s, p, "3f"), "Maple Court already has a unit 3F", "label"),
    (lambda s, p: portfolio.add_unit(s, p, ""), "Give the unit's label", "label"),
    (lambda s, p: portfolio.add_resident(s, name="A", email="not an address"), "is not an email address", "email"),
    (lambda s, p: portfolio.add_resident(s, name=""), "Give the resident's name", "name"),
    (lambda s, p: portfolio.add_resident(s, name="A", preferred_language="xx"), "Choose the resident's language",
     "preferred_language"),
    (lambda s, p: portfolio.add_resident(s, name="A", unit_label="9Z"), "Choose the property the unit is in",
     "property_id"),
    (lambda s, p: portfolio.add_resident(s, name="A", property_id=p.id), "Say which unit", "unit_label"),
])
def test_bad_input_is_refused_with_the_field_and_nothing_is_added(app, staff, company, call, message, field):
    prop = portfolio.add_property(staff, name="Maple Court", external_id="P-100")
    portfolio.add_unit(staff, prop, "3F")
    db.session.commit()
    before = history(company)
    with pytest.raises(InvalidInput) as refused:
        call(staff, prop)
    db.session.rollback()
    assert message in refused.value.message and refused.value.field == field
    assert history(company) == before


def test_another_companys_rows_are_answered_like_missing_ones(app, staff, make_company, make_staff):
    other = Actor.staff(make_staff(make_company()))
    theirs = portfolio.add_property(other, name="Their Court")
    their_unit = portfolio.add_unit(other, theirs, "1A")
    their_resident = portfolio.add_resident(other, name="Pat", property_id=theirs.id, unit_label="1A")
    with pytest.raises(NotFound, match=f"There is no property {theirs.id} in your company"):
        portfolio.own_property(staff, theirs.id)
    with pytest.raises(NotFound, match=f"There is no resident {their_resident.id} in your company"):
        portfolio.own_resident(staff, their_resident.id)
    for verb in (lambda: portfolio.edit_property(staff, theirs, name="Mine now"),
                 lambda: portfolio.archive_property(staff, theirs),
                 lambda: portfolio.rename_unit(staff, their_unit, "2B"),
                 lambda: portfolio.archive_resident(staff, their_resident)):
        with pytest.raises(NotFound):
            verb()
    with pytest.raises(InvalidInput, match=f"there is no property {theirs.id} in your company"):
        portfolio.add_resident(staff, name="Sneaky", property_id=theirs.id, unit_label="1A")
    assert theirs.name == "Their Court" and theirs.archived_dt is None and their_unit.label == "1A"


def test_only_staff_manage_the_portfolio(app, company, resident):
    with pytest.raises(NotAllowed):
        portfolio.add_property(Actor.resident(resident), name="Mine")


def test_editing_keeps_what_is_not_given_and_records_before_and_after(app, staff, company):
    prop = portfolio.add_property(staff, name="Maple Court", address="12 Maple St", portfolio="North")
    portfolio.edit_property(staff, prop, portfolio="South")
    assert (prop.name, prop.address, prop.portfolio) == ("Maple Court", "12 Maple St", "South")
    portfolio.edit_property(staff, prop, name="Maple Court", address="12 Maple St")  # nothing changes
    [changed] = db.session.scalars(select(CompanyEvent).where(CompanyEvent.action == "property_changed")).all()
    assert changed.data["changed"] == {"portfolio": {"before": "North", "after": "South"}}


def test_a_resident_is_moved_and_their_details_are_not_copied_into_the_history(app, staff, company):
    prop = portfolio.add_property(staff, name="Maple Court")
    resident = portfolio.add_resident(staff, name="Dana", email="dana@mail.test", property_id=prop.id,
                                      unit_label="3F")
    portfolio.edit_resident(staff, resident, email="dana.okafor@mail.test", phone="303-555-0199", unit_label="4a")
    assert resident.unit.label == "4a" and resident.unit.property_id == prop.id
    portfolio.edit_resident(staff, resident, property_id=None, unit_label="")
    assert resident.unit_id is None
    actions = history(company)
    named = f"Resident #{resident.id}"  # not by name: the history is kept for good, the name until erased
    assert ("resident_moved", named) in actions and ("resident_changed", named) in actions
    changed = db.session.scalars(select(CompanyEvent).where(CompanyEvent.action == "resident_changed")).one()
    assert changed.data == {"resident_id": resident.id, "changed": ["email", "phone"]}
    assert "dana.okafor@mail.test" not in str([e.data for e in db.session.scalars(select(CompanyEvent))])


def test_archiving_a_property_takes_its_units_and_residents_with_it_and_restoring_brings_them_back(
    app, staff, company, frozen_clock
):
    prop = portfolio.add_property(staff, name="Maple Court")
    gone_before = portfolio.add_resident(staff, name="Moved Out", property_id=prop.id, unit_label="1A")
    portfolio.archive_resident(staff, gone_before)
    frozen_clock.advance(timedelta(minutes=1))
    living = portfolio.add_resident(staff, name="Dana", property_id=prop.id, unit_label="3F")
    portfolio.archive_property(staff, prop)
    assert all(u.archived_dt is not None for u in prop.units) and living.archived_dt is not None
    with pytest.raises(WrongState, match="Maple Court is archived"):
        portfolio.add_unit(staff, prop, "9Z")
    with pytest.raises(WrongState, match="Restore it first"):
        portfolio.restore_resident(staff, living)
    frozen_clock.advance(timedelta(minutes=1))
    portfolio.restore_property(staff, prop)
    assert prop.archived_dt is None and all(u.archived_dt is None for u in prop.units)
    assert living.archived_dt is None and gone_before.archived_dt is not None  # archived before: stays so
    archived = db.session.scalars(select(CompanyEvent).where(CompanyEvent.action == "property_archived")).one()
    assert archived.data == {"property_id": prop.id, "units": 2, "residents": 1}


def test_an_archived_residents_details_can_still_be_corrected_where_they_are(app, staff, company):
    prop = portfolio.add_property(staff, name="Maple Court")
    resident = portfolio.add_resident(staff, name="Dana", property_id=prop.id, unit_label="3F")
    portfolio.archive_property(staff, prop)
    portfolio.edit_resident(staff, resident, name="Dana Okafor", property_id=prop.id, unit_label="3f")
    assert resident.name == "Dana Okafor" and resident.unit.label == "3F"
    with pytest.raises(InvalidInput, match="Maple Court is archived"):
        portfolio.edit_resident(staff, resident, property_id=prop.id, unit_label="4A")


def test_archived_rows_are_not_offered_for_a_new_dispute(app, staff, company):
    prop = portfolio.add_property(staff, name="Maple Court")
    resident = portfolio.add_resident(staff, name="Dana", email="dana@mail.test", property_id=prop.id,
                                      unit_label="3F")
    unit = resident.unit
    portfolio.archive_unit(staff, unit)
    with pytest.raises(InvalidInput, match="Unit 3F at Maple Court is archived"):
        find_or_add_resident(staff, resident_id=resident.id, property_id=prop.id, unit_label="3f")
    with pytest.raises(InvalidInput, match="Dana is archived"):
        find_or_add_resident(staff, resident_id=resident.id)
    portfolio.restore_unit(staff, unit)
    assert resident.archived_dt is None
    found, found_unit = find_or_add_resident(staff, resident_id=resident.id, property_id=prop.id, unit_label="3f")
    assert found_unit.id == unit.id  # 3f is unit 3F, not a new unit
    portfolio.archive_property(staff, prop)
    with pytest.raises(InvalidInput, match="Maple Court is archived"):
        find_or_add_resident(staff, resident_id=resident.id, property_id=prop.id, unit_label="7C")
    assert portfolio.current_properties(company.id) == []


def test_listing_searches_names_addresses_units_emails_and_external_ids_a_page_at_a_time(app, staff, company):
    maple = portfolio.add_property(staff, name="Maple Court", address="12 Maple St", external_id="P-100")
    elm = portfolio.add_property(staff, name="Elm House", address="4 Elm Rd", portfolio="South")
    portfolio.add_unit(staff, elm, "PH-2")
    for n in range(7):
        portfolio.add_resident(staff, name=f"Resident {n}", email=f"r{n}@mail.test", external_id=f"L-{n}",
                               property_id=maple.id, unit_label=f"{n}A")
    archived = portfolio.add_property(staff, name="Old Mill")
    portfolio.archive_property(staff, archived)

    def names(**kw):
        return [row.property.name for row in portfolio.properties_page(company.id, **kw).rows]

    assert names() == ["Elm House", "Maple Court"]
    assert names(search="maple st") == ["Maple Court"] and names(search="p-100") == ["Maple Court"]
    assert names(search="ph-2") == ["Elm House"] and names(search="south") == ["Elm House"]
    assert names(status="archived") == ["Old Mill"] and len(names(status="all")) == 3
    assert names(search="%") == []  # a wildcard is a character like any other
    row = portfolio.properties_page(company.id, search="maple").rows[0]
    assert (row.units, row.residents) == (7, 7)

    page = portfolio.residents_page(company.id, per_page=3, page=3)
    assert (page.total, page.pages, page.page, [r.resident.name for r in page.rows]) == (7, 3, 3, ["Resident 6"])
    assert portfolio.residents_page(company.id, page=99, per_page=3).page == 3
    for search in ("r4@mail", "L-4", "4a", "Resident 4"):
        assert [r.resident.name for r in portfolio.residents_page(company.id, search=search).rows] == ["Resident 4"]
    assert portfolio.residents_page(company.id, search="maple court").total == 7
    assert portfolio.residents_page(company.id, property_id=elm.id).total == 0
