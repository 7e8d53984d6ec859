"""A real company's first day, from nothing: `resolver create-company` on an empty database, then
`resolver serve`, and everything else in chromium and from the emails the SMTP server receives — the
first supervisor sets a password, completes the set-up checklist, imports the portfolio from a CSV,
invites a manager, and that manager takes a dispute about an imported unit to a sent letter."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ..conftest import Inbox, free_port
from .conftest import ARTIFACTS

ROOT = Path(__file__).resolve().parents[2]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SUPERVISOR = ("sam.ortiz@cedar.test", "Sam Ortiz")
MANAGER = ("riley.chen@cedar.test", "Riley Chen")
MEMBERS = [("Priya Raman", "priya@peers.test"), ("Tomás Ibarra", "tomas@peers.test"),
           ("Grace Whitlock", "grace@peers.test")]
RENT_ROLL = (
    "Tenant ID,Property Name,Address,Portfolio,Unit,Tenant Name,Email Address,Phone Number\n"
    "T-1001,Cedar Flats,12 Cedar Street,North,2B,Morgan Reyes,morgan.reyes@mail.test,555-0101\n"
    "T-1002,Cedar Flats,12 Cedar Street,North,3A,Avery Lund,avery.lund@mail.test,555-0102\n"
    "T-2001,Juniper Court,40 Juniper Road,South,1,Kai Moreno,kai.moreno@mail.test,\n"
)


@pytest.fixture
def new_company(tmp_path, fresh_database, smtp_server, smtp):
    """An empty database, `resolver create-company` and nothing else, then `resolver serve` (its
    worker sends mail to the test's SMTP server); yields the address serve answers on."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESOLVER_")}
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", RESOLVER_INSTANCE_PATH=str(tmp_path / "instance"),
               RESOLVER_DATABASE_URL=fresh_database("resolver_first_month"), RESOLVER_SECRET_KEY="first-month",
               RESOLVER_MAIL_SERVER="127.0.0.1", RESOLVER_MAIL_PORT=str(smtp_server.port),
               RESOLVER_WORKER_POLL_SECONDS="0.2")
    created = subprocess.run(
        [sys.executable, "-m", "resolver", "create-company", "--slug", "cedar", "--name", "Cedar Homes",
         "--time-zone", "America/Chicago", "--supervisor-email", SUPERVISOR[0], "--supervisor-name", SUPERVISOR[1]],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert created.returncode == 0, created.stdout + created.stderr
    server = subprocess.Popen([sys.executable, "-m", "resolver", "serve", "--port", str(port)], env=env,
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        while not any("Press Ctrl-C" in line for line in lines):
            line = server.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()


def email_to(smtp, address: str, containing: str, *, timeout: float = 30.0):
    """The newest email to ``address`` with ``containing`` in its text, once serve's worker sent it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in smtp.to(address) if containing in Inbox.text_of(m)]
        if found:
            return found[-1]
        time.sleep(0.1)  # serve's worker sends on its own schedule; nothing here moves time
    raise AssertionError(f"no email to {address} with {containing!r}; arrived: "
                         f"{[(m['rcpt'], str(m['message']['subject'])) for m in smtp.messages]}")


def link_in(message, path: str, url: str) -> str:
    """The email's link to ``path``; it must point where serve answers."""
    links = re.findall(r"https?://[^\s<>\"')\]]+", Inbox.text_of(message))
    wanted = [link for link in links if path in link]
    assert wanted, f"no link to {path} in: {links}"
    assert all(link.startswith(url + "/") for link in links), links
    return wanted[0]


def choose_password(page, link: str, password: str) -> None:
    page.goto(link)
    expect(page.get_by_role("heading", name="Set your password")).to_be_visible()
    page.get_by_label("New password").fill(password)
    page.get_by_label("The same password again").fill(password)
    page.get_by_role("button", name="Set my password and sign in").click()
    expect(page.get_by_role("heading", name="What needs you now")).to_be_visible()


def test_a_new_company_goes_from_create_company_to_a_sent_letter(new_company, browser, smtp, tmp_path, request):
    url = new_company
    contexts = []

    def person(viewport):
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    def shot(page, name):
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{name}.png"), full_page=True)

    try:
        # The first supervisor's invitation, sent by serve's worker, sets their password.
        desk = person(DESKTOP)
        invitation = email_to(smtp, SUPERVISOR[0], "/set-password/")
        choose_password(desk, link_in(invitation, "/set-password/", url), "cedar shingles 42")
        checklist = desk.locator("#setup")
        expect(checklist).to_contain_text("Setting up Cedar Homes")
        expect(checklist.locator("li[data-item=time_zone]")).to_have_attribute("data-done", "yes")
        for item in ("ladder", "mediation", "roster", "properties"):
            expect(checklist.locator(f"li[data-item={item}]")).to_have_attribute("data-done", "no")
        shot(desk, "checklist")

        # Opening a dispute now would promise a team the company cannot seat: refused up front.
        desk.get_by_role("navigation", name="Main").get_by_role("link", name="Open a dispute").click()
        expect(desk.locator("main")).to_contain_text("Disputes cannot be opened yet")

        # The way up the ladder, and no outside mediation, chosen on purpose.
        desk.goto(url + "/")
        desk.locator("#setup li[data-item=ladder]").get_by_role("link").click()
        desk.get_by_label("Supervisor", exact=True).fill(SUPERVISOR[1])
        desk.get_by_label("Supervisor's email").fill(SUPERVISOR[0])
        desk.get_by_label("None: we offer no outside mediation").check()
        desk.get_by_role("button", name="Save the settings").click()
        expect(desk.get_by_text("Saved.")).to_be_visible()

        # Three peers on the roster: a team of three can be seated.
        for name, address in MEMBERS:
            desk.locator("#member-name").fill(name)
            desk.locator("#member-email").fill(address)
            desk.get_by_role("button", name="Add to the roster").click()
            expect(desk.get_by_text(f"{name} is on the roster.")).to_be_visible()

        # The portfolio, from the property-management system's CSV.
        roll = tmp_path / "rent-roll.csv"
        roll.write_text(RENT_ROLL, encoding="utf-8")
        desk.get_by_role("navigation", name="Main").get_by_role("link", name="Properties").click()
        desk.get_by_role("link", name="Import a CSV").first.click()
        desk.get_by_label("CSV file").set_input_files(str(roll))
        desk.get_by_role("button", name="Upload and preview").click()
        expect(desk.get_by_role("heading", name="Preview of rent-roll.csv")).to_be_visible()
        shot(desk, "preview")
        desk.get_by_role("button", name=re.compile(r"^Import 3 rows")).first.click()
        desk.get_by_role("navigation", name="Main").get_by_role("link", name="Residents").click()
        for name in ("Morgan Reyes", "Avery Lund", "Kai Moreno"):
            expect(desk.locator("main")).to_contain_text(name)

        # Ready: the checklist is gone.
        desk.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
        expect(desk.get_by_role("heading", name="What needs you now")).to_be_visible()
        expect(desk.locator("#setup")).to_have_count(0)

        # A manager is invited and joins from their email.
        desk.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
        desk.locator("#staff-name").fill(MANAGER[1])
        desk.locator("#staff-email").fill(MANAGER[0])
        desk.locator("#staff-role").select_option("manager")
        desk.get_by_role("button", name="Send the invitation").click()
        expect(desk.locator("#staff")).to_contain_text("invited, not yet joined")
        office = person(DESKTOP)
        joining = email_to(smtp, MANAGER[0], "/set-password/")
        choose_password(office, link_in(joining, "/set-password/", url), "juniper berries 7")

        # The manager opens a dispute for Morgan Reyes in imported unit 2B.
        office.get_by_role("navigation", name="Main").get_by_role("link", name="Open a dispute").click()
        office.get_by_role("radio", name="Someone already in Resolver").check()
        office.get_by_label("Existing resident").select_option(label="Morgan Reyes — Cedar Flats, unit 2B (morgan.reyes@mail.test)")
        office.get_by_label("Property").select_option(label="Cedar Flats")
        office.get_by_label("Unit").fill("2b")
        office.get_by_label("The issue, as the resident describes it").fill("I was charged for a broken blind.")
        office.get_by_label("What was already fixed").fill("We replaced the blind the same week.")
        office.get_by_label("The company's position").fill("The move-out photos show the slats bent.")
        office.get_by_label("Category").select_option(label="Security deposit deduction")
        office.locator('input[name="item-0-description"]').fill("Blind replacement")
        office.locator('input[name="item-0-amount"]').fill("45")
        office.get_by_role("button", name="Open and send the invitation").click()
        expect(office.get_by_text("The invitation is on its way to Morgan Reyes")).to_be_visible()
        expect(office.locator("main")).to_contain_text("Cedar Flats")
        expect(office.locator("main")).to_contain_text("2B")
        dispute_url = office.url

        # Morgan answers from the invitation, on a phone.
        phone = person(PHONE)
        phone.goto(link_in(email_to(smtp, "morgan.reyes@mail.test", "/r/e/"), "/r/e/", url))
        phone.get_by_label("What happened, in your own words").fill("The blind was bent when I moved in.")
        phone.get_by_label(re.compile("Your response about")).fill("It was like that on day one.")
        phone.get_by_label("What would put this right for you?").fill("Remove the charge.")
        phone.get_by_role("button", name="Send my side").click()
        expect(phone.get_by_role("heading", name="Thank you, we have your side")).to_be_visible()

        # The team is seated and votes from its emails.
        office.goto(dispute_url)
        office.get_by_role("button", name="Seat this team").click()
        office.get_by_role("button", name="Send the case to the team").click()
        expect(office.get_by_text("The case went to the resolution team.")).to_be_visible()
        for name, address in MEMBERS:
            phone.goto(link_in(email_to(smtp, address, "/p/v/"), "/p/v/", url))
            if phone.get_by_text("The team's review is complete").count():
                break
            phone.locator('input[name="choice"][value="resident"]').check()
            phone.fill("#reason", "The move-in report does not mention the blind; drop the charge.")
            phone.get_by_role("button", name=re.compile("(Record|Change) my vote")).click()
            expect(phone.get_by_text(f"Thank you, {name}. Your vote is recorded")).to_be_visible()
            office.goto(dispute_url)
            if office.get_by_test_id("state").inner_text() == "decided":
                break

        # The letter: drafted, approved, sent; it reaches Morgan with a link that works.
        office.goto(dispute_url)
        expect(office.get_by_test_id("state")).to_have_text("decided")
        office.get_by_role("button", name="Draft the letter").click()
        letter = office.get_by_role("region", name="The letter")
        override = letter.get_by_label(re.compile("approve anyway because"))
        if override.count():
            override.fill("Read and agreed with the office.")
        letter.get_by_role("button", name="Approve the letter").click()
        office.get_by_role("button", name="Send the letter to Morgan Reyes").click()
        expect(office.get_by_test_id("state")).to_have_text("letter sent")
        shot(office, "letter-sent")
        phone.goto(link_in(email_to(smtp, "morgan.reyes@mail.test", "/r/o/"), "/r/o/", url))
        expect(phone.get_by_role("heading", name="Our written reply")).to_be_visible()
    finally:
        for context in contexts:
            context.close()
