"""Every fact in a sent letter matches the record: for each kind of decision, the letter's HTML, its
text and its PDF are read back and checked against the rows (how many of the team voted, what each
member wrote, each disputed charge with what comes off it and what is still owed, the offer in the
words of the dispute's kind, the dates). For each kind of dispute, the letter, the confirmation and the
manager's task speak of it in its own words.

The expected words are built here from the database rows, not from the code that writes the letter.
"""
from __future__ import annotations

import html as html_lib
import io
import re
import statistics

import pypdf
import pytest
from sqlalchemy import select

from resolver.actors import Actor
from resolver.extensions import db
from resolver.files import read_bytes
from resolver.letters import render
from resolver.models import DisputedItem, PanelSeat, Vote
from resolver.presentation import money
from resolver.services import outcome, panel
from resolver.services.categories import default_categories, phrases_of
from resolver.services.outcome.decision import fulfilment_steps
from resolver.workdays import format_day

from .dispute_checks import emails

ITEMS = [
    {"description": "Carpet cleaning", "amount_cents": 15000, "company_reason": "Stains in the bedroom."},
    {"description": "Wall repair", "amount_cents": 8000, "company_reason": "Holes by the door."},
]
NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


def vote_all(dispute, ballots, *, on_items=None):
    """Each seated member votes in turn (until the review closes): ``ballots`` are (choice, reason, token
    cents, concession cents); ``on_items`` ({description: choice}) is every member's vote on those items."""
    item_choices = {str(item.id): on_items[item.description] for item in dispute.items
                    if item.description in (on_items or {})}
    seats = db.session.scalars(select(PanelSeat).where(PanelSeat.dispute_id == dispute.id)
                               .order_by(PanelSeat.id)).all()
    for seat, (choice, reason, token_cents, concession_cents) in zip(seats, ballots):
        if dispute.state != "panel_review":
            break
        panel.record_vote(Actor.panel(seat.member), seat, choice=choice, reason=reason,
                          token_kind="coffee-shop gift card" if token_cents else "", token_cents=token_cents,
                          concession_cents=concession_cents, item_choices=item_choices)
    if dispute.state == "panel_review":
        panel.close_panel(Actor.system(), dispute)


def resident_upheld(make_dispute, staff):
    dispute = make_dispute("panel_review", items=ITEMS)
    vote_all(dispute, [("resident", "The move-in photos show the carpet was already worn.", 2000, None),
                       ("resident", "Normal wear is not the resident's to pay for.", 2500, None),
                       ("resident", "The inspection report does not show new damage.", 2500, None)])
    return dispute


def company_upheld_with_an_offer(make_dispute, staff):
    dispute = make_dispute("panel_review", items=ITEMS)
    # The middle of $25 and $20 is $22.50: no one sells such a gift card, so the letter rounds it.
    vote_all(dispute, [("uphold", "The stains are in the move-out photos.", 2500, 3000),
                       ("uphold", "The lease names professional cleaning.", 2000, 2000),
                       ("uphold", "The charge matches the invoice.", 2200, 2500)])
    return dispute


def company_upheld_without_an_offer(make_dispute, staff):
    dispute = make_dispute("panel_review")
    vote_all(dispute, [("uphold", "The stains are in the move-out photos.", None, None),
                       ("uphold", "The lease names professional cleaning.", None, None),
                       ("uphold", "The charge matches the invoice.", None, None)])
    return dispute


def compromise_with_amounts(make_dispute, staff):
    dispute = make_dispute("panel_review", items=ITEMS)
    vote_all(dispute, [("compromise", "Half the carpet charge is fair; the wall was like that before.", None, 5000),
                       ("compromise", "Some cleaning was needed, not all of it.", None, 5000),
                       ("uphold", "The charge matches the invoice.", None, None)],
             on_items={"Wall repair": "resident"})
    carpet = next(item for item in dispute.items if item.description == "Carpet cleaning")
    carpet.granted_cents = 7500  # the team's amount for the carpet: half of it comes off
    return dispute


