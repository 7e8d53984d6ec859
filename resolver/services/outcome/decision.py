"""What a decision means, worked out for the letter and the tasks: the team's count and feedback
(anonymised as the company wishes), the offer it recommended within the company's limits, each
disputed item's outcome, and what the company has promised to do.

The letter's renderer (``resolver.letters.render``) is handed these finished; it never counts.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from ...extensions import db
from ...i18n import current_language, speaking
from ...letters.render import AMOUNT, DecisionFacts, ItemOutcome, items_of, number_word, offer_of, to_fill_in
from ...models import Company, Dispute, Letter, Submission
from ...presentation import money
from ...workflow.definition import Decision
from ..categories import phrases_of
from ..panel import tally
from ..panel.count import ANONYMOUS_AUTHOR, Opinion, recommend
from ..panel.result import Team, ballot_of, team_of

# The letter promises an accepted offer is carried out within this many (working) days; the
# manager's fulfilment task is due then.
FULFIL_WITHIN_DAYS = 5


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
    count), with the offer the team recommended, kept within the company's limits and rounded to the
    company's step for tokens, and the dispute's kind in words (in the language spoken now: the notes for
    the manager stay in English)."""
    company = dispute.company
    team = team_of(dispute)
    result = tally(dispute, team)
    decision = dispute.decision
    phrases = phrases_of(dispute)
    submission = latest_submission(dispute)
    call_on, voted_on_call = _call_of(team)
    facts = DecisionFacts(
        decision=decision,
        decided_by=dispute.decided_by or "panel",
        note=(dispute.decision_note or "").strip(),
        team_size=result.seated,
        voted=result.voted,
        was_split=result.is_quorate,
        matter=_matter(phrases),
        concession_line=_concession_line(phrases),
        concession_task=phrases.concession_task(AMOUNT),
        asked_cents=submission.suggested_amount_cents if submission is not None else None,
        agreeing=_grouped([o for o in result.opinions if o.choice == decision]),
        dissenting=_grouped([o for o in result.opinions if o.choice != decision]),
        call_on=call_on,
        voted_on_call=voted_on_call,
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
    facts.token_cents = _token_to_offer(facts, company)
    facts.concession_cents = facts.concession_cents or None
    if facts.concession_cents and facts.concession_cents > company.concession_cap_cents:
        facts.notes_for_manager.append(
            f"The team recommended a {money(facts.concession_cents)} concession; the company limit is "
            f"{money(company.concession_cap_cents)}, so the draft offers that."
        )
        facts.concession_cents = company.concession_cap_cents or None
    if not facts.token_cents:
        facts.token_kind = ""
    facts.items = items_of(dispute)
    # A compromise needs an amount the resident can hold us to: point out where the draft has none.
    vague = [item.description for item in facts.items if item.is_vague]
    if vague:
        facts.notes_for_manager.append(
            "The team met the resident partway on " + ", ".join(vague) + " without saying how much: say in the "
            "letter how much comes off each of these charges (where the draft says "
            f"{to_fill_in()})."
        )
    elif decision == Decision.COMPROMISE and not facts.items and not (facts.token_cents or facts.concession_cents):
        facts.notes_for_manager.append(
            "The team chose a compromise but recommended no amount: say in the letter what the compromise is "
            f"(where the draft says {to_fill_in()}), or set a concession."
        )
    return facts


def _is_in_letter_language(phrases) -> bool:
    """The category's phrases are in the language the letter is written in (a company may not have
    given them in every language)."""
    return getattr(phrases, "language", "en") == current_language()


def _matter(phrases) -> str:
    """The dispute's kind in a sentence; where the company gave it only in another language, the letter
    names it plainly in its own rather than mix two languages in one sentence."""
    return phrases.matter if _is_in_letter_language(phrases) else _("the matter you raised with us")


def _concession_line(phrases) -> str:
    """What money given back means, with AMOUNT; where the company gave it only in another language
    (English), the letter says so and quotes it."""
    line = phrases.concession_line(AMOUNT)
    if _is_in_letter_language(phrases):
        return line
    return _("%(amount)s for you (your property manager describes it in English: “%(english)s”)",
             amount=AMOUNT, english=line)


def _call_of(team: Team) -> tuple[date | None, int]:
    """The day the team gave its views on a call (the latest, if there were several) and how many
    of the votes counted came from it; (None, 0) for a team that voted by link."""
    days = [vote.call_on for seat, vote in team if vote is not None and seat.recused_dt is None and vote.call_on]
    latest = max(days, default=None)
    return latest, days.count(latest)


def _token_to_offer(facts: DecisionFacts, company: Company) -> int | None:
    """The recommended token as the draft offers it: rounded to the nearest step a gift card comes in
    (the company's step), never above the company's limit. The manager is told of each change."""
    recommended = facts.token_cents
    if not recommended:
        return None
    step = max(company.token_step_cents, 1)
    cap = company.token_cap_cents
    nearest = max((recommended + step // 2) // step * step, step)
    highest = cap // step * step or cap  # the largest step within the limit (the limit itself below one step)
    offered = min(nearest, highest) or None
    if recommended > cap:
        facts.notes_for_manager.append(
            f"The team recommended a {money(recommended)} token; the company limit is {money(cap)}, so the "
            f"draft offers {money(offered) if offered else 'none'}."
        )
    elif offered != nearest:
        facts.notes_for_manager.append(
            f"The team's recommendations come to a {money(recommended)} token; rounded to the company's "
            f"{money(step)} step that is {money(nearest)}, over the company limit of {money(cap)}, so the draft "
            f"offers {money(offered)}."
        )
    elif offered != recommended:
        facts.notes_for_manager.append(
            f"The team's recommendations come to a {money(recommended)} token; the draft offers "
            f"{money(offered)}, rounded to the company's {money(step)} step."
        )
    return offered


def _grouped(opinions: list[Opinion]) -> list[Opinion]:
    """Anonymous members who wrote the same words are quoted once: "Two team members wrote: …"."""
    counts = Counter((o.author, " ".join(o.reason.split()).lower()) for o in opinions
                     if o.author == ANONYMOUS_AUTHOR)
    grouped, seen = [], set()
    for opinion in opinions:
        key = (opinion.author, " ".join(opinion.reason.split()).lower())
        if opinion.author != ANONYMOUS_AUTHOR:
            grouped.append(opinion)
        elif counts[key] == 1:
            grouped.append(Opinion(opinion.choice, opinion.reason, _("A team member")))
        elif key not in seen:
            seen.add(key)
            grouped.append(SharedOpinion(opinion.choice, opinion.reason,
                                         _("%(count)s team members", count=number_word(counts[key]).capitalize()),
                                         count=counts[key]))
    return grouped


@dataclass
class SharedOpinion(Opinion):
    """Words that ``count`` anonymous members wrote alike, quoted once (a language may say "wrote" in the
    plural: "escribieron")."""

    count: int = 1


# What the company promised -----------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    """One thing the company promised: what the manager does, and how the resident is told it is done."""

    staff: str
    resident: str


def decision_steps(dispute: Dispute, *, has_offer: bool) -> list[Step]:
    """What the decision itself promises, apart from any offer, each with its amount: every item granted
    in full or in part, else, without items, what the resident asked for (quoted as theirs). Where the
    team gave a compromise no amount, the step says so rather than invent one."""
    steps = [step for item in items_of(dispute) if (step := _item_step(item, dispute)) is not None]
    if not dispute.items and dispute.decision == Decision.RESIDENT:
        submission = latest_submission(dispute)
        asked = " ".join((submission.suggested_resolution if submission is not None else "").split())
        cents = submission.suggested_amount_cents if submission is not None else None
        amount = f" ({money(cents)})" if cents else ""
        quoted = f": “{asked}”" if asked else ""
        steps.append(Step(f"Do what {dispute.resident.name} asked{amount}{quoted}", _what_you_asked(asked, cents)))
    elif not dispute.items and dispute.decision == Decision.COMPROMISE and not has_offer:
        steps.append(Step(f"Carry out the compromise you wrote to {dispute.resident.name} (the team named no amount)",
                          _("the compromise %(manager)s set out for you", manager=dispute.manager.name)))
    return steps


def _what_you_asked(asked: str, cents: int | None) -> str:
    """What the resident asked for, as the resident is told it will be done (its amount, their words)."""
    if cents and asked:
        return _("what you asked us to do (%(amount)s): “%(asked)s”", amount=money(cents), asked=asked)
    if cents:
        return _("what you asked us to do (%(amount)s)", amount=money(cents))
    if asked:
        return _("what you asked us to do: “%(asked)s”", asked=asked)
    return _("what you asked us to do")


def _item_step(item: ItemOutcome, dispute: Dispute) -> Step | None:
    charge = f"the {item.description} charge ({money(item.amount_cents)})"
    if item.decision == Decision.RESIDENT:
        return Step(f"Remove {charge}", _("%(item)s: the %(amount)s charge is removed; you owe nothing for it",
                                          item=item.description, amount=money(item.amount_cents)))
    if item.decision != Decision.COMPROMISE:
        return None
    if item.is_vague:
        return Step(f"Reduce {charge}: the team named no amount, so agree it with {dispute.resident.name} in "
                    "writing first",
                    _("%(item)s: part of the %(amount)s charge is taken off (the amount to be agreed with "
                      "%(manager)s)", item=item.description, amount=money(item.amount_cents),
                      manager=dispute.manager.name))
    taken, owed = money(item.taken_off_cents), money(item.owed_cents)
    return Step(f"Take {taken} off {charge}, leaving {owed}",
                _("%(item)s: %(taken)s is taken off the %(amount)s charge; you owe %(owed)s for it",
                  item=item.description, taken=taken, amount=money(item.amount_cents), owed=owed))


def fulfilment_steps(letter: Letter, dispute: Dispute, *, with_offer: bool) -> list[Step]:
    """Everything the manager must do once the resident has the letter: what the decision grants, and
    (when the resident accepted it) the offer, one step per thing to send or adjust, in the words of the
    dispute's kind the letter was written with."""
    offer = offer_of(letter, dispute) if with_offer else None
    with speaking(letter.language):  # what the resident is told, in the letter's language
        steps = decision_steps(dispute, has_offer=letter.has_offer)
    if offer and offer.token_cents:
        steps.append(Step(offer.token_task, offer.token_line))
    if offer and offer.concession_cents:
        steps.append(Step(offer.concession_task, offer.concession_line))
    return steps
