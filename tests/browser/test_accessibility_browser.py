"""Every resident, panel member and manager can use Resolver with a keyboard, a screen reader or a
large zoom: the skip link, the error summary that takes the focus with or without JavaScript, each
field's message tied to it, no sideways scrolling at 320 px (400 % zoom), the brand colour's contrast,
and the evidence and vote forms completed with the keyboard alone, the focus always visible."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from resolver.extensions import db
from resolver.models import Submission, Vote

from .test_panel_browser import invite
from .test_resident_browser import invited  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser
ZOOMED = {"width": 320, "height": 640}  # 1280 px at 400 %

# Every id an aria-* attribute names, that names no element on the page.
BROKEN_REFERENCES = """() => Array.from(document.querySelectorAll(
    '[aria-describedby], [aria-errormessage], [aria-labelledby], [aria-controls]')).flatMap(el =>
    ['aria-describedby', 'aria-errormessage', 'aria-labelledby', 'aria-controls'].flatMap(attr =>
      (el.getAttribute(attr) || '').split(/\\s+/).filter(id => id && !document.getElementById(id))
        .map(id => `${el.id || el.name}: ${attr}=${id}`)))"""

# A CSS colour's numbers, and its relative luminance (WCAG's formula), for the scripts below.
LUMINANCE = """const rgb = c => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
      .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);"""

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