def deadlock_decided_by_the_manager(make_dispute, staff):
    dispute = make_dispute("panel_review", items=ITEMS)
    vote_all(dispute, [("uphold", "The stains are in the move-out photos.", 2500, None),
                       ("resident", "Normal wear is not the resident's to pay for.", 2000, 4000),
                       ("compromise", "Some cleaning was needed, not all of it.", 2500, 3000)])
    panel.decide_deadlock(staff, dispute, decision="resident", note="The move-in report already noted the stains.")
    return dispute


DECISIONS = {
    "resident upheld": resident_upheld,
    "company upheld with an offer": company_upheld_with_an_offer,
    "company upheld without an offer": company_upheld_without_an_offer,
    "compromise with amounts": compromise_with_amounts,
    "deadlock decided by the manager": deadlock_decided_by_the_manager,
}


# Reading the letter back -----------------------------------------------------------------------------

def words(text: str) -> str:
    return " ".join(text.split())


def html_words(markup: str) -> str:
    text = words(html_lib.unescape(re.sub(r"<[^>]+>", " ", markup)))
    return re.sub(r" ([.,;:])", r"\1", text)  # "by <strong>Monday</strong>." reads "by Monday."


def pdf_words(sha256: str) -> str:
    reader = pypdf.PdfReader(io.BytesIO(read_bytes(sha256)))
    return words(" ".join(page.extract_text() for page in reader.pages))


@pytest.fixture
def staff(manager):
    return Actor.staff(manager)


@pytest.fixture(params=list(DECISIONS))
def sent(request, make_dispute, staff):
    """A letter of each kind of decision, sent; with its three forms as the resident reads them."""
    dispute = DECISIONS[request.param](make_dispute, staff)
    assert dispute.state == "decided"
    letter = outcome.draft_outcome(staff, dispute)
    outcome.approve_letter(staff, letter)
    outcome.send_outcome(staff, dispute)
    (email,) = emails(dispute, "outcome_letter")
    forms = {"text": words(email.body_text), "html": html_words(email.body_html), "pdf": pdf_words(letter.pdf_sha256)}
    return request.param, dispute, letter, forms


# What the record says the letter must say ----------------------------------------------------------

def votes_of(dispute) -> list[Vote]:
    return list(db.session.scalars(
        select(Vote).join(PanelSeat, PanelSeat.id == Vote.seat_id)
        .where(PanelSeat.dispute_id == dispute.id, PanelSeat.recused_dt.is_(None)).order_by(Vote.id)))


def seated(dispute) -> int:
    return len(db.session.scalars(select(PanelSeat).where(PanelSeat.dispute_id == dispute.id,
                                                          PanelSeat.recused_dt.is_(None))).all())


def team_words(dispute) -> list[str]:
    size, voted = seated(dispute), len(votes_of(dispute))
    said = [f"to our resolution team: {NUMBERS[size]} people in property management who had no part in the "
            "original decision."]
    if voted == size:
        said.append(f"All {NUMBERS[voted]} gave their view.")
    else:
        others = "the other" if size - voted == 1 else "the others"
        said.append(f"{NUMBERS[voted].capitalize()} of the {NUMBERS[size]} gave their view; {others} did not vote "
                    "before the review closed.")
    return said


def item_words(dispute) -> list[str]:
    said = []
    for item in db.session.scalars(select(DisputedItem).where(DisputedItem.dispute_id == dispute.id)):
        amount = money(item.amount_cents)
        if item.decision == "resident":
            said.append(f"{item.description} ({amount}): we will remove this charge in full.")
        elif item.decision == "uphold":
            said.append(f"{item.description} ({amount}): this charge stands.")
        else:
            owed = money(item.amount_cents - item.granted_cents)
            said.append(f"{item.description} ({amount}): we will take {money(item.granted_cents)} off this charge, "
                        f"so you owe {owed} for it.")
    return said


def still_owed(dispute) -> list[tuple[str, int]]:
    """The charges the resident still owes something on after the decision, with what they owe."""
    owed = []
    for item in dispute.items:
        left = {"resident": 0, "uphold": item.amount_cents}.get(item.decision)
        left = item.amount_cents - item.granted_cents if left is None else left
        if left:
            owed.append((item.description, left))
    return owed


