"""Importing properties, units and residents from a CSV: the preview says what each row does, the
import does exactly that (once), and exporting then importing the export changes nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from resolver.actors import Actor
from resolver.clock import now_utc
from resolver.errors import InvalidInput, NotAllowed
from resolver.extensions import db
from resolver.models import CompanyEvent, Property, Resident, Unit
from resolver.services.portfolio_export import export_portfolio, left_out
from resolver.services.portfolio_import import PreviewOutdated, import_portfolio, preview_import

HEADER = "Tenant ID,Property Name,Address,Portfolio,Unit,Tenant Name,Email Address,Phone Number,Language\n"
RENT_ROLL = HEADER + (
    "T-1,Willow Court,1 Willow Way,North,4B,Tammy Rivera,Tammy@Mail.test,303-555-0142,Spanish\n"
    "T-2,Willow Court,1 Willow Way,North,4C,Ray Okafor,ray@mail.test,,\n"
    ",Willow Court,1 Willow Way,North,5A,,,,\n"
    "T-3,Birch Point,9 Birch Rd,South,101,Ana Lima,ana@mail.test,+1 303 555 0100,pt-br\n"
)

@pytest.fixture
def company(make_company):
    """A company set up but for its portfolio, which these tests build themselves."""
    return make_company(with_property=False)


def csv_bytes(text: str) -> bytes:
    return text.encode("utf-8")


@pytest.fixture
def staff(manager):
    return Actor.staff(manager)


def counts(company_id):
    return (
        db.session.scalar(select(func.count(Property.id)).where(Property.company_id == company_id)),
        db.session.scalar(select(func.count(Unit.id)).join(Property).where(Property.company_id == company_id)),
        db.session.scalar(select(func.count(Resident.id)).where(Resident.company_id == company_id)),
    )


def imported(staff, text: str, name: str = "rent-roll.csv"):
    preview = preview_import(staff, csv_bytes(text))
    result = import_portfolio(staff, csv_bytes(text), fingerprint=preview.fingerprint, file_name=name)
    db.session.commit()
    return result


def test_a_first_import_adds_the_properties_units_and_residents_with_one_history_entry(app, company, staff):
    preview = preview_import(staff, csv_bytes(RENT_ROLL))
    assert [row.kind for row in preview.rows] == ["new"] * 4
    assert preview.rows[0].notes == ["new property Willow Court", "new unit 4B at Willow Court",
                                     "new resident Tammy Rivera in 4B"]
    assert preview.added == {"properties": 2, "units": 4, "residents": 3}
    assert counts(company.id) == (0, 0, 0)  # a preview writes nothing

    import_portfolio(staff, csv_bytes(RENT_ROLL), fingerprint=preview.fingerprint, file_name="rent-roll.csv")
    db.session.commit()
    assert counts(company.id) == (2, 4, 3)
    tammy = db.session.scalars(select(Resident).where(Resident.external_id == "T-1")).one()
    assert (tammy.email, tammy.preferred_language, tammy.unit.label, tammy.unit.property.address) == (
        "tammy@mail.test", "es", "4B", "1 Willow Way")
    ana = db.session.scalars(select(Resident).where(Resident.name == "Ana Lima")).one()
    assert (ana.phone, ana.preferred_language, ana.unit.property.portfolio) == ("+1 303 555 0100", "pt-BR", "South")
    event = db.session.scalars(select(CompanyEvent).where(CompanyEvent.company_id == company.id)).one()
    assert (event.action, event.subject_kind, event.subject_label) == ("portfolio_imported", "company", "rent-roll.csv")
    assert event.data["residents_added"] == 3 and event.data["rows_new"] == 4 and event.data["units_added"] == 4


def test_importing_the_same_file_twice_changes_nothing_the_second_time(app, company, staff):
    imported(staff, RENT_ROLL)
    before = counts(company.id)
    again = preview_import(staff, csv_bytes(RENT_ROLL))
    assert again.counts == {"new": 0, "changed": 0, "unchanged": 4, "wrong": 0}
    assert not again.changes_anything
    imported(staff, RENT_ROLL)
    assert counts(company.id) == before


def test_the_preview_says_what_changes_and_matches_residents_without_an_external_id(app, company, staff):
    imported(staff, RENT_ROLL)
    changed = HEADER + (
        "T-1,Willow Court,1 Willow Way,North,4C,Tammy Rivera,tammy@new.test,303-555-0142,es\n"  # moved, new email
        ",willow court,,,4c,RAY OKAFOR,,303-555-0199,\n"  # by unit and name, case aside; a new phone
        ",Birch Point,2 Birch Rd,,101,,,,\n"  # the property's address changes
        "T-4,Birch Point,,,102,Lee Chen,lee@mail.test,,\n"  # new unit and resident
    )
    preview = preview_import(staff, csv_bytes(changed))
    assert [row.kind for row in preview.rows] == ["changed", "changed", "changed", "new"]
    assert preview.rows[0].notes == ["email tammy@mail.test → tammy@new.test", "unit 4B → 4C"]
    assert preview.rows[1].notes == ["resident's name Ray Okafor → RAY OKAFOR", "phone (none) → 303-555-0199"]
    assert preview.rows[2].notes == ["Birch Point: address 9 Birch Rd → 2 Birch Rd"]
    imported(staff, changed)
    tammy = db.session.scalars(select(Resident).where(Resident.external_id == "T-1")).one()
    assert (tammy.email, tammy.unit.label) == ("tammy@new.test", "4C")
    assert db.session.scalars(select(Property.address).where(Property.name == "Birch Point")).one() == "2 Birch Rd"
    assert preview_import(staff, csv_bytes(changed)).counts["unchanged"] == 4


def test_wrong_rows_say_why_beside_the_row_and_are_skipped(app, company, staff):
    text = HEADER + (
        "T-1,Willow Court,1 Willow Way,North,4B,Tammy Rivera,tammy@mail,303,\n"
        "T-2,Willow Court,1 Willow Way,North,,Ray Okafor,ray@mail.test,,\n"
        "T-3,Willow Court,1 Willow Way,North,4D,Ana Lima,ana@mail.test,,Klingon\n"
        "T-5,Birch Point,9 Birch Rd,South,7,Lee Chen,lee@mail.test,,\n"
        "T-5,Birch Point,9 Birch Rd,South,7,Lee Chen,lee@mail.test,,\n"
        "T-5,Birch Point,9 Birch Rd,South,8,Lee Chen,lee@mail.test,,\n"
        ",Birch Point,10 Birch Rd,South,9,,,,\n"
        "T-6,Birch Point,,,9,,sam@mail.test,,\n"
    )
    preview = preview_import(staff, csv_bytes(text))
    kinds = {row.number: (row.kind, " ".join(row.notes)) for row in preview.rows}
    assert kinds[2][0] == "wrong" and "“tammy@mail” is not an email address" in kinds[2][1]
    assert kinds[3] == ("wrong", "the unit is missing")
    assert kinds[4][0] == "wrong" and "“Klingon” is not a language Resolver knows" in kinds[4][1]
    assert kinds[5][0] == "new"
    assert kinds[6] == ("wrong", "it is the same as row 5 (a duplicate row in the file)")
    assert kinds[7] == ("wrong", "row 5 names the same resident, Lee Chen (a duplicate in the file)")
    assert kinds[8] == ("wrong", "row 5 gives Birch Point the address “9 Birch Rd”, this row “10 Birch Rd”")
    assert kinds[9][0] == "wrong" and "the resident's name is missing" in kinds[9][1]
    assert preview.counts == {"new": 1, "changed": 0, "unchanged": 0, "wrong": 7}
    imported(staff, text)
    assert counts(company.id) == (1, 1, 1)


def test_the_import_refuses_and_writes_nothing_when_the_company_changed_since_the_preview(app, company, staff):
    imported(staff, RENT_ROLL)
    edited = RENT_ROLL.replace("ray@mail.test", "ray@new.test")
    preview = preview_import(staff, csv_bytes(edited))
    tammy = db.session.scalars(select(Resident).where(Resident.external_id == "T-2")).one()
    tammy.email = "ray@elsewhere.test"  # someone edits Ray meanwhile
    db.session.commit()
    with pytest.raises(PreviewOutdated) as refused:
        import_portfolio(staff, csv_bytes(edited), fingerprint=preview.fingerprint)
    db.session.rollback()
    assert refused.value.preview.rows[1].notes == ["email ray@elsewhere.test → ray@new.test"]
    assert db.session.scalar(select(func.count(CompanyEvent.id))) == 1


def test_archived_rows_the_file_names_come_back_and_the_export_leaves_archived_ones_out(app, company, staff):
    imported(staff, RENT_ROLL)
    ray = db.session.scalars(select(Resident).where(Resident.external_id == "T-2")).one()
    ray.archived_dt = now_utc() - timedelta(days=1)
    db.session.commit()
    assert "Ray Okafor" not in export_portfolio(staff)
    preview = preview_import(staff, csv_bytes(RENT_ROLL))
    assert preview.rows[1].notes == ["Ray Okafor comes back from the archive"]


def test_export_then_import_is_all_unchanged_even_with_formulas_and_odd_cells(app, company, staff, make_resident):
    imported(staff, RENT_ROLL)
    odd = make_resident(company, name="=HYPERLINK(\"http://evil.test\")", email="odd@mail.test")
    odd.phone = "+1 303 555 0111"
    odd.unit.property.address = "12 Elm St\nSuite 4"
    odd.unit.property.name = "-Elm, \"the old one\""
    db.session.add(Property(company_id=company.id, name="Empty Lot"))
    db.session.add(Resident(company_id=company.id, name="No Unit", email="nounit@mail.test"))
    db.session.commit()

    exported = export_portfolio(staff)
    assert exported.startswith("external_id,property,address,portfolio,unit,resident_name,email,phone,language")
    assert "'=HYPERLINK" in exported and "'+1 303 555 0111" in exported and "'-Elm" in exported
    assert left_out(staff).residents_without_unit == 1 and left_out(staff).properties_without_units == 1
    preview = preview_import(staff, exported.encode())
    assert preview.counts == {"new": 0, "changed": 0, "unchanged": 5, "wrong": 0}, [
        (row.number, row.notes) for row in preview.rows if row.kind != "unchanged"]


def test_only_the_company_s_staff_may_import_and_a_refused_file_writes_nothing(app, company, staff):
    with pytest.raises(NotAllowed):
        preview_import(Actor.system(), csv_bytes(RENT_ROLL))
    with pytest.raises(InvalidInput, match="no column for the unit"):
        preview_import(staff, b"Property,Tenant\nWillow Court,Tammy\n")
    assert counts(company.id) == (0, 0, 0)


def test_another_company_s_residents_are_never_matched(app, make_company, make_staff, make_resident, staff, company):
    other = make_company()
    stranger = make_resident(other, name="Tammy Rivera", external_id="T-1")
    db.session.commit()
    imported(staff, RENT_ROLL)
    assert db.session.get(Resident, stranger.id).email != "tammy@mail.test"
    assert counts(company.id) == (2, 4, 3)


def test_a_property_renamed_by_its_external_id_is_found_by_its_new_name_on_later_rows(app, company, staff):
    header = "Property Code,Property,Unit,Tenant\n"
    imported(staff, header + "P-1,Willow Court,4B,Tammy Rivera\n")
    renamed = header + "P-1,Willow Court East,4B,Tammy Rivera\n,Willow Court East,4C,Ray Okafor\n"
    preview = preview_import(staff, csv_bytes(renamed))
    assert [(row.kind, row.notes) for row in preview.rows] == [
        ("changed", ["Willow Court: property name Willow Court → Willow Court East"]),
        ("new", ["new unit 4C at Willow Court", "new resident Ray Okafor in 4C"]),
    ]
    imported(staff, renamed)
    assert counts(company.id) == (1, 2, 2)
