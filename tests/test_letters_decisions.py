"""The draft letter for every kind of decision, with and without disputed items, and with every kind of
offer the team can recommend: no offer, a token, a concession, or both.

Each draft must keep the NARPM-Star written form (a neighborly opening, the issue restated in the
resident's words, the team's honest feedback, the resolution and options, what happens next and by
when, thanks) and pass its own tone check; the offer in the frame must match what the team recommended.
"""
from __future__ import annotations

import pytest

from resolver.actors import Actor
from resolver.extensions import db
from resolver.letters import render
from resolver.models import PanelSeat
from resolver.services import outcome, panel

DETAILS = "The carpet was clean when I left; I have photos."
ASKED = "Refund the $150 cleaning charge."
ITEMS = [
    {"description": "Carpet cleaning", "amount_cents": 15000, "company_reason": "Stains in the bedroom."},
    {"description": "Wall repair", "amount_cents": 8000, "company_reason": "Holes by the door."},
]
ROUTES = {
    # route: (the team's votes, the decision the letter is written from)
    "uphold": (("uphold", "uphold", "uphold"), "uphold"),
    "resident": (("resident", "resident", "resident"), "resident"),
    "compromise": (("compromise", "compromise", "compromise"), "compromise"),
    "deadlocked": (("uphold", "resident", "compromise"), "compromise"),
}
OFFERS = {
    "no offer": (None, None),
    "token": (2500, None),
    "concession": (None, 15000),
    "token and concession": (2500, 15000),
}
DECISION_WORDS = {
    "uphold": "The team found that our decision was fair.",
    "resident": "The team agreed with you, and I accept that we got this wrong. I'm sorry for that.",
    "compromise": "The team found that you are right about part of this, and that we got part of it wrong. "
                  "I'm sorry for our part in it.",
    "deadlocked": "The team was divided, so the decision fell to me. I decided to meet you partway. "
                  "My reason: The photos show some wear, not damage.",
}
ITEM_WORDS = {
    "uphold": "this charge stands.",
    "resident": "we will remove this charge in full.",
    # The team gave no amount: the draft leaves a gap the manager fills in (a note asks for it).
    "compromise": "we will take [amount to fill in] off this charge, so you will owe [amount to fill in] for it.",
}


def decided_by(make_dispute, manager, route: str, *, items, token_cents, concession_cents, on_items=None):
    """A dispute the team (or, when it split, the manager) decided, each member recommending the offer
    (and voting ``on_items``, {description: choice}, where given)."""
    votes, decision = ROUTES[route]
    dispute = make_dispute("panel_review", items=items)
    item_choices = {str(item.id): on_items[item.description] for item in dispute.items
                    if item.description in (on_items or {})}
    seats = db.session.query(PanelSeat).filter_by(dispute_id=dispute.id).order_by(PanelSeat.id).all()
    for seat, choice in zip(seats, votes):
        if dispute.state != "panel_review":
            break  # the team's review has closed
        panel.record_vote(
            Actor.panel(seat.member), seat, choice=choice,
            reason=f"{seat.member.name}: the inspection photos and the move-in report point this way.",
            token_kind="coffee-shop gift card" if token_cents else "", token_cents=token_cents,
            concession_cents=concession_cents, item_choices=item_choices,
        )
    if dispute.state == "panel_review":
        panel.close_panel(Actor.system(), dispute)
    if dispute.state == "deadlocked":
        panel.decide_deadlock(Actor.staff(manager), dispute, decision=decision,
                              note="The photos show some wear, not damage.")
    assert (dispute.state, dispute.decision) == ("decided", decision)
    return dispute


