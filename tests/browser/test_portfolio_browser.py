"""A new company's manager, in a real headless chromium, adds the company's first property with a unit
and a resident, finds them again, and opens a dispute for that unit. Screenshots are kept."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from resolver.extensions import db
from resolver.models import Dispute

DESKTOP = pytest.mark.viewport({"width": 1280, "height": 800})


@pytest.fixture
def company(make_company):
    """A company set up but for its portfolio, which this test builds."""
    return make_company(with_property=False)


@DESKTOP
def test_a_manager_adds_a_property_unit_and_resident_then_opens_a_dispute_for_that_unit(
    app, page, login, manager, company, screenshot
):
    login(page, manager)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Properties").click()
    expect(page.get_by_test_id("empty")).to_contain_text("No properties yet")
    screenshot("empty")
    page.get_by_test_id("empty").get_by_role("link", name="Add one").click()

    page.get_by_role("button", name="Add the property").click()  # nothing typed: refused, nothing saved
    expect(page.get_by_role("alert")).to_contain_text("Give the property's name")
    page.get_by_label("Name").fill("Maple Court")
    page.get_by_label("Address").fill("12 Maple St, Denver CO 80202")
    page.get_by_label("Portfolio or owner group (optional)").fill("North")
    page.get_by_role("button", name="Add the property").click()
    expect(page.get_by_text("Maple Court is added.")).to_be_visible()
    expect(page.get_by_test_id("no-units")).to_be_visible()

    page.get_by_label("Add a unit").fill("3F")
    page.get_by_role("button", name="Add the unit").click()
    expect(page.get_by_text("Unit 3F is added to Maple Court.")).to_be_visible()
    screenshot("property")
    page.get_by_role("link", name="Add a resident here").click()
    expect(page.get_by_label("Property")).to_have_value(str(_property_id(page)))
    page.get_by_label("Name").fill("Dana Okafor")
    page.get_by_label("Email (optional)").fill("dana@mail.test")
    page.get_by_label("Preferred language").select_option(label="Spanish (español)")
    page.get_by_label("Unit").fill("3F")
    page.get_by_role("button", name="Add the resident").click()
    expect(page.get_by_text("Dana Okafor is added.")).to_be_visible()
    screenshot("resident")

    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Residents").click()
    page.get_by_label("Find a resident").fill("3f")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("table.residents tbody tr")).to_have_count(1)
    expect(page.locator("table.residents")).to_contain_text("Maple Court, unit 3F")
    nav.get_by_role("link", name="Properties").click()
    expect(page.locator("table.properties")).to_contain_text("Maple Court")
    screenshot("properties")

    nav.get_by_role("link", name="Open a dispute").click()
    page.get_by_label("Existing resident").select_option(label="Dana Okafor — Maple Court, unit 3F (dana@mail.test)")
    page.get_by_label("Property").select_option(label="Maple Court")
    page.get_by_label("Unit").fill("3F")
    page.get_by_label("Category").select_option(label="Security deposit deduction")
    page.get_by_label("The issue, as the resident describes it").fill(
        "Dana says the $150 carpet cleaning charge is unfair: the carpet was clean when she left.")
    page.get_by_role("button", name="Open and send the invitation").click()
    expect(page.get_by_text("The invitation is on its way to Dana Okafor")).to_be_visible()
    expect(page.get_by_test_id("state")).to_have_text("waiting for the resident's side")
    screenshot("opened")
    db.session.expire_all()
    dispute = db.session.scalars(select(Dispute).where(Dispute.company_id == company.id)).one()
    assert (dispute.unit.label, dispute.unit.property.name, dispute.resident.preferred_language) == (
        "3F", "Maple Court", "es")


def _property_id(page) -> int:
    return int(page.url.split("property=")[1].split("&")[0])
