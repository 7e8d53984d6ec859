"""What a decision means, worked out for the letter and the tasks: the team's count and feedback
(anonymised as the company wishes), the offer it recommended within the company's limits, each
disputed item's outcome, and what the company has promised to do.

The letter's renderer (``resolver.letters.render``) is handed these finished; it never counts.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select

from ...extensions import db
from ...letters.render import DecisionFacts, ItemOutcome, offer_of
from ...models import Dispute, Letter, Submission
from ...presentation import money
from ...workflow.definition import Decision
from ..panel import tally
from ..panel.count import ANONYMOUS_AUTHOR, Opinion, recommend
from ..panel.result import ballot_of, team_of

# The letter promises an accepted offer is carried out within this many (working) days; the
# manager's fulfilment task is due then.
FULFIL_WITHIN_DAYS = 5
_COUNT_WORDS = {2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six", 7: "Seven", 8: "Eight", 9: "Nine"}


def latest_submission(dispute: Dispute) -> Submission | None:
    return db.session.scalars(
        select(Submission).where(Submission.dispute_id == dispute.id)
        .order_by(Submission.received_dt.desc(), Submission.id.desc()).limit(1)
    ).first()


def resident_words(dispute: Dispute) -> list[str]:
    """What the resident wrote, for the tone check's "did you restate it" test."""
    submission = latest_submission(dispute)
    words = [dispute.issue or ""]
    if submission is not None:
        words += [submission.details or "", submission.suggested_resolution or ""]
    return [w for w in words if w.strip()]


def decision_facts(dispute: Dispute) -> DecisionFacts:
    """What was decided and what the team said (anonymised as the company wishes, by the panel's
    count), with the offer the team recommended, kept within the company's limits."""
    company = dispute.company
    team = team_of(dispute)
    result = tally(dispute, team)
    decision = dispute.decision
    facts = DecisionFacts(
        decision=decision,
        decided_by=dispute.decided_by or "panel",
        note=(dispute.decision_note or "").strip(),
        team_size=result.seated,
        was_split=result.is_quorate,
        agreeing=_grouped([o for o in result.opinions if o.choice == decision]),
        dissenting=_grouped([o for o in result.opinions if o.choice != decision]),
    )
    if result.choice == decision:
        facts.token_kind, facts.token_cents, facts.concession_cents = (
            result.token_kind, result.token_cents, result.concession_cents)
    else:
        # A split team that the manager (or chair) decided: the median of what those who chose that
        # decision recommended, else of everyone who recommended something.
        cast = sorted(((vote, seat) for seat, vote in team if vote is not None and seat.recused_dt is None),
                      key=lambda row: (row[0].cast_dt, row[0].id))
        ballots = [ballot_of(vote, seat) for vote, seat in cast]
        side = recommend([b for b in ballots if b.choice == decision] or ballots)
        facts.token_kind, facts.token_cents, facts.concession_cents = (
            side.token_kind, side.token_cents, side.concession_cents)
    facts.token_cents = facts.token_cents or None
    facts.concession_cents = facts.concession_cents or None
    if facts.token_cents and facts.token_cents > company.token_cap_cents:
        facts.notes_for_manager.append(
            f"The team recommended a {money(facts.token_cents)} token; the company limit is "
            f"{money(company.token_cap_cents)}, so the draft offers that."
        )
        facts.token_cents = company.token_cap_cents or None
    if facts.concession_cents and facts.concession_cents > company.concession_cap_cents:
        facts.notes_for_manager.append(
            f"The team recommended a {money(facts.concession_cents)} concession; the company limit is "
            f"{money(company.concession_cap_cents)}, so the draft offers that."
        )
        facts.concession_cents = company.concession_cap_cents or None
    if not facts.token_cents:
        facts.token_kind = ""
    facts.items = [
        ItemOutcome(item.description, item.amount_cents, item.decision or decision, item.granted_cents)
        for item in dispute.items
    ]
    # A compromise needs an amount the resident can hold us to: point out where the draft has none.
    vague = [item.description for item in facts.items if item.decision == Decision.COMPROMISE and not item.granted_cents]
    if vague:
        facts.notes_for_manager.append(
            "The team met the resident partway on " + ", ".join(vague) + " without saying how much: say in the "
            "letter how much comes off each of these charges."
        )
    elif decision == Decision.COMPROMISE and not facts.items and not (facts.token_cents or facts.concession_cents):
        facts.notes_for_manager.append(
            "The team chose a compromise but recommended no amount: say in the letter what the compromise is, "
            "or set a concession."
        )
    return facts