@pytest.mark.parametrize("offer", list(OFFERS))
@pytest.mark.parametrize("with_items", [False, True], ids=["no items", "items"])
@pytest.mark.parametrize("route", list(ROUTES))
def test_every_decision_makes_a_letter_in_the_written_form(make_dispute, manager, route, with_items, offer):
    token_cents, concession_cents = OFFERS[offer]
    dispute = decided_by(make_dispute, manager, route, items=ITEMS if with_items else None,
                         token_cents=token_cents, concession_cents=concession_cents)
    letter = outcome.draft_outcome(Actor.staff(manager), dispute)
    body = letter.body_text
    text = " ".join(body.split())
    has_offer = bool(token_cents or concession_cents)
    decision = dispute.decision

    # Neighborly opening, the issue as the resident put it, and who looked at it.
    assert text.startswith("Dear Tammy Rivera, Thank you for sending us your side of this.")
    assert "I'm sorry you have had this trouble with the deductions from your security deposit" in text
    assert f"here it is as you told us: > {DETAILS}" in text
    assert f"You asked us to: “{ASKED}”" in text
    assert "I presented both sides, your account and our own records, to our resolution team" in text

    # The team's honest feedback, anonymised, including the members who disagreed.
    assert DECISION_WORDS[route] in text
    # A unanimous team's three members all voted (the review stays open until everyone has); a split
    # team's two dissenters wrote alike.
    quoted = "wrote: “The inspection photos and the move-in report point this way.”"
    if route == "deadlocked":
        assert f"What the team told us: - A team member {quoted}" in text
        assert f"you should know that too: - Two team members {quoted}" in text
    else:
        assert f"What the team told us: - Three team members {quoted}" in text
    assert "Panelist" not in body
    assert ("Not everyone on the team saw it the same way" in text) == (route == "deadlocked")

    # The resolution and the options.
    if decision == "uphold" and not has_offer:
        assert "I'm very sorry, but after this review there is nothing more I can do about the deductions from " \
               "your security deposit: our decision stands. I know this is not the answer you hoped for." in text
    elif decision == "uphold":
        assert "Our decision stands. Even so, we would like to do something to make this a little better for " \
               "you; our offer is set out below." in text
    elif decision == "resident":
        assert ("We will do what you asked." if with_items else "We will do what you asked, for the full $150.") in text
        assert ASKED not in text.replace(f"You asked us to: “{ASKED}”", "")  # quoted as theirs, never spliced in
        assert ("As well as that, we would like to offer you something for the trouble" in text) == has_offer
    elif with_items:
        assert "We would like to meet you partway: what comes off each charge, and what you still owe for it, is set " \
               "out item by item below." in text
        assert ("Our offer is set out below too." in text) == has_offer
    elif has_offer:
        assert "We would like to meet you partway, with the offer set out below." in text
    else:
        assert "We would like to meet you partway: [amount to fill in]." in text
    if decision != "resident":  # against the resident, in whole or in part: real choices, as many as there are
        assert "You still have some choices:" in text
        assert ("- You can accept the offer set out below, or say no, thank you" in text) == has_offer
        assert "- If you would like, I can go over our records and your evidence with you" in text
        assert "- If you have something new that we have not seen, you can send it to me" in text
        assert "- You can ask Sam Supervisor to look at this again" in text
        assert "- If you still disagree, you can take this to Front Range Tenant-Landlord Mediation" in text
    else:
        assert "You still have some choices" not in text
    if with_items:
        assert "Here is what we decided on each item you disputed:" in text
        assert f"- Carpet cleaning ($150): {ITEM_WORDS[decision]}" in body
        assert f"- Wall repair ($80): {ITEM_WORDS[decision]}" in body
    else:
        assert "each item" not in text

    # What happens next, and by when; thanks and an invitation to get in touch.
    assert "What happens next: please use the link in the email that came with this letter to let me know " \
           "you have received it" in text
    assert ("and whether you would like to accept our offer" in text) == has_offer
    assert ("have it done within 5 days" in text) == (decision != "uphold" or has_offer)
    assert "If I have not heard from you within 7 days, I will get in touch once more" in text
    assert "Thank you for bringing this to us and for giving us the chance to look at it again." in text
    assert f"please get in touch with me at {manager.email}" in text

    # The offer is what the team recommended, and the frame says it, with the way up the ladder.
    assert (letter.token_cents, letter.concession_cents) == (token_cents, concession_cents)
    assert letter.token_kind == ("coffee-shop gift card" if token_cents else "")
    context = render.letter_context(letter, dispute, dated_dt=None)
    plain = render.render_text(context)
    html = letter.body_html
    # The concession, in the deposit's words, says which charges it comes off and what is then left to pay.
    comes_off = {
        "uphold": ". It comes off what you still owe on the charges above: you would then owe $80 in all instead of "
                  "$230.",
        "resident": "",
        "compromise": ". It comes off what you still owe on the charges above.",
    }[decision] if with_items else ""
    offer_lines = (["a $25 coffee-shop gift card"] if token_cents else []) + \
                  ([f"$150 back from your security deposit{comes_off}"] if concession_cents else [])
    assert ("Our offer to you" in html) == has_offer and ("OUR OFFER TO YOU" in plain) == has_offer
    for line in offer_lines:
        assert f"<li>{line}</li>" in html and f"- {line}" in plain
    if not has_offer:
        assert "offer" not in plain.lower()
    for words in (html, plain):
        assert "You can reach Sam Supervisor, who supervises this office, on 303-555-0100" in words
        assert "Our home office is on 303-555-0199." in words
        assert "Front Range Tenant-Landlord Mediation, an outside mediation service" in words
    # The offer sits just before "What happens next", so the letter reads in order.
    assert plain.index("What happens next") > (plain.index("OUR OFFER TO YOU") if has_offer else 0)

    # Where the draft's compromise has no amount, the manager is asked to give one, and the letter cannot go
    # with the gap still in it.
    has_gap = decision == "compromise" and (with_items or not has_offer)
    assert ("[amount to fill in]" in letter.body_text) == has_gap
    assert [flag.code for flag in outcome.tone_flags(letter)] == (["gap_to_fill"] if has_gap else [])
    if decision == "compromise" and with_items:
        assert letter.draft_notes == ["The team met the resident partway on Carpet cleaning, Wall repair without "
                                      "saying how much: say in the letter how much comes off each of these charges "
                                      "(where the draft says [amount to fill in])."]
    elif decision == "compromise" and not has_offer:
        assert letter.draft_notes == ["The team chose a compromise but recommended no amount: say in the letter "
                                      "what the compromise is (where the draft says [amount to fill in]), or set a "
                                      "concession."]
    else:
        assert letter.draft_notes == []


