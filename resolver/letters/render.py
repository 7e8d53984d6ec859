"""The outcome letter's words and layout.

A letter is plain paragraphs the manager can edit (``Letter.body_text``), set in a fixed frame the
company's settings fill in: the letterhead, the offer with its dates, the way up the ladder and the
outside mediation service, the signature. The HTML is always rebuilt from the text, escaped, so
nothing a person types is ever rendered as markup. One HTML template (``letters/_letter.html``)
makes both the email's HTML part and the PDF; ``letters/outcome.txt`` makes the plain-text part.
"""
from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import Dispute, Letter, PanelSeat, Submission, Vote
from ..presentation import money

CHOICE_WORDS = {"uphold": "keep our decision", "resident": "do what you asked", "compromise": "meet you partway"}
RESTATEMENT_LIMIT = 900
# The letter promises an accepted offer is carried out within this many (working) days; the
# manager's fulfilment task is due then.
FULFIL_WITHIN_DAYS = 5


# The facts a draft is written from ---------------------------------------------------------------

@dataclass
class ItemOutcome:
    description: str
    amount_cents: int
    decision: str
    granted_cents: int | None

    @property
    def sentence(self) -> str:
        amount = money(self.amount_cents)
        if self.decision == "resident":
            return f"{self.description} ({amount}): we will remove this charge in full."
        if self.decision == "compromise":
            if self.granted_cents:
                return f"{self.description} ({amount}): we will take {money(self.granted_cents)} off this charge."
            return f"{self.description} ({amount}): we will meet you partway on this charge."
        return f"{self.description} ({amount}): this charge stands."


@dataclass
class DecisionFacts:
    decision: str
    decided_by: str  # 'panel', 'manager' or 'chair'
    note: str
    team_size: int
    was_split: bool  # for a decision the team did not reach: split (True) or too few voted (False)
    agreeing: list = field(default_factory=list)  # the panel's opinions (choice, reason, author)
    dissenting: list = field(default_factory=list)
    token_kind: str = ""
    token_cents: int | None = None
    concession_cents: int | None = None
    items: list[ItemOutcome] = field(default_factory=list)
    notes_for_manager: list[str] = field(default_factory=list)

    @property
    def items_granted(self) -> bool:
        """Some disputed charge goes, in full or in part (whatever the decision as a whole)."""
        return any(item.decision in ("resident", "compromise") for item in self.items)

    @property
    def items_upheld(self) -> bool:
        return any(item.decision == "uphold" for item in self.items)


def decision_facts(dispute: Dispute) -> DecisionFacts:
    """What was decided and what the team said (anonymised as the company wishes, by the panel's
    count), with the offer the team recommended, kept within the company's limits."""
    from ..services.panel import tally

    company = dispute.company
    result = tally(dispute)
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
        votes = db.session.scalars(
            select(Vote).join(PanelSeat, Vote.seat_id == PanelSeat.id)
            .where(Vote.dispute_id == dispute.id, PanelSeat.recused_dt.is_(None))
        ).all()
        side = [v for v in votes if v.choice == decision] or votes
        tokens = [v for v in side if v.token_cents]
        if tokens:
            facts.token_cents = _median([v.token_cents for v in tokens])
            kinds = Counter(v.token_kind.strip() for v in tokens if v.token_kind.strip())
            facts.token_kind = kinds.most_common(1)[0][0] if kinds else "gift card"
        concessions = [v.concession_cents for v in side if v.concession_cents]
        facts.concession_cents = _median(concessions) if concessions else None
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
    vague = [item.description for item in facts.items if item.decision == "compromise" and not item.granted_cents]
    if vague:
        facts.notes_for_manager.append(
            "The team met the resident partway on " + ", ".join(vague) + " without saying how much: say in the "
            "letter how much comes off each of these charges."
        )
    elif decision == "compromise" and not facts.items and not (facts.token_cents or facts.concession_cents):
        facts.notes_for_manager.append(
            "The team chose a compromise but recommended no amount: say in the letter what the compromise is, "
            "or set a concession."
        )
    return facts