def _grouped(opinions: list[Opinion]) -> list[Opinion]:
    """Anonymous members who wrote the same words are quoted once: "Two team members wrote: …"."""
    counts = Counter((o.author, " ".join(o.reason.split()).lower()) for o in opinions
                     if o.author == ANONYMOUS_AUTHOR)
    grouped, seen = [], set()
    for opinion in opinions:
        key = (opinion.author, " ".join(opinion.reason.split()).lower())
        if opinion.author != ANONYMOUS_AUTHOR or counts[key] == 1:
            grouped.append(opinion)
        elif key not in seen:
            seen.add(key)
            grouped.append(Opinion(opinion.choice, opinion.reason, f"{_COUNT_WORDS.get(counts[key], counts[key])} "
                                                                   "team members"))
    return grouped


# What the company promised -----------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    """One thing the company promised: what the manager does, and how the resident is told it is done."""

    staff: str
    resident: str


def decision_steps(dispute: Dispute, *, has_offer: bool) -> list[Step]:
    """What the decision itself promises, apart from any offer: each item granted in full or in part,
    else, without items, what the resident asked for (or the compromise the letter describes)."""
    steps = []
    for item in dispute.items:
        decision = item.decision or dispute.decision
        charge = f"the {item.description} charge ({money(item.amount_cents)})"
        if decision == Decision.RESIDENT:
            steps.append(Step(f"Remove {charge}", f"{item.description}: the {money(item.amount_cents)} charge "
                                                  "is removed"))
        elif decision == Decision.COMPROMISE and item.granted_cents:
            steps.append(Step(f"Take {money(item.granted_cents)} off {charge}",
                              f"{item.description}: {money(item.granted_cents)} is taken off the charge"))
        elif decision == Decision.COMPROMISE:
            steps.append(Step(f"Reduce {charge} as the letter says",
                              f"{item.description}: the charge is reduced as our letter said"))
    if not dispute.items and dispute.decision == Decision.RESIDENT:
        submission = latest_submission(dispute)
        asked = " ".join((submission.suggested_resolution if submission is not None else "").split())
        name = dispute.resident.name
        steps.append(Step(f"Do what {name} asked" + (f": {asked}" if asked else ""),
                          "what you asked us to do" + (f": {asked}" if asked else "")))
    elif not dispute.items and dispute.decision == Decision.COMPROMISE and not has_offer:
        steps.append(Step("Carry out the compromise the letter describes", "the compromise our letter described"))
    return steps


def fulfilment_steps(letter: Letter, dispute: Dispute, *, with_offer: bool) -> list[Step]:
    """Everything the manager must do once the resident has the letter: what the decision grants, and
    (when the resident accepted it) the offer, one step per thing to send or adjust."""
    offer = offer_of(letter, dispute) if with_offer else None
    steps = decision_steps(dispute, has_offer=letter.has_offer)
    if offer and offer.token_cents:
        kind = offer.token_kind or "gift card"
        steps.append(Step(f"Send the {money(offer.token_cents)} {kind}", f"a {money(offer.token_cents)} {kind}"))
    if offer and offer.concession_cents:
        if "deposit" in offer.concession_phrase:
            steps.append(Step(f"Adjust the security deposit: return {money(offer.concession_cents)}",
                              f"{money(offer.concession_cents)} back from your security deposit"))
        else:
            steps.append(Step(f"Credit {money(offer.concession_cents)} to the resident's account",
                              f"{money(offer.concession_cents)} credited to your account"))
    return steps


