"""A supervisor of a company not yet set up, in a real headless chromium: the dashboard's checklist, an
item's link to the setting, the fix, and the item ticked; then the last item, and the checklist goes."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from resolver.extensions import db
from resolver.models import PanelMember, Property

DESKTOP = pytest.mark.viewport({"width": 1280, "height": 800})


@DESKTOP
def test_a_supervisor_works_through_the_checklist(app, page, login, make_company, make_staff, screenshot):
    company = make_company(is_ready=False, mediation_service_name="", mediation_service_contact="")
    db.session.add(Property(company_id=company.id, name="Aspen Court", portfolio="North"))
    db.session.add_all([PanelMember(company_id=company.id, name=f"Peer {i}", email=f"peer{i}-{company.id}@peers.test")
                        for i in range(2)])
    supervisor = make_staff(company, "supervisor", name="Sam Ortiz")
    login(page, supervisor)

    checklist = page.get_by_role("region", name=re.compile("Setting up"))
    expect(checklist).to_contain_text("3 of 5 done")
    mediation = checklist.locator("li[data-item=mediation]")
    expect(mediation).to_contain_text("To do: Outside mediation, chosen")
    expect(checklist.locator("li[data-item=roster]")).to_contain_text("(needed to open a dispute)")
    screenshot("checklist")

    mediation.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/settings#mediation$"))
    page.get_by_label("None: we offer no outside mediation").check()
    page.get_by_role("button", name="Save the settings").click()
    expect(page.get_by_text("Saved.")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    mediation = page.locator("#setup li[data-item=mediation]")
    expect(mediation).to_have_attribute("data-done", "yes")
    expect(mediation).to_contain_text("Done: Outside mediation, chosen")
    expect(page.locator("#setup")).to_contain_text("4 of 5 done")
    screenshot("ticked")

    # The last one: a third person on the roster, and the company is ready.
    page.locator("#setup li[data-item=roster]").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/settings#roster$"))
    page.locator("#member-name").fill("Priya Raman")
    page.locator("#member-email").fill("priya.raman@peers.test")
    page.get_by_role("button", name="Add to the roster").click()
    expect(page.get_by_text("Priya Raman is on the roster.")).to_be_visible()
    page.locator("#roster details summary").first.click()
    screenshot("roster")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="What needs you now")).to_be_visible()
    expect(page.locator("#setup")).to_have_count(0)