_COUNT_WORDS = {2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six", 7: "Seven", 8: "Eight", 9: "Nine"}


def _grouped(opinions: list) -> list:
    """Anonymous members who wrote the same words are quoted once: "Two team members wrote: …"."""
    from ..services.panel import Opinion

    counts = Counter((o.author, " ".join(o.reason.split()).lower()) for o in opinions if o.author == "A team member")
    grouped, seen = [], set()
    for opinion in opinions:
        key = (opinion.author, " ".join(opinion.reason.split()).lower())
        if opinion.author != "A team member" or counts[key] == 1:
            grouped.append(opinion)
        elif key not in seen:
            seen.add(key)
            grouped.append(Opinion(opinion.choice, opinion.reason, f"{_COUNT_WORDS.get(counts[key], counts[key])} "
                                                                   "team members"))
    return grouped


def _median(values: list[int]) -> int:
    return int(round(statistics.median(values)))


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


def topic_of(dispute: Dispute) -> str:
    category = (dispute.category or "").strip()
    return f"your {category}" if category else "this matter"


def _shorten(text: str, limit: int = RESTATEMENT_LIMIT) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    stop = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    return (cut[: stop + 1] if stop > limit // 2 else cut.rsplit(" ", 1)[0]) + " …"


# The draft ---------------------------------------------------------------------------------------

def draft_body(dispute: Dispute, facts: DecisionFacts, *, is_late: bool) -> str:
    """The letter's paragraphs, as the manager will edit them."""
    submission = latest_submission(dispute)
    said = (submission.details if submission is not None else "") or dispute.issue
    context = {
        "dispute": dispute,
        "company": dispute.company,
        "resident": dispute.resident,
        "manager": dispute.manager,
        "facts": facts,
        "submission": submission,
        "file_count": len(submission.files) if submission is not None else 0,
        "quoted": _quote(_shorten(said)),
        "asked": (submission.suggested_resolution.strip() if submission is not None else ""),
        "topic": topic_of(dispute),
        "is_late": is_late,
        "has_offer": bool(facts.token_cents or facts.concession_cents),
        "fulfil_days": FULFIL_WITHIN_DAYS,
        "money": money,
    }
    text = current_app.jinja_env.get_template("letters/draft_body.txt").render(context)
    return tidy_text(text)


def _quote(text: str) -> str:
    return "\n".join("> " + line if line.strip() else ">" for line in text.splitlines())


def tidy_text(text: str) -> str:
    """One blank line between paragraphs, no trailing spaces, no stray blank lines at either end."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip() + "\n"


# From text to blocks to HTML ---------------------------------------------------------------------

@dataclass
class Block:
    kind: str  # 'p', 'ul' or 'quote'
    lines: list[str]


def text_blocks(body_text: str) -> list[Block]:
    """Paragraphs split on blank lines; lines starting "- " make a list, lines starting "> " a quote."""
    blocks: list[Block] = []
    for paragraph in re.split(r"\n\s*\n", tidy_text(body_text).strip()):
        current: Block | None = None
        for line in paragraph.split("\n"):
            if line.startswith(("- ", "• ", "* ")):
                kind, content = "ul", line[2:].strip()
            elif line.startswith(">"):
                kind, content = "quote", line[1:].lstrip()
            else:
                kind, content = "p", line.strip()
            if current is None or current.kind != kind:
                current = Block(kind, [])
                blocks.append(current)
            current.lines.append(content)
    return [b for b in blocks if any(line for line in b.lines)]


# The frame ---------------------------------------------------------------------------------------

@dataclass
class Offer:
    token_kind: str
    token_cents: int | None
    concession_cents: int | None
    concession_phrase: str
    expires_dt: datetime | None

    @property
    def lines(self) -> list[str]:
        parts = []
        if self.token_cents:
            parts.append(f"a {money(self.token_cents)} {self.token_kind or 'gift card'}")
        if self.concession_cents:
            parts.append(f"{money(self.concession_cents)} {self.concession_phrase}")
        return parts


def offer_of(letter: Letter, dispute: Dispute) -> Offer | None:
    if not letter.has_offer:
        return None
    deposit = bool(dispute.items) or "deposit" in (dispute.category or "").lower()
    return Offer(
        token_kind=letter.token_kind,
        token_cents=letter.token_cents or None,
        concession_cents=letter.concession_cents or None,
        concession_phrase="back from your security deposit" if deposit else "credited to your account",
        expires_dt=letter.offer_expires_dt,
    )


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
        if decision == "resident":
            steps.append(Step(f"Remove {charge}", f"{item.description}: the {money(item.amount_cents)} charge "
                                                  "is removed"))
        elif decision == "compromise" and item.granted_cents:
            steps.append(Step(f"Take {money(item.granted_cents)} off {charge}",
                              f"{item.description}: {money(item.granted_cents)} is taken off the charge"))
        elif decision == "compromise":
            steps.append(Step(f"Reduce {charge} as the letter says",
                              f"{item.description}: the charge is reduced as our letter said"))
    if not dispute.items and dispute.decision == "resident":
        submission = latest_submission(dispute)
        asked = " ".join((submission.suggested_resolution if submission is not None else "").split())
        name = dispute.resident.name
        steps.append(Step(f"Do what {name} asked" + (f": {asked}" if asked else ""),
                          "what you asked us to do" + (f": {asked}" if asked else "")))
    elif not dispute.items and dispute.decision == "compromise" and not has_offer:
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


def letter_context(
    letter: Letter,
    dispute: Dispute,
    *,
    dated_dt: datetime | None,
    follow_up_due_dt: datetime | None = None,
    link_url: str | None = None,
    corrects: Letter | None = None,
) -> dict:
    company = dispute.company
    return {
        "letter": letter,
        "dispute": dispute,
        "company": company,
        "resident": dispute.resident,
        "manager": dispute.manager,
        "unit": dispute.unit,
        "property": dispute.unit.property if dispute.unit is not None else None,
        "dated_dt": dated_dt,
        "subject": letter.subject,
        **_split_for_offer(letter.body_text),
        "offer": offer_of(letter, dispute),
        "follow_up_due_dt": follow_up_due_dt,
        "link_url": link_url,
        "corrects": corrects,
        "ladder": ladder_of(company),
        "mediation": mediation_of(company),
    }


_NEXT_STEPS = re.compile(r"^(?:what happens next|next steps?)\b", re.I)


def _split_for_offer(body_text: str) -> dict:
    """The words before and after the offer: it sits just before "What happens next", if the
    letter has such a paragraph, else after the words."""
    paragraphs = re.split(r"\n\s*\n", tidy_text(body_text).strip())
    at = next((i for i, p in enumerate(paragraphs) if _NEXT_STEPS.match(p.strip())), len(paragraphs))
    before, after = "\n\n".join(paragraphs[:at]), "\n\n".join(paragraphs[at:])
    return {
        "blocks": text_blocks(before),
        "blocks_after_offer": text_blocks(after) if after else [],
        "body_text": before,
        "body_text_after_offer": after,
    }


def ladder_of(company) -> dict | None:
    """The people above the manager the resident may go to; from the company's settings only."""
    if not (company.supervisor_name or company.supervisor_phone or company.supervisor_email
            or company.home_office_phone):
        return None
    return {
        "supervisor_name": company.supervisor_name,
        "supervisor_phone": company.supervisor_phone,
        "supervisor_email": company.supervisor_email,
        "home_office_phone": company.home_office_phone,
    }


def mediation_of(company) -> dict | None:
    """The outside mediation service the company names; None when it names none (never assumed)."""
    if not company.mediation_service_name.strip():
        return None
    return {"name": company.mediation_service_name.strip(), "contact": company.mediation_service_contact.strip()}


def render_fragment(context: dict) -> str:
    """The letter as HTML to sit inside an email or a page."""
    return current_app.jinja_env.get_template("letters/_letter.html").render(context)


def render_document(context: dict) -> str:
    """The letter as a whole HTML document, for the PDF."""
    return current_app.jinja_env.get_template("letters/outcome.html").render(context)


def render_text(context: dict) -> str:
    return tidy_text(current_app.jinja_env.get_template("letters/outcome.txt").render(context))
