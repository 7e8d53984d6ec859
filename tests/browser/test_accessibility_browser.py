"""Every resident, panel member and manager can use Resolver with a keyboard, a screen reader or a
large zoom: the skip link, the error summary that takes the focus with or without JavaScript, each
field's message tied to it, no sideways scrolling at 320 px (400 % zoom), the brand colour's contrast,
and the evidence and vote forms completed with the keyboard alone, the focus always visible.

Then WCAG 2.2 AA on every page of every audience (resident, panel, staff, Mailbox, error pages, and
the pages a send leads to): axe-core finds nothing, each page has one h1, its landmarks, its language
and a skip link, and at 200 % and 400 % zoom, with or without WCAG's text spacing, nothing scrolls
sideways or is cut off; the emails, letters and charts wear the brand colour at full contrast. Every
resident page is walked again for a resident who reads Spanish: the same checks, the page in Spanish."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import current_app
from playwright.sync_api import expect

from resolver import clock, links
from resolver.actors import Actor
from resolver.extensions import db
from resolver.letters.receipt import receipt_context
from resolver.mail import send_pending
from resolver.mailcatcher import mailbox_folder, store_message
from resolver.models import LinkUse, PanelSeat, Submission, Vote
from resolver.services import accounts

from ..conftest import Inbox
from ..spanish import english_left
from .test_import_browser import ROLL
from .test_panel_browser import invite
from .test_resident_browser import invited  # noqa: F401 (a fixture)
from .wcag import LUMINANCE, SHAPE_CONTRASTS, WINDOW, axe_wcag, problems_of, report, walk

pytestmark = pytest.mark.browser
ZOOMED = {"width": 320, "height": 640}  # 1280 px at 400 %

# Every id an aria-* attribute names, that names no element on the page.
BROKEN_REFERENCES = """() => Array.from(document.querySelectorAll(
    '[aria-describedby], [aria-errormessage], [aria-labelledby], [aria-controls]')).flatMap(el =>
    ['aria-describedby', 'aria-errormessage', 'aria-labelledby', 'aria-controls'].flatMap(attr =>
      (el.getAttribute(attr) || '').split(/\\s+/).filter(id => id && !document.getElementById(id))
        .map(id => `${el.id || el.name}: ${attr}=${id}`)))"""

# The focused element shows a ring that is seen (WCAG 2.4.13): at least 2 px thick, at least 3:1
# against the page behind it.
FOCUS_SHOWN = """() => { const s = getComputedStyle(document.activeElement); """ + LUMINANCE + """
    const [hi, lo] = [lum(rgb(s.outlineColor)), lum(rgb(getComputedStyle(document.body).backgroundColor))].sort((a, b) => b - a);
    return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 && (hi + 0.05) / (lo + 0.05) >= 3; }"""

# The contrast ratio of an element's text against the background it is drawn on (WCAG's formula).
CONTRAST = """(el) => { """ + LUMINANCE + """
  let back = el;
  while (back && rgb(getComputedStyle(back).backgroundColor).length === 4 && rgb(getComputedStyle(back).backgroundColor)[3] === 0) {
    back = back.parentElement;
  }
  const bg = back ? rgb(getComputedStyle(back).backgroundColor) : [255, 255, 255];
  const [hi, lo] = [lum(rgb(getComputedStyle(el).color)), lum(bg)].sort((a, b) => b - a);
  return (hi + 0.05) / (lo + 0.05);
}"""


# What sticks out past the right edge, to say in a failure.
WIDER = """() => Array.from(document.querySelectorAll('main *')).filter(el =>
    el.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5).slice(0, 5).map(el =>
    `${el.tagName.toLowerCase()}.${el.className} ${Math.round(el.getBoundingClientRect().width)}px`)"""


def fits_sideways(page) -> bool:
    page.wait_for_load_state("load")  # as fits_the_screen: measured with the stylesheet in
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def tab_to(page, selector: str, key: str = "Tab", limit: int = 40) -> None:
    """Press Tab (or Shift+Tab) until ``selector`` has the focus, the focus visible at every step."""
    for _ in range(limit):
        page.keyboard.press(key)
        assert page.evaluate(FOCUS_SHOWN), page.evaluate("document.activeElement.outerHTML.slice(0, 120)")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} was never reached with {key}")


@pytest.fixture
def vote_link(app, smtp, make_dispute, make_panel, manager):
    dispute = make_dispute("evidence_received", items=[
        {"description": "Carpet cleaning", "amount_cents": 15000, "company_reason": "Stains in the living room."},
    ])
    members = make_panel(dispute.company, size=3)
    links = invite(smtp, dispute, members, manager)
    return dispute, members[0], links[members[0].email]


def refuse_the_evidence_form(page, link: str) -> None:
    page.goto(link)
    page.get_by_label("What happened, in your own words").fill("Typed on the bus, with a typo below.")
    page.get_by_label("Amount you are asking for, if any (optional)").fill("1e9")
    page.get_by_role("button", name="Send my side").click()
    page.get_by_role("heading", name="Your side has not been sent yet").wait_for()


def refuse_the_vote_form(page, link: str) -> None:
    page.goto(link)
    page.locator('input[name="choice"][value="uphold"]').check()
    page.fill("#reason", "The photos show the stains.")
    page.fill("#token_amount", "a lot")
    page.get_by_role("button", name="Record my vote").click()
    page.get_by_text("Nothing was saved.").wait_for()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_refused_form_puts_the_focus_on_its_summary_and_ties_each_message_to_its_field(
        browser, invited, vote_link, javascript):  # noqa: F811 (invited is a fixture)
    (dispute, link), (_, member, vote) = invited, vote_link
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        for refuse, url, field in ((refuse_the_evidence_form, link, "suggested_amount"),
                                   (refuse_the_vote_form, vote, "token_amount")):
            refuse(page, url)
            # The summary at the top takes the focus, so a screen reader reads it first.
            assert page.evaluate("document.activeElement.id") == "problem", url
            summary = page.locator("#problem")
            expect(summary).to_have_attribute("role", "alert")
            expect(summary.locator(f'a[href="#{field}"]')).to_be_visible()  # it leads to the field
            # The field says it is wrong, and why, through an element that is there.
            box = page.locator(f"#{field}")
            expect(box).to_have_attribute("aria-invalid", "true")
            assert f"{field}-error" in box.get_attribute("aria-describedby").split()
            expect(page.locator(f"#{field}-error")).to_be_visible()
            assert page.evaluate(BROKEN_REFERENCES) == []
    finally:
        context.close()
    assert db.session.query(Submission).filter_by(dispute_id=dispute.id).count() == 0


def test_every_layout_starts_with_a_skip_link_into_the_page(app, page, login, manager, invited, vote_link):  # noqa: F811
    _, link = invited
    _, _, vote = vote_link
    resident_and_panel = [link, vote]
    login(page, manager)  # after the resident's and member's pages, which need no sign-in
    staff = [app.config["LIVE_URL"] + path for path in ("/", "/mailbox/")]
    for url in resident_and_panel + staff:
        page.goto(url)
        skip = page.get_by_role("link", name="Skip to content")
        page.keyboard.press("Tab")
        expect(skip).to_be_focused()  # the first stop of the Tab key
        expect(skip).to_be_in_viewport()  # and seen when it has the focus
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main", url
        # The next Tab goes on inside the page, not back to the header.
        page.keyboard.press("Tab")
        assert page.evaluate("document.getElementById('main').contains(document.activeElement)"), url


@pytest.mark.viewport(ZOOMED)
def test_at_400_percent_zoom_no_page_scrolls_sideways(app, page, login, manager, make_dispute, invited, vote_link):  # noqa: F811
    _, link = invited
    _, _, vote = vote_link
    for url in (link, vote):
        page.goto(url)
        assert fits_sideways(page), (url, page.evaluate(WIDER))
    dispute = make_dispute("evidence_received")
    db.session.commit()
    login(page, manager)
    for path in ("/", f"/disputes/{dispute.id}", "/mailbox/"):
        page.goto(app.config["LIVE_URL"] + path)
        assert fits_sideways(page), (path, page.evaluate(WIDER))


def test_the_brand_colour_reads_at_seven_to_one(app, page, login, manager, invited, vote_link):  # noqa: F811
    _, link = invited
    _, _, vote = vote_link
    pages = [(link, ["header .brand", "main a", "button.send"]), (vote, ["header .brand", "button.send"])]
    for url, selectors in pages:
        page.goto(url)
        for selector in selectors:
            for element in page.locator(selector).element_handles():
                ratio = element.evaluate(CONTRAST)
                assert ratio >= 7, f"{selector} on {url}: {ratio:.2f}:1"
    login(page, manager)
    page.goto(app.config["LIVE_URL"] + "/")
    for selector in ("header .brand", "header nav a"):
        for element in page.locator(selector).element_handles():
            assert element.evaluate(CONTRAST) >= 7, selector


def test_the_evidence_form_is_sent_with_the_keyboard_alone(page, invited):  # noqa: F811
    dispute, link = invited
    page.goto(link)
    tab_to(page, "#details")
    page.keyboard.type("The carpet was stained when I moved in; my photos show it.")
    tab_to(page, "textarea[name^=item-]")
    page.keyboard.type("The stains were there before me.")
    tab_to(page, "#details", key="Shift+Tab")  # back up to add a line
    page.keyboard.press("End")  # (a textarea's own key, not a way through the page)
    page.keyboard.type(" I told the office on day one.")
    tab_to(page, "#suggested_resolution")
    page.keyboard.type("Refund the cleaning charge.")
    tab_to(page, "#suggested_amount")
    page.keyboard.type("150")
    tab_to(page, "button.send")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Thank you, we have your side")).to_be_visible()
    [sent] = db.session.query(Submission).filter_by(dispute_id=dispute.id).all()
    assert sent.details.endswith("I told the office on day one.")
    assert sent.suggested_amount_cents == 15000


def test_the_vote_form_is_sent_with_the_keyboard_alone(page, vote_link):
    dispute, member, vote = vote_link
    page.goto(vote)
    tab_to(page, 'input[name="choice"]')
    page.keyboard.press("Space")  # the first answer
    tab_to(page, "#reason")
    page.keyboard.type("The move-in photos show the stains.")
    tab_to(page, 'input[name="choice"]', key="Shift+Tab")  # back to the answer: still chosen
    assert page.evaluate("document.activeElement.checked")
    tab_to(page, "#reason")
    tab_to(page, "#vote-form button[type=submit]")
    page.keyboard.press("Enter")
    page.get_by_text(f"Thank you, {member.name}. Your vote is recorded").wait_for()
    db.session.expire_all()
    [cast] = db.session.query(Vote).filter_by(dispute_id=dispute.id).all()
    assert cast.reason == "The move-in photos show the stains."


def test_axe_finds_nothing_on_the_resident_and_panel_pages(page, invited, vote_link):  # noqa: F811
    from axe_playwright_python.sync_playwright import Axe  # axe-core ships in the package: nothing fetched

    axe = Axe()
    _, link = invited
    _, _, vote = vote_link
    for url, refuse in ((link, refuse_the_evidence_form), (vote, refuse_the_vote_form)):
        page.goto(url)
        found = axe.run(page)
        assert found.violations_count == 0, found.generate_report()
        refuse(page, url)  # and the page again, sent back with its problems
        found = axe.run(page)
        assert found.violations_count == 0, found.generate_report()


# Every page of every audience, WCAG 2.2 AA (what is measured: tests/browser/wcag.py) ------------------


@pytest.fixture
def wide(browser):
    # A reader's own style sheet (the text spacing below) is theirs: the pages' Content-Security-Policy,
    # which refuses a style the page did not bring, does not apply to it.
    context = browser.new_context(viewport=WINDOW, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def cases(make_dispute):
    """A dispute in each state a page looks different in (the session's database is shared: these are
    this test's own)."""
    return in_each_state(make_dispute, ("lapsed", "closed", "outcome_sent", "outcome_draft", "deadlocked",
                                        "panel_review", "evidence_received", "awaiting_evidence", "draft"))


def in_each_state(make_dispute, states) -> dict:
    # The walks to a lapse and a close move the clock on past their windows: they go first.
    made = {}
    for state in states:
        votes = ("uphold", "resident", "compromise") if state == "deadlocked" else ("uphold", "uphold", "compromise")
        made[state] = make_dispute(state, items=[
            {"description": "Carpet cleaning", "amount_cents": 15000, "company_reason": "Stains in the living room."},
        ], votes=votes)
    db.session.commit()
    return made


PATHS = {"evidence": "/r/e/", "outcome": "/r/o/", "vote": "/p/v/"}


def url_of(link) -> str:
    return current_app.config["LIVE_URL"] + PATHS[link.purpose] + links.token_for(link)


def resident_link(dispute, purpose: str = "evidence") -> str:
    return url_of(links.current_link(dispute.id, purpose, resident_id=dispute.resident_id))


def first_seat(dispute) -> PanelSeat:
    return db.session.scalars(db.select(PanelSeat).filter_by(dispute_id=dispute.id).order_by(PanelSeat.id)).first()


def seat_link(dispute) -> str:
    return url_of(links.current_link(dispute.id, "vote", seat_id=first_seat(dispute).id))


def test_every_resident_and_panel_page_passes_axe_and_reads_at_any_zoom(app, wide, cases):
    evidence = resident_link(cases["awaiting_evidence"])
    received = cases["evidence_received"]
    submission = db.session.scalars(db.select(Submission).filter_by(dispute_id=received.id)).one()
    expired = links.issue_link(cases["closed"], "evidence", resident=received.resident,
                               expires_dt=clock.now_utc() - timedelta(days=1))
    reviewing, split = cases["panel_review"], cases["deadlocked"]
    first_seat(split).is_chair = True  # the chair of a split team decides on their page
    db.session.commit()
    urls = {
        "resident: the evidence form": evidence,
        "resident: the receipt": f"{resident_link(received)}/receipt/{submission.id}",
        "resident: the status page": f"{resident_link(received)}/status",
        "resident: the window closed": resident_link(cases["lapsed"]),
        "resident: the outcome letter": resident_link(cases["outcome_sent"], "outcome"),
        "resident: an expired link": url_of(expired),
        "resident: a broken link": app.config["LIVE_URL"] + "/r/e/not-a-link",
        "panel: the vote page": seat_link(reviewing),
        "panel: the chair decides": seat_link(split),
        "panel: the review is over": seat_link(cases["outcome_draft"]),
        "panel: a broken link": app.config["LIVE_URL"] + "/p/v/not-a-link",
    }
    found = walk(wide, urls)
    assert not found, report(found)


def caught_email(smtp, dispute) -> str:
    """One email the dispute's resident was sent, put in the Mailbox as its catcher would: its id."""
    send_pending()
    message = smtp.to(dispute.resident.email)[-1]
    return store_message(mailbox_folder(current_app), bytes(message))


def test_every_staff_and_mailbox_page_passes_axe_and_reads_at_any_zoom(app, wide, cases, login, supervisor, smtp,
                                                                       tmp_path):
    live = app.config["LIVE_URL"]
    resident = cases["draft"].resident
    prop = resident.unit.property
    invitation = accounts.invite_staff_user(Actor.staff(supervisor), supervisor.company, name="Nia New",
                                            email=f"nia-{supervisor.id}@aspen.test", role="manager")
    message_id = caught_email(smtp, cases["awaiting_evidence"])
    db.session.commit()
    signed_out = {
        "staff: sign in": live + "/login",
        "staff: forgot the password": live + "/forgot-password",
        "staff: choose a password": live + "/set-password/" + invitation.link_url.rsplit("/", 1)[1],
        "staff: a page that is not there": live + "/no-such-page",
        "staff: the API described": live + "/api/v1/",
    }
    found = walk(wide, signed_out)
    login(wide, supervisor)
    signed_in = {
        "staff: dashboard": live + "/",
        **{f"staff: a dispute, {state}": f"{live}/disputes/{dispute.id}" for state, dispute in cases.items()},
        "staff: a team's call": f"{live}/disputes/{cases['panel_review'].id}/call",
        "staff: open a dispute": live + "/disputes/new",
        "staff: reports": live + "/reports",
        "staff: residents": live + "/residents",
        "staff: a resident": f"{live}/residents/{resident.id}",
        "staff: add a resident": live + "/residents/new",
        "staff: erase a resident": f"{live}/residents/{resident.id}/erase",
        "staff: properties": live + "/properties",
        "staff: a property": f"{live}/properties/{prop.id}",
        "staff: add a property": live + "/properties/new",
        "staff: import": live + "/import",
        "staff: settings": live + "/settings",
        "staff: unmatched mail": live + "/mail/unmatched",
        "staff: a dispute not there": live + "/disputes/999999",
        "mailbox: the inbox": live + "/mailbox/",
        "mailbox: a message": f"{live}/mailbox/{message_id}",
    }
    found |= walk(wide, signed_in)
    # The import's preview, after an upload.
    roll = tmp_path / "rent-roll.csv"
    roll.write_text(ROLL)
    wide.goto(live + "/import")
    wide.get_by_label("CSV file").set_input_files(str(roll))
    wide.get_by_role("button", name="Upload and preview").click()
    wide.get_by_role("heading", name="Preview of rent-roll.csv").wait_for()
    if problems := problems_of(wide):
        found["staff: an import's preview"] = problems
    assert not found, report(found)


# The brand colour, and each mark's contrast against what it is drawn on --------------------------------

def test_emails_letters_and_charts_wear_the_brand_colour_and_every_word_reads(app, wide, make_dispute, smtp,
                                                                              login, supervisor):
    dispute = make_dispute("outcome_sent", items=[
        {"description": "Carpet cleaning", "amount_cents": 15000, "company_reason": "Stains in the living room."},
    ])
    submission = db.session.scalars(db.select(Submission).filter_by(dispute_id=dispute.id)).one()
    receipt = current_app.jinja_env.get_template("letters/paper_receipt.html").render(
        receipt_context(dispute, submission))
    db.session.commit()
    send_pending()
    # Every email the resident was sent (the letter in one of them), and the receipt the office posts.
    emails = {message["Subject"]: Inbox.html_of(message) for message in smtp.to(dispute.resident.email)}
    brand_marks = ['td[style*="font-size:18px"]', ".letter > header p:first-child", "body > header p:first-child"]
    for name, html in {**emails, "the paper receipt": receipt}.items():
        wide.set_content(html)
        assert axe_wcag(wide) == [], name  # every word at 4.5:1 at least, among the rest
        marks = wide.locator(", ".join(brand_marks)).element_handles()
        assert marks, name
        for mark in marks:
            ratio = mark.evaluate(CONTRAST)
            assert ratio >= 7, f"{mark.inner_text()} in {name}: {ratio:.2f}:1"  # the brand colour, as on the pages
    assert any('class="letter"' in html for html in emails.values())
    # The staff's charts and the workflow's diagram.
    login(wide, supervisor)
    wide.goto(f"{app.config['LIVE_URL']}/reports")
    shapes = wide.evaluate(SHAPE_CONTRASTS, ".chart svg rect")
    assert shapes and min(shapes) >= 3, shapes
    assert max(shapes) >= 7  # the first series is the brand colour
    wide.goto(f"{app.config['LIVE_URL']}/disputes/{dispute.id}")
    [current] = wide.evaluate(SHAPE_CONTRASTS, ".diagram .wf-current rect")
    assert current >= 7, current


def sent_too_often(link) -> None:
    """``link`` has already sent as often as its pace allows."""
    pace = links.PACES[link.purpose]
    db.session.add_all(LinkUse(link_id=link.id, method="POST", outcome="ok", used_dt=clock.now_utc())
                       for _ in range(pace.sends))
    db.session.commit()


def after(page, found: dict, name: str, send) -> None:
    """Do ``send`` on the page (a form sent, as a person would), and check the page it leads to."""
    send()
    page.wait_for_load_state("load")
    if problems := problems_of(page):
        found[name] = problems


def sent_without_the_browser_checks(page, button: str) -> None:
    """Send the form empty, past the browser's own checks, to see the server's refusal page."""
    page.evaluate("document.querySelectorAll('form').forEach(form => form.noValidate = true)")
    page.get_by_role("button", name=button).click()


def submitted_past_its_script(page, form_id: str) -> None:
    """Send the form as a browser without JavaScript would, past the page's own checks (a file's size)."""
    with page.expect_navigation():
        page.evaluate("(id) => document.getElementById(id).submit()", form_id)


def test_the_pages_a_send_leads_to_pass_axe_and_read_at_any_zoom(app, wide, cases, login, supervisor):
    live = app.config["LIVE_URL"]
    reviewing, split = cases["panel_review"], cases["deadlocked"]
    first_seat(split).is_chair = True
    seats = db.session.scalars(db.select(PanelSeat).filter_by(dispute_id=reviewing.id).order_by(PanelSeat.id)).all()
    received = cases["evidence_received"]
    received.company.max_dispute_bytes = 1000
    db.session.commit()
    found = {}

    wide.goto(url_of(links.current_link(reviewing.id, "vote", seat_id=seats[1].id)))
    after(wide, found, "panel: stepped aside", lambda: (
        wide.fill("#recusal_reason", "I manage the building next door."),
        wide.get_by_role("button", name="Step aside from this case").click()))
    wide.goto(seat_link(split))
    after(wide, found, "panel: the chair decided", lambda: (
        wide.locator('input[name="decision"][value="compromise"]').check(), wide.fill("#note", "Meet halfway."),
        wide.get_by_role("button", name=re.compile("^Decide as")).click()))
    third = links.current_link(reviewing.id, "vote", seat_id=seats[2].id)
    sent_too_often(third)
    wide.goto(url_of(third))
    after(wide, found, "panel: too many votes", lambda: (
        wide.locator('input[name="choice"][value="uphold"]').check(), wide.fill("#reason", "The photos."),
        wide.get_by_role("button", name=re.compile("Record my vote")).click()))

    evidence = links.current_link(received.id, "evidence", resident_id=received.resident_id)
    wide.goto(url_of(evidence))
    after(wide, found, "resident: a file too large", lambda: (
        wide.get_by_label("What happened, in your own words").fill("The carpet was clean."),
        wide.get_by_label("Photos and documents (optional)").set_input_files(
            [{"name": "scan.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7\n" + b"0" * 1_100_000}]),
        submitted_past_its_script(wide, "evidence-form")))
    sent_too_often(evidence)
    wide.goto(url_of(evidence))
    after(wide, found, "resident: too many sends", lambda: (
        wide.get_by_label("What happened, in your own words").fill("The carpet was clean."),
        wide.get_by_role("button", name="Send my side").click()))
    wide.goto(resident_link(cases["outcome_sent"], "outcome"))
    after(wide, found, "resident: receipt of the letter confirmed", lambda: (
        wide.get_by_role("button", name="Yes, I received this letter").click()))

    wide.goto(live + "/login")
    after(wide, found, "staff: a refused sign-in", lambda: (
        wide.get_by_label("Email").fill(supervisor.email), wide.get_by_label("Password").fill("not the password"),
        wide.get_by_role("button", name="Sign in").click()))
    wide.goto(live + "/forgot-password")
    after(wide, found, "staff: a reset link asked for", lambda: (
        wide.get_by_label("Email").fill(supervisor.email), wide.get_by_role("button", name=re.compile("link")).click()))
    wide.goto(live + "/set-password/not-a-link")
    if problems := problems_of(wide):
        found["staff: a password link that does not work"] = problems
    login(wide, supervisor)
    wide.goto(live + "/disputes/new")
    after(wide, found, "staff: a refused new dispute", lambda: (
        sent_without_the_browser_checks(wide, "Open and send the invitation")))
    assert not found, report(found)


# Every resident page again, for a resident who reads Spanish ------------------------------------------

SPANISH_TYPED = "Escrito en el autobús, con un error más abajo."


def written_by_people(dispute) -> list[str]:
    """What the test's people wrote on a resident's page (names, addresses, the company's and the team's
    words, the resident's own side): theirs, not Resolver's, so English there is no fault."""
    company, resident, manager = dispute.company, dispute.resident, dispute.manager
    reasons = db.session.scalars(db.select(Vote.reason).filter_by(dispute_id=dispute.id)).all()
    return [resident.name, resident.email, dispute.unit.label, dispute.unit.property.name, company.name,
            company.contact_email, company.supervisor_name, company.supervisor_email, manager.name, manager.email,
            company.mediation_service_name, company.mediation_service_contact, dispute.issue,
            dispute.what_was_fixed or "", dispute.company_position or "", "America/Denver", "Resolver",
            "The carpet was clean when I left; I have photos.", "Refund the $150 cleaning charge.",
            "The photos and the inspection report point this way.",  # a reason, as the letter quotes it
            "coffee-shop gift card", "scan.pdf", SPANISH_TYPED, *reasons,
            *(text for item in dispute.items for text in (item.description, item.company_reason or ""))]


def spoken_in_spanish(page, dispute) -> list[str]:
    """What a page meant for a Spanish speaker gets wrong: its language, and any English of Resolver's."""
    problems = [] if page.evaluate("document.documentElement.lang") == "es" else [
        f'lang="{page.evaluate("document.documentElement.lang")}"']
    words = english_left(page.evaluate("document.title + ' ' + document.body.innerText"), written_by_people(dispute))
    return problems + ([f"English left: {' '.join(words)}"] if words else [])


def in_spanish_and_whole(page, found: dict, name: str, dispute) -> str:
    """The page (loaded once) in Spanish, with nothing axe-core finds, and whole at 200 % and 400 % zoom;
    its heading, to say which page it was."""
    page.wait_for_load_state("load")
    if problems := spoken_in_spanish(page, dispute) + problems_of(page):
        found[name] = problems
    return page.locator("h1").first.inner_text()


# The heading each page should have in Spanish (which says the walk reached it).
SPANISH_HEADINGS = {
    "the evidence form": "Envíe su versión",
    "the receipt": "Gracias, ya tenemos su versión",
    "the status page": "Cómo va su caso",
    "the window closed": "El plazo para enviar su versión terminó",
    "the outcome letter": "Nuestra respuesta por escrito",
    "an expired link": "Este enlace venció",
    "a link no longer active": "Este enlace ya no está activo",
    "the evidence form, refused": "Envíe su versión",  # (its summary: "Su versión todavía no se envió")
    "a file too large": "Era demasiado para enviarlo de una vez",
    "too many sends": "Espere un poco antes de enviar de nuevo",
    "the letter's receipt confirmed": "Nuestra respuesta por escrito",
}


@pytest.fixture
def spanish_cases(resident, make_dispute):
    resident.preferred_language = "es"
    return in_each_state(make_dispute, ("lapsed", "closed", "outcome_sent", "evidence_received", "awaiting_evidence"))


def test_every_resident_page_in_spanish_passes_axe_and_reads_at_any_zoom(app, wide, spanish_cases):
    waiting, received = spanish_cases["awaiting_evidence"], spanish_cases["evidence_received"]
    submission = db.session.scalars(db.select(Submission).filter_by(dispute_id=received.id)).one()
    expired = links.issue_link(spanish_cases["closed"], "evidence", resident=received.resident,
                               expires_dt=clock.now_utc() - timedelta(days=1))
    answered = spanish_cases["outcome_sent"]
    revoked = links.issue_link(answered, "evidence", resident=answered.resident,
                               expires_dt=clock.now_utc() + timedelta(days=30))
    links.revoke_links(answered.id, "evidence", clock.now_utc(), "The letter was sent.")
    received.company.max_dispute_bytes = 1000
    db.session.commit()
    pages = {
        "the evidence form": (resident_link(waiting), waiting),
        "the receipt": (f"{resident_link(received)}/receipt/{submission.id}", received),
        "the status page": (f"{resident_link(received)}/status", received),
        "the window closed": (resident_link(spanish_cases["lapsed"]), spanish_cases["lapsed"]),
        "the outcome letter": (resident_link(answered, "outcome"), answered),
        "an expired link": (url_of(expired), spanish_cases["closed"]),
        "a link no longer active": (url_of(revoked), answered),
    }
    found, headings = {}, {}
    for name, (url, dispute) in pages.items():
        wide.goto(url)
        headings[name] = in_spanish_and_whole(wide, found, name, dispute)

    # The pages a send leads to: refused, a file too large, too many sends, the letter's receipt confirmed.
    wide.goto(resident_link(waiting))
    wide.fill("#details", SPANISH_TYPED)
    wide.fill("#suggested_amount", "1e9")
    wide.click("button.send")
    expect(wide.locator("#problem")).to_contain_text("Su versión todavía no se envió")
    headings["the evidence form, refused"] = in_spanish_and_whole(wide, found, "the evidence form, refused", waiting)
    wide.goto(resident_link(received))
    wide.fill("#details", SPANISH_TYPED)
    wide.locator('input[type="file"]').set_input_files(
        [{"name": "scan.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7\n" + b"0" * 1_100_000}])
    submitted_past_its_script(wide, "evidence-form")
    headings["a file too large"] = in_spanish_and_whole(wide, found, "a file too large", received)
    evidence = links.current_link(waiting.id, "evidence", resident_id=waiting.resident_id)
    sent_too_often(evidence)
    wide.goto(url_of(evidence))
    wide.fill("#details", SPANISH_TYPED)
    with wide.expect_navigation():
        wide.click("button.send")
    headings["too many sends"] = in_spanish_and_whole(wide, found, "too many sends", waiting)
    wide.goto(resident_link(answered, "outcome"))
    wide.get_by_role("button", name="Sí, recibí esta carta").click()
    wide.get_by_text("Gracias por avisarnos de que recibió la carta.").wait_for()
    headings["the letter's receipt confirmed"] = in_spanish_and_whole(wide, found, "the letter's receipt confirmed",
                                                                      answered)
    assert not found, report(found)
    assert headings == SPANISH_HEADINGS
