"""The manager's app in a real headless chromium: sign in, open a dispute, the dashboard's order,
the dispute page's actions (and a stale form), the reports, and a newcomer's whole path from the
demo through the Mailbox to the reports. A screenshot of each is kept."""
from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from resolver.actors import Actor
from resolver.extensions import db
from resolver.models import Dispute, Property
from resolver.services import disputes

from .screen import fits_the_screen

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
    expect(page.get_by_text("You are signed out, here and on any other device")).to_be_visible()


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
    page.get_by_label("Category").select_option(label="Security deposit deduction")
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
    expect(page.locator("section.chart svg")).to_have_count(8)  # the lessons learned are a list, without one
    expect(page.get_by_role("heading", name="Time to first response")).to_be_visible()
    expect(page.get_by_role("heading", name="Lessons learned, for training")).to_be_visible()
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
        assert fits_the_screen(page), f"{path} is wider than the phone"
        screenshot(name)


# The newcomer's whole path, as the README tells it --------------------------------------------------

DEMO_PASSWORD = "demo password 1"


@pytest.fixture
def demo_site(tmp_path, fresh_database, frozen_clock):
    """`resolver demo` then `resolver serve`, in miniature: a server of its own (so this story adds
    nothing to the database other browser tests share), the demo company, and the local mail catcher
    whose Mailbox shows every email Resolver sends."""
    from werkzeug.serving import make_server

    from resolver import create_app
    from resolver.demo import build_demo
    from resolver.mailcatcher import start_mail_catcher

    from ..conftest import free_port

    port = free_port()
    site = create_app({
        "TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": fresh_database("resolver_newcomer"), "SECRET_KEY": "newcomer-secret",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "LOCAL_MAIL_PORT": free_port(),
    })
    catcher = start_mail_catcher(site)
    server = make_server("127.0.0.1", port, site, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    site.config["LIVE_URL"] = f"http://127.0.0.1:{port}"
    try:
        with site.app_context():
            db.create_all()
            build_demo(password=DEMO_PASSWORD)
            db.session.commit()
            deliver()  # the demo's own email, as `resolver serve` delivers it on starting
            yield site
            db.session.remove()
            db.engine.dispose()
    finally:
        server.shutdown()
        thread.join(timeout=5)
        catcher.stop()


def deliver() -> None:
    """What the worker `resolver serve` runs does every few seconds: send what is queued."""
    from resolver.mail import send_pending

    send_pending()


def link_from_mailbox(desk, url: str, dispute_id: int, to: str, path: str) -> str:
    """Open the newest email about this dispute to ``to`` in the Mailbox; take its link to ``path``."""
    from resolver.mailcatcher import list_messages

    [newest, *_] = [m for m in list_messages() if m.dispute_id == dispute_id and to in m.to_addresses]
    desk.goto(url + "/mailbox/")
    desk.locator(f'.mail-list a[href="/mailbox/{newest.id}"]').click()
    expect(desk.get_by_text(newest.subject).first).to_be_visible()
    return desk.locator(f'.mail-text a[href*="{path}"]').first.get_attribute("href")


@pytest.mark.viewport({"width": 1280, "height": 900})
def test_a_newcomer_follows_a_dispute_from_opening_to_the_reports(demo_site, browser, page, screenshot, request):
    """Sign in to the demo, open a dispute, and follow it through the resident's side, the team's
    votes, the letter and its receipt to a closed dispute counted in the reports, all in the browser,
    reaching the resident's and the members' links through the Mailbox."""
    from resolver.demo import MANAGER_EMAIL
    from resolver.models import PanelSeat

    url = demo_site.config["LIVE_URL"]
    desk = page
    phone_context = browser.new_context(viewport={"width": 390, "height": 844})
    phone = phone_context.new_page()
    phone.set_default_timeout(10_000)

    # Sign in with what `resolver demo` printed.
    desk.goto(url + "/")
    desk.get_by_label("Email").fill(MANAGER_EMAIL)
    desk.get_by_label("Password").fill(DEMO_PASSWORD)
    desk.get_by_role("button", name="Sign in").click()
    expect(desk.get_by_role("heading", name="What needs you now")).to_be_visible()

    # Open a dispute for a new resident, with a disputed item and a category.
    desk.get_by_role("navigation", name="Main").get_by_role("link", name="Open a dispute").click()
    desk.get_by_role("radio", name="A new resident").check()
    desk.get_by_label("New resident's name").fill("Jordan Newcomer")
    desk.get_by_label("Email", exact=True).fill("jordan.newcomer@mail.test")
    desk.get_by_label("Property").select_option(index=1)
    desk.get_by_label("Unit").fill("9Z")
    desk.get_by_label("The issue, as the resident describes it").fill("The parking fee was charged twice in May.")
    desk.get_by_label("What was already fixed").fill("We refunded one of the two charges.")
    desk.get_by_label("The company's position").fill("The second charge was for the guest permit.")
    desk.get_by_label("Category").select_option(label="Parking permits")  # the demo company's own
    desk.locator('input[name="item-0-description"]').fill("Guest permit")
    desk.locator('input[name="item-0-amount"]').fill("40")
    desk.get_by_role("button", name="Open and send the invitation").click()
    expect(desk.get_by_text("The invitation is on its way to Jordan Newcomer")).to_be_visible()
    dispute_url = desk.url
    dispute_id = int(dispute_url.rsplit("/", 1)[1])

    # The resident's invitation, through the Mailbox, opened on their phone.
    deliver()
    phone.goto(link_from_mailbox(desk, url, dispute_id, "jordan.newcomer@mail.test", "/r/e/"))
    expect(phone.get_by_text("This page is for Jordan Newcomer")).to_be_visible()
    phone.get_by_label("What happened, in your own words").fill("I only ever had one permit.")
    phone.get_by_label(re.compile("Your response about")).fill("I never asked for a guest permit.")
    phone.get_by_label("What would put this right for you?").fill("Refund the second charge.")
    phone.get_by_role("button", name="Send my side").click()
    expect(phone.get_by_role("heading", name="Thank you, we have your side")).to_be_visible()

    # Back at the desk: the resident's side is there; choose the team and send the case.
    desk.goto(dispute_url)
    expect(desk.get_by_text("I only ever had one permit.")).to_be_visible()
    desk.get_by_role("button", name="Seat this team").click()
    expect(desk.get_by_text("The team is chosen")).to_be_visible()
    desk.get_by_role("button", name="Send the case to the team").click()
    expect(desk.get_by_text("The case went to the resolution team.")).to_be_visible()
    screenshot("with-the-team")

    # The members vote from their own emails.
    deliver()
    db.session.expire_all()
    seats = db.session.scalars(select(PanelSeat).where(PanelSeat.dispute_id == dispute_id)).all()
    assert len(seats) >= 3
    for n, seat in enumerate(seats):
        phone.goto(link_from_mailbox(desk, url, dispute_id, seat.member.email, "/p/v/"))
        expect(phone.get_by_text(f"Voting as {seat.member.name}")).to_be_visible()
        phone.locator('input[name="choice"][value="compromise"]').check()
        phone.fill("#reason", "Both sides have a point; refund half as a gesture." if n else
                   "The permit was never asked for; meet the resident halfway.")
        phone.get_by_role("button", name=re.compile("(Record|Change) my vote")).click()
        expect(phone.get_by_text(f"Thank you, {seat.member.name}. Your vote is recorded")).to_be_visible()
        db.session.expire_all()
        if db.session.get(Dispute, dispute_id).state != "panel_review":
            break  # everyone has voted: the team's review closes at once

    # The team decided; the manager drafts, approves and sends the letter.
    desk.goto(dispute_url)
    expect(desk.get_by_test_id("state")).to_have_text("decided")
    desk.get_by_role("button", name="Draft the letter").click()
    expect(desk.get_by_text("A draft letter is ready below.")).to_be_visible()
    letter = desk.get_by_role("region", name="The letter")
    override = letter.get_by_label(re.compile("approve anyway because"))
    if override.count():
        override.fill("Read and agreed with the office.")
    letter.get_by_role("button", name="Approve the letter").click()
    expect(desk.get_by_text("The letter is approved. Send it when ready.")).to_be_visible()
    desk.get_by_role("button", name="Send the letter to Jordan Newcomer").click()
    expect(desk.get_by_test_id("state")).to_have_text("letter sent")

    # The resident reads the letter from its email and confirms they received it: the follow-up's end.
    deliver()
    phone.goto(link_from_mailbox(desk, url, dispute_id, "jordan.newcomer@mail.test", "/r/o/"))
    expect(phone.get_by_role("heading", name="Our written reply")).to_be_visible()
    phone.get_by_role("button", name="Yes, I received this letter").click()
    expect(phone.get_by_text("Thank you for letting us know the letter arrived.")).to_be_visible()

    desk.goto(dispute_url)
    expect(desk.get_by_test_id("state")).to_have_text("resident confirmed receipt")
    desk.get_by_role("button", name="Close", exact=True).click()
    expect(desk.get_by_text("The dispute is closed.")).to_be_visible()
    history = desk.get_by_role("region", name="History")
    for sentence in ("sent the resident the invitation", "Jordan Newcomer sent their side",
                     "sent the case to the resolution team", "The resolution team decided: a compromise",
                     "sent the outcome letter", "Jordan Newcomer confirmed they received the letter",
                     "closed the dispute"):
        expect(history).to_contain_text(sentence)
    screenshot("closed")

    # The reports count it: its category is there to train on, and the CSV says the same.
    desk.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    categories = desk.locator("section#categories")
    expect(categories.locator("svg")).to_contain_text("Parking permits")
    csv = desk.request.get(url + "/reports/categories.csv").text()
    assert "Parking permits,1" in csv
    screenshot("reports")
    phone_context.close()