def offer_words(dispute, letter) -> list[str]:
    said = []
    if letter.token_cents:
        said.append(f"a {money(letter.token_cents)} {letter.token_kind}")
    if letter.concession_cents:
        line = phrases_of(dispute).concession_line(money(letter.concession_cents))
        owed = still_owed(dispute)
        if len(owed) == 1:
            (description, left), = owed
            line += (f". It comes off the {description} charge: you would then owe "
                     f"{money(max(left - letter.concession_cents, 0))} for it instead of {money(left)}.")
        elif owed:
            total = sum(left for _, left in owed)
            line += (". It comes off what you still owe on the charges above: you would then owe "
                     f"{money(max(total - letter.concession_cents, 0))} in all instead of {money(total)}.")
        said.append(line)
    return said


def recommended_token(dispute) -> int | None:
    """The median of the tokens the deciding side recommended, rounded to the company's step."""
    side = [v for v in votes_of(dispute) if v.choice == dispute.decision and v.token_cents]
    if not side:
        return None
    step = dispute.company.token_step_cents
    return int((statistics.median(v.token_cents for v in side) + step // 2) // step * step)


def test_every_fact_in_the_letter_and_what_follows_it_matches_the_record(sent, staff):
    check_the_letter(*sent)
    check_what_follows_an_accepted_offer(*sent, staff)


def check_the_letter(decision, dispute, letter, forms):
    company = dispute.company
    phrases = phrases_of(dispute)
    facts = [
        f"Our written reply about {phrases.matter}",
        f"I'm sorry you have had this trouble with {phrases.matter}",
        "You asked us to: “Refund the $150 cleaning charge.”",
        *team_words(dispute),
        *(f"wrote: “{vote.reason}”" for vote in votes_of(dispute)),
        *item_words(dispute),
        *offer_words(dispute, letter),
        format_day(letter.sent_dt, company),
        f"Please let me know you received this letter by {format_day(dispute.follow_up_due_dt, company)}.",
    ]
    if letter.has_offer:
        facts.append(f"This offer is open until {format_day(letter.offer_expires_dt, company)}.")
    if dispute.decided_by == "manager":
        facts.append("The team was divided, so the decision fell to me. I decided to do what you asked. "
                     f"My reason: {dispute.decision_note}")
    for form, text in forms.items():
        missing = [fact for fact in facts if fact not in text]
        assert not missing, f"the letter's {form} does not say: {missing}"
        for untrue in ("your security deposit deduction", "your deposit", "as the letter said", "partway on this",
                       "experienced"):
            assert untrue not in text, f"the letter's {form} says {untrue!r}"

    # The offer is what the team recommended: a token rounded to a card one can buy, within the limits.
    assert letter.token_cents == recommended_token(dispute)
    assert letter.token_cents is None or letter.token_cents % company.token_step_cents == 0
    assert ("This offer is open until" in forms["text"]) == letter.has_offer
    if decision == "company upheld without an offer":
        assert "I'm very sorry, but after this review there is nothing more I can do about " \
               f"{phrases.matter}: our decision stands." in forms["text"]
    if decision == "company upheld with an offer" and len(votes_of(dispute)) == 2:
        assert letter.draft_notes == ["The team's recommendations come to a $22.50 token; the draft offers $25, "
                                      "rounded to the company's $5 step."]


def check_what_follows_an_accepted_offer(decision, dispute, letter, forms, staff):
    """The task, the confirmation and the "Done" email name what the letter offered, in its words."""
    if not letter.has_offer:
        return
    outcome.respond_to_offer(Actor.resident(dispute.resident), dispute, accept=True)
    (task,) = outcome.open_tasks(dispute, "fulfil_offer")
    offered = offer_words(dispute, letter)
    for line in offered:  # the letter's own lines, word for word
        assert line in forms["text"]
    (confirmation,) = emails(dispute, "offer_confirmation")
    assert all(f"- {line}" in confirmation.body_text for line in offered)
    assert task.detail["resident_lines"][-len(offered):] == offered
    if letter.concession_cents:
        assert task.detail["steps"][-1].startswith(
            phrases_of(dispute).concession_task(money(letter.concession_cents)))
    outcome.complete_task(staff, task)
    (done,) = emails(dispute, "offer_fulfilled")
    assert all(f"- {line}" in done.body_text for line in task.detail["resident_lines"])
    for email in (confirmation, done):
        assert "as the letter said" not in email.body_text and "as our letter said" not in email.body_text


# Each kind of dispute in its own words ----------------------------------------------------------------

@pytest.mark.parametrize("key", [category.key for category in default_categories()])
def test_each_kind_of_dispute_is_spoken_of_in_its_own_words(make_dispute, staff, key):
    dispute = make_dispute("panel_review", category=key)
    vote_all(dispute, [("compromise", "Some of this is on us.", 2500, 4000),
                       ("compromise", "A credit is fair here.", 2500, 4000),
                       ("compromise", "A credit is fair here.", 2500, 4000)])
    letter = outcome.draft_outcome(staff, dispute)
    phrases = phrases_of(dispute)
    assert phrases.key == key
    context = render.letter_context(letter, dispute, dated_dt=None)
    concession = phrases.concession_line("$40")
    for text in (words(render.render_text(context)), html_words(render.render_fragment(context))):
        assert f"Our written reply about {phrases.matter}" in text
        assert f"I'm sorry you have had this trouble with {phrases.matter}" in text
        assert concession in text and "a $25 coffee-shop gift card" in text
        assert f"your {phrases.label.lower()}" not in text.lower() and f"your {key}" not in text
    # What the resident would be told is done, and what the manager does, in the same words.
    steps = fulfilment_steps(letter, dispute, with_offer=True)
    assert [step.resident for step in steps] == ["a $25 coffee-shop gift card", concession]
    assert [step.staff for step in steps] == ["Send a $25 coffee-shop gift card", phrases.concession_task("$40")]
    if key != "deposit":
        assert "deposit" not in concession


def test_a_letter_keeps_the_words_it_was_written_with_when_the_kind_of_dispute_changes(make_dispute, staff):
    dispute = make_dispute("decided", votes=("resident", "resident", "resident"))
    letter = outcome.draft_outcome(staff, dispute)
    dispute.category = "noise"  # staff re-filed it afterwards: the offer keeps the words the letter has
    offer = render.offer_of(letter, dispute)
    assert offer.lines == ["a $25 coffee-shop gift card", "$50 back from your security deposit"]
    assert offer.concession_task == "Return $50 from the security deposit"


# Tokens a person can buy -----------------------------------------------------------------------------

@pytest.mark.parametrize(("tokens", "step", "cap", "offered", "note"), [
    ((2500, 2000, 2250), 500, 5000, 2500, "The team's recommendations come to a $22.50 token; the draft offers $25, "
                                    "rounded to the company's $5 step."),
    ((2500, 2000, 2250), 1000, 5000, 2000, "The team's recommendations come to a $22.50 token; the draft offers $20, "
                                     "rounded to the company's $10 step."),
    ((2000, 2000, 2000), 500, 5000, 2000, None),
    ((4800, 4800, 4800), 500, 4700, 4500, "The team recommended a $48 token; the company limit is $47, so the draft "
                                    "offers $45."),
    ((2300, 2300, 2300), 500, 2300, 2000, "The team's recommendations come to a $23 token; rounded to the company's "
                                          "$5 step that is $25, over the company limit of $23, so the draft offers "
                                          "$20."),
    ((100, 100, 100), 500, 5000, 500, "The team's recommendations come to a $1 token; the draft offers $5, rounded to "
                                 "the company's $5 step."),
])
def test_a_recommended_token_is_rounded_to_the_companys_step_within_its_limit(make_dispute, staff, company, tokens,
                                                                              step, cap, offered, note):
    company.token_step_cents = step
    dispute = make_dispute("panel_review")
    # The middle of the first two is the middle of all three: the same, however many vote before it closes.
    vote_all(dispute, [("uphold", "The charge is fair.", cents, None) for cents in tokens])
    company.token_cap_cents = cap  # the company lowered its limit after the team voted
    letter = outcome.draft_outcome(staff, dispute)
    assert letter.token_cents == offered
    assert letter.draft_notes == ([note] if note else [])
    assert f"a {money(offered)} coffee-shop gift card" in render.render_text(
        render.letter_context(letter, dispute, dated_dt=None))
