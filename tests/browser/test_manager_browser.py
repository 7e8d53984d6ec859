"""The manager's app in a real headless chromium: sign in, open a dispute, the dashboard's order,
the dispute page's actions (and a stale form), and the reports. A screenshot of each is kept."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from resolver.actors import Actor
from resolver.extensions import db
from resolver.models import Dispute, Property
from resolver.services import disputes

DESKTOP = pytest.mark.viewport({"width": 1280, "height": 800})


@DESKTOP
def test_signing_in(app, page, manager, screenshot):
    from tests.fixtures_manager import give_password

    give_password(manager)
    url = app.config["LIVE_URL"]
    page.goto(url + "/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Email").fill(manager.email)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match an account")
    screenshot("refused")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="What needs you now")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    for link in ("Dashboard", "Open a dispute", "Reports", "Settings", "Mailbox"):
        expect(nav.get_by_role("link", name=link)).to_be_visible()
    screenshot("dashboard")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()


@DESKTOP
def test_opening_a_dispute(app, page, login, manager, company, resident, screenshot):
    db.session.add(Property(company_id=company.id, name="Aspen Court"))
    db.session.commit()
    login(page, manager)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Open a dispute").click()
    page.get_by_label("A new resident").check()
    page.get_by_label("New resident's name").fill("Dana Okafor")
    page.get_by_label("Email", exact=True).fill("dana@mail.test")
    page.get_by_label("Property").select_option(label="Aspen Court")
    page.get_by_label("Unit").fill("7C")
    page.get_by_label("The issue, as the resident describes it").fill(
        "Dana says the $150 carpet cleaning charge is unfair: the carpet was clean when she left.")
    page.get_by_label("What was already fixed").fill("We refunded the pet fee.")
    page.get_by_label("The company's position").fill("The move-out photos show stains in the bedroom.")
    page.get_by_label("Category").fill("security deposit")
    page.get_by_label("Item 1", exact=True).fill("Carpet cleaning")
    page.get_by_label("Amount of item 1").fill("abc")
    page.get_by_role("button", name="Open and send the invitation").click()
    expect(page.get_by_role("alert")).to_contain_text("should be written like 150")
    expect(page.get_by_label("New resident's name")).to_have_value("Dana Okafor")  # nothing typed is lost
    screenshot("refused")
    page.get_by_label("Amount of item 1").fill("150")
    page.get_by_role("button", name="Open and send the invitation").click()
    expect(page.get_by_text("The invitation is on its way to Dana Okafor")).to_be_visible()
    expect(page.get_by_test_id("state")).to_have_text("waiting for the resident's side")
    expect(page.get_by_text("Morgan Manager sent the resident the invitation to give their side.")).to_be_visible()
    screenshot("opened")


@DESKTOP
def test_the_dashboard_puts_the_nearest_deadline_first(
    app, page, login, manager, company, make_resident, frozen_clock, screenshot
):
    staff = Actor.staff(manager)

    def opened(name: str, unit: str):
        dispute = disputes.create_dispute(staff, resident=make_resident(company, name=name, unit=unit), issue="x")
        disputes.open_dispute(staff, dispute)
        return dispute

    draft = disputes.create_dispute(staff, resident=make_resident(company, name="Drew Draft"), issue="x")
    first = opened("Olive Overdue", "1A")
    frozen_clock.advance(timedelta(days=2))
    soon = opened("Sam Soon", "2B")
    frozen_clock.advance(timedelta(days=1))
    later = opened("Lee Later", "3C")
    db.session.commit()
    frozen_clock.advance(timedelta(days=2, hours=20))
    login(page, manager)
    rows = page.locator("table.disputes tbody tr")
    expect(rows).to_have_count(4)
    assert [int(rows.nth(i).get_attribute("data-dispute")) for i in range(4)] == [first.id, soon.id, later.id,
                                                                                   draft.id]
    expect(rows.nth(0)).to_contain_text("overdue by")
    expect(rows.nth(1)).to_contain_text("due in 2 days")
    expect(rows.nth(3)).to_contain_text("no deadline running")
    screenshot("ordered")
    page.get_by_label("Resident or unit").fill("3c")
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Lee Later")
    screenshot("searched")


@DESKTOP
def test_the_dispute_page_actions_and_a_stale_form(app, page, login, manager, make_dispute, screenshot):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    login(page, manager)
    page.goto(f"{app.config['LIVE_URL']}/disputes/{dispute.id}")
    actions = page.get_by_role("region", name="What you can do now")
    expect(actions.get_by_role("button", name="Extend")).to_be_visible()
    expect(actions.get_by_role("button", name="Withdraw")).to_be_visible()
    expect(actions.get_by_role("button", name="Close")).to_have_count(0)
    expect(page.locator('.wf-current[data-state="awaiting_evidence"]')).to_be_visible()
    screenshot("page")

    actions.get_by_label("New date").fill("2026-03-20")
    actions.get_by_label("Reason (kept in the history)").fill("The resident is travelling for work.")
    actions.get_by_role("button", name="Extend").click()
    expect(page.get_by_text("The deadline moved to 11:59 PM on Friday 20 March 2026")).to_be_visible()
    expect(page.get_by_text("Reason: The resident is travelling for work.")).to_be_visible()

    # Someone else withdraws it while this page is open; this page's form is now stale.
    db.session.expire_all()
    disputes.withdraw_dispute(Actor.staff(manager), db.session.get(Dispute, dispute.id),
                              reason="Settled with the owner.")
    db.session.commit()
    actions.get_by_label("Withdraw the dispute: why").fill("Duplicate.")
    actions.get_by_role("button", name="Withdraw").click()
    expect(page.get_by_role("alert")).to_contain_text("This dispute changed while you were looking at it")
    expect(page.get_by_test_id("state")).to_have_text("withdrawn")
    screenshot("stale")


@DESKTOP
def test_the_reports_page(app, page, login, manager, make_dispute, screenshot):
    # The live server's database is shared by every browser test: this one adds no votes or letters.
    make_dispute("awaiting_evidence")
    make_dispute("lapsed")
    make_dispute("evidence_received", category="noise")
    db.session.commit()
    login(page, manager)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Disputes by month and outcome")).to_be_visible()
    expect(page.locator("section.chart svg")).to_have_count(7)
    expect(page.get_by_text("3 disputes written up in the period.")).to_be_visible()
    with page.expect_download() as download:
        page.locator("#categories").get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename.endswith("-categories-12m.csv")
    screenshot("reports")


@DESKTOP
def test_a_supervisor_keeps_the_roster_and_makes_an_api_key(app, page, login, supervisor, manager, screenshot):
    login(page, supervisor)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.get_by_label("Token cap ($)").fill("lots")
    page.get_by_role("button", name="Save the settings").click()
    expect(page.get_by_role("alert")).to_contain_text("The token cap should be written like 150")
    roster = page.locator("#roster")
    roster.get_by_label("Name").fill("Pat Peer")
    roster.get_by_label("Email").fill("pat@peers.test")
    roster.get_by_label("Organisation").fill("Peer Management")
    roster.get_by_role("button", name="Add to the roster").click()
    expect(page.get_by_text("Pat Peer is on the roster.")).to_be_visible()
    keys = page.locator("#api-keys")
    keys.get_by_label("What will use it").fill("AppFolio sync")
    keys.get_by_role("button", name="Make a key").click()
    expect(page.get_by_test_id("new-key")).to_have_text(re.compile(r"^rsv_"))
    screenshot("settings")


def test_on_a_phone_the_pages_fit_the_screen(app, page, login, manager, make_dispute, screenshot):
    dispute = make_dispute("evidence_received")
    db.session.commit()
    login(page, manager)
    for path, name in (("/", "dashboard"), (f"/disputes/{dispute.id}", "dispute")):
        page.goto(app.config["LIVE_URL"] + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than the phone"
        screenshot(name)
