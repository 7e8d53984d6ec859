"""Importing a rent roll in a real headless chromium: choose the file, read the preview, confirm."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from resolver.extensions import db
from resolver.models import Resident

DESKTOP = pytest.mark.viewport({"width": 1280, "height": 800})
ROLL = ("Tenant ID,Property Name,Address,Unit,Tenant Name,Email Address,Phone Number\n"
        "T-1,Aspen Court,1 Aspen Way,4B,Tammy Rivera,tammy@mail.test,303-555-0142\n"
        "T-2,Aspen Court,1 Aspen Way,4C,Ray Okafor,ray@mail,\n"
        ",Aspen Court,1 Aspen Way,5A,,,\n")


@DESKTOP
def test_uploading_a_rent_roll_previewing_it_and_confirming(app, page, login, manager, company, tmp_path, screenshot):
    roll = tmp_path / "rent-roll.csv"
    roll.write_text(ROLL)
    renamed = tmp_path / "renamed.csv"
    renamed.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    login(page, manager)
    page.goto(app.config["LIVE_URL"] + "/import")
    page.get_by_label("CSV file").set_input_files(str(renamed))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_role("alert")).to_contain_text("This file is a PDF, not a CSV.")
    screenshot("refused")
    page.get_by_label("CSV file").set_input_files(str(roll))
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.get_by_role("heading", name="Preview of rent-roll.csv")).to_be_visible()
    counts = page.get_by_role("list", name="Rows by what they do")
    expect(counts).to_contain_text("2 new")
    expect(counts).to_contain_text("1 wrong")
    wrong = page.locator("#wrong")
    expect(wrong.get_by_role("row", name="3 Aspen Court 4C Ray Okafor")).to_contain_text(
        "“ray@mail” is not an email address")
    screenshot("preview")
    page.reload()  # the preview has its own address: a reload shows it again
    expect(page.get_by_role("heading", name="Preview of rent-roll.csv")).to_be_visible()
    page.get_by_role("button", name="Import 2 rows").first.click()

    expect(page.get_by_role("status")).to_contain_text(
        "Imported rent-roll.csv: 1 property, 2 units and 1 resident added; 0 residents changed; "
        "1 wrong row skipped.")
    screenshot("imported")
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Resident.id)).where(Resident.company_id == company.id)) == 1
