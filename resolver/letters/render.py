"""The outcome letter's words and layout.

A letter is plain paragraphs the manager can edit (``Letter.body_text``), set in a fixed frame the
company's settings fill in: the letterhead, the offer with its dates, the way up the ladder and the
outside mediation service, the signature. The HTML is always rebuilt from the text, escaped, so
nothing a person types is ever rendered as markup. One HTML template (``letters/_letter.html``)
makes both the email's HTML part and the PDF; ``letters/outcome.txt`` makes the plain-text part.

This module only renders: what a decision means (the count, the recommended offer, the team's
feedback, what is promised) is worked out by the outcome verbs (``resolver.services.outcome``) and
handed over finished, as ``DecisionFacts``. Nothing here queries the database or recounts a vote.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app

from ..models import Dispute, Letter, Submission
from ..presentation import money
from ..workflow.definition import Decision

RESTATEMENT_LIMIT = 900


# The facts a draft is written from (worked out by the outcome verbs) ------------------------------

@dataclass
class ItemOutcome:
    description: str
    amount_cents: int
    decision: str
    granted_cents: int | None

    @property
    def sentence(self) -> str:
        amount = money(self.amount_cents)
        if self.decision == Decision.RESIDENT:
            return f"{self.description} ({amount}): we will remove this charge in full."
        if self.decision == Decision.COMPROMISE:
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
        return any(item.decision in (Decision.RESIDENT, Decision.COMPROMISE) for item in self.items)

    @property
    def items_upheld(self) -> bool:
        return any(item.decision == Decision.UPHOLD for item in self.items)


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

def draft_body(
    dispute: Dispute, facts: DecisionFacts, *, submission: Submission | None, is_late: bool, fulfil_days: int
) -> str:
    """The letter's paragraphs, as the manager will edit them, from the resident's latest
    ``submission`` and what the decision means (``facts``); ``fulfil_days``: the days the letter
    promises what is granted is done within."""
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
        "fulfil_days": fulfil_days,
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
    """The outside mediation service the company names; None when it names none, or chose none on
    purpose (never assumed)."""
    if company.is_without_mediation or not company.mediation_service_name.strip():
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
