"""Reading the portfolio CSV: column names as property-management systems spell them, the cells as
written (formula guards taken off), and the files refused whole, each with its reason."""
from __future__ import annotations

import codecs

import pytest

from resolver.errors import InvalidInput
from resolver.services.portfolio_csv import (
    COLUMNS, MAX_ROWS, column_for, guard, language_code, read_sheet, unguard, write_sheet,
)


@pytest.mark.parametrize(("header", "column"), [
    ("Property Name", "property"), ("PROPERTY", "property"), ("property_name", "property"), ("Unit", "unit"),
    ("Unit Number", "unit"), ("  apt ", "unit"), ("Tenant", "resident_name"), ("Tenant Name", "resident_name"),
    ("Email Address", "email"), ("E-mail", "email"), ("Phone Number", "phone"), ("Tenant ID", "external_id"),
    ("external_id", "external_id"), ("Preferred Language", "language"), ("Property Code", "property_external_id"),
    ("Monthly Rent", None), ("", None),
])
def test_column_names_are_read_by_their_usual_spellings(header, column):
    assert column_for(header) == column


def test_rows_come_back_by_column_with_blank_lines_skipped_and_ignored_columns_named():
    text = ("Tenant ID;Property Name;Unit;Tenant Name;Email Address;Phone Number;Lease End\r\n"
            "T-1;Willow Court;4B;Zoë Ñúñez;zoe@mail.test;'+1 303 555 0142;2027-01-31\r\n"
            ";;;;;;\r\n"
            "\r\n"
            "T-2;Willow Court;\"4C\";\"Okafor; Ray\"\r\n")
    sheet = read_sheet(codecs.BOM_UTF8 + text.encode())
    assert sheet.columns == ("external_id", "property", "unit", "resident_name", "email", "phone")
    assert sheet.ignored == ("Lease End",)
    assert [row.number for row in sheet.rows] == [2, 5]
    first, second = (row.values for row in sheet.rows)
    assert set(first) == set(COLUMNS)
    assert (first["resident_name"], first["phone"], first["address"]) == ("Zoë Ñúñez", "+1 303 555 0142", "")
    assert (second["unit"], second["resident_name"], second["email"]) == ("4C", "Okafor; Ray", "")
    assert not sheet.problems


def test_a_row_with_more_cells_than_columns_is_marked_to_be_shown_as_wrong():
    sheet = read_sheet(b"Property,Unit,Tenant\nWillow Court,4B,Okafor, Ray\n")
    assert "it has 4 cells but the file has 3 columns" in sheet.problems[2]


def test_two_columns_read_as_the_same_one_are_refused():
    with pytest.raises(InvalidInput, match="Two columns are both read as resident name: “Name” and “Tenant Name”"):
        read_sheet(b"Property,Unit,Name,Tenant Name\nWillow Court,4B,Tammy,Tammy\n")


def test_exactly_the_row_limit_is_read_and_one_more_is_refused():
    assert len(read_sheet(("Property,Unit\n" + "W,1\n" * MAX_ROWS).encode()).rows) == MAX_ROWS
    with pytest.raises(InvalidInput, match="more than 20,000 rows"):
        read_sheet(("Property,Unit\n" + "W,1\n" * (MAX_ROWS + 1)).encode())


@pytest.mark.parametrize("value", ["=1+2", "+1 303 555 0100", "-5", "@SUM(A1)", "'quoted", "''", "'=x", "plain", ""])
def test_a_guarded_cell_reads_back_as_it_was(value):
    assert unguard(guard(value)) == value
    assert not guard(value).startswith(("=", "+", "-", "@"))


def test_the_export_writes_every_column_and_guards_formulas():
    text = write_sheet([{"property": "=cmd|' /C calc'!A0", "unit": "1", "resident_name": "@Bob"}])
    header, row = text.splitlines()
    assert header == ",".join(COLUMNS)
    assert row.startswith(",'=cmd|' /C calc'!A0,,,1,'@Bob")
    assert read_sheet(text.encode()).rows[0].values["property"] == "=cmd|' /C calc'!A0"


@pytest.mark.parametrize(("written", "code"), [
    ("es", "es"), ("ES", "es"), ("Spanish", "es"), ("español", "es"), ("es-mx", "es-MX"), ("pt_BR", "pt-BR"),
    ("English", "en"), ("zh-Hant", "zh-Hant"), ("Klingon", None), ("xx", None), ("e", None),
])
def test_languages_are_read_as_codes_or_names(written, code):
    assert language_code(written) == code
