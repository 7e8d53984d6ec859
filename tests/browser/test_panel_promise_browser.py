"""The invitation's promise, kept in a real browser: two members of three agree, yet the review stays
open; a member changes their vote before the window ends; the third still votes from their link; and
every page each member sees, before and after the review closes, answers 200."""
from __future__ import annotations

import pytest

from resolver.models import Dispute

from .test_panel_browser import fresh, invite, vote_in_browser


@pytest.fixture
def phones(browser):
    """``phone()``: a member's own phone (a browser context of its own), each page it opens recorded
    as (url, status) in ``phone.seen``. Redirects after a vote are not pages anyone sees."""
    contexts = []

    def phone():
        context = browser.new_context(viewport={"width": 390, "height": 844})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.seen = []
        page.on("response", lambda response: page.seen.append((response.url, response.status))
                if response.request.resource_type == "document" and not 300 <= response.status < 400 else None)
        return page

    yield phone
    for context in contexts:
        context.close()


def test_two_members_agree_and_the_third_still_votes_while_votes_change_until_the_close(
        app, phones, smtp, make_dispute, make_panel, manager, screenshot, page):
    dispute = make_dispute("evidence_received")
    members = make_panel(dispute.company, size=3)
    links = invite(smtp, dispute, members, manager)
    first, second, third = (phones() for _ in members)

    # Two of the three vote the same way: the company did not choose to close early, so the review stays open.
    vote_in_browser(first, links[members[0].email], members[0].name, "uphold", "The lease is clear on cleaning.")
    vote_in_browser(second, links[members[1].email], members[1].name, "uphold", "The photos show the stains.")
    assert fresh(dispute.id).state == "panel_review"
    first.get_by_text("You can change it until the review closes").first.wait_for()

    # The third opens their link: the case and the vote form, not "the review is complete".
    third.goto(links[members[2].email])
    third.get_by_role("button", name="Record my vote as " + members[2].name).wait_for()
    assert third.get_by_role("heading", name="The team's review is complete").count() == 0

    # Before the window ends, a member who agreed changes their mind; the review is still open.
    vote_in_browser(second, links[members[1].email], members[1].name, "compromise",
                    "On a second look at the move-in report, a compromise is fairer.")
    assert fresh(dispute.id).state == "panel_review"

    # The third member still votes from their link. Theirs completes the team, so the review closes
    # with it, as the invitation said it would ("or sooner once everyone on the team has voted").
    vote_in_browser(third, links[members[2].email], members[2].name, "compromise", "Meet them partway.")
    third.get_by_role("heading", name="The team's review is complete").wait_for()
    closed: Dispute = fresh(dispute.id)
    assert (closed.state, closed.decision) == ("decided", "compromise")

    # Every member comes back to their link: their vote and the team's result, never an error.
    for phone, member, mine in ((first, members[0], "the company's position stands"),
                                (second, members[1], "a compromise is fairer"),
                                (third, members[2], "a compromise is fairer")):
        phone.goto(links[member.email])
        phone.get_by_role("heading", name="The team's review is complete").wait_for()
        phone.get_by_text(f"Your vote: {mine}.").wait_for()
        phone.get_by_text("The team decided that a compromise is fairer (2 of 3 votes).").wait_for()
    page.goto(links[members[2].email])
    screenshot("review-complete")

    for phone in (first, second, third):
        assert phone.seen, "each member saw their pages"
        assert all(status == 200 for _, status in phone.seen), phone.seen