def test_upheld_on_the_whole_but_not_on_every_charge(make_dispute, manager):
    dispute = decided_by(make_dispute, manager, "uphold", items=ITEMS, token_cents=None, concession_cents=None,
                         on_items={"Carpet cleaning": "resident"})
    letter = outcome.draft_outcome(Actor.staff(manager), dispute)
    text = " ".join(letter.body_text.split())
    assert "The team found that our decision was fair on the whole, but not on every charge: where we got a " \
           "charge wrong, I'm sorry, and we will put it right." in text
    assert "Our decision stands on the whole; what changes is set out item by item below." in text
    assert "- Carpet cleaning ($150): we will remove this charge in full." in letter.body_text
    assert "- Wall repair ($80): this charge stands." in letter.body_text
    assert "nothing more I can do" not in text and "have it done within 5 days" in text
    assert not letter.has_offer and outcome.tone_flags(letter) == []


def test_for_the_resident_on_most_but_not_every_charge(make_dispute, manager):
    dispute = decided_by(make_dispute, manager, "resident", items=ITEMS, token_cents=2500, concession_cents=None,
                         on_items={"Wall repair": "uphold"})
    letter = outcome.draft_outcome(Actor.staff(manager), dispute)
    text = " ".join(letter.body_text.split())
    assert "The team agreed with you on most of this, though not on every charge, and I accept that we got this " \
           "wrong. I'm sorry for that." in text
    assert "- Carpet cleaning ($150): we will remove this charge in full." in letter.body_text
    assert "- Wall repair ($80): this charge stands." in letter.body_text
    assert outcome.tone_flags(letter) == []
