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
from datetime import date, datetime

from flask import current_app
from flask_babel import gettext as _

from ..i18n import current_language
from ..models import Dispute, Letter, Submission
from ..presentation import money
from ..workdays import day_words, format_day
from ..wording import company_words
from ..workflow.definition import Decision
from .wording import how_to_reach, number_word, to_fill_in, typed_in_english

RESTATEMENT_LIMIT = 900


# The facts a draft is written from (worked out by the outcome verbs) ------------------------------

AMOUNT = "{amount}"  # where the amount goes in a concession's words ("{amount} back from your security deposit")


@dataclass
class ItemOutcome:
    """One disputed charge as decided: what comes off it and what the resident still owes for it."""

    description: str
    amount_cents: int
    decision: str
    granted_cents: int | None

    @property
    def taken_off_cents(self) -> int | None:
        """What comes off the charge; None for a compromise that gave no amount (nothing off is no compromise)."""
        if self.decision == Decision.RESIDENT:
            return self.amount_cents
        if self.decision == Decision.COMPROMISE:
            return self.granted_cents or None
        return 0

    @property
    def owed_cents(self) -> int | None:
        """What the resident still owes for this charge; None while a compromise has no amount."""
        taken = self.taken_off_cents
        return None if taken is None else self.amount_cents - taken

    @property
    def is_vague(self) -> bool:
        return self.taken_off_cents is None

    @property
    def sentence(self) -> str:
        item, amount = self.description, money(self.amount_cents)
        if self.decision == Decision.RESIDENT:
            return _("%(item)s (%(amount)s): we will remove this charge in full.", item=item, amount=amount)
        if self.decision == Decision.COMPROMISE:
            taken, owed = self.taken_off_cents, self.owed_cents
            if taken is None:
                return _("%(item)s (%(amount)s): we will take %(gap)s off this charge, so you will owe %(gap)s "
                         "for it.", item=item, amount=amount, gap=to_fill_in())
            return _("%(item)s (%(amount)s): we will take %(taken)s off this charge, so you owe %(owed)s for it.",
                     item=item, amount=amount, taken=money(taken), owed=money(owed))
        return _("%(item)s (%(amount)s): this charge stands.", item=item, amount=amount)


def items_of(dispute: Dispute) -> list[ItemOutcome]:
    """Each disputed charge as decided (an item without its own decision follows the dispute's)."""
    return [ItemOutcome(item.description, item.amount_cents, item.decision or dispute.decision, item.granted_cents)
            for item in dispute.items]


@dataclass
class DecisionFacts:
    decision: str
    decided_by: str  # 'panel', 'manager' or 'chair'
    note: str
    team_size: int  # seated when the review closed (recused members aside)
    voted: int  # of them, how many voted
    was_split: bool  # for a decision the team did not reach: split (True) or too few voted (False)
    matter: str = "the matter you raised with us"  # the dispute's category in a sentence: "trouble with {matter}"
    concession_line: str = f"{AMOUNT} credited to your account"  # the category's words, with AMOUNT
    concession_task: str = f"Credit {AMOUNT} to the resident's account"
    asked_cents: int | None = None  # the amount the resident asked for, if they named one
    call_on: date | None = None  # the day the team talked it through on a call, if it did
    voted_on_call: int = 0  # of those who voted, how many gave their view on that call
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
        # The resident knows their letter by the day it reached us; who typed it in is ours to know.
        "received_on": format_day(submission.received_dt, dispute.company)
        if submission is not None and submission.is_by_post else "",
        "promised_on": format_day(dispute.reply_promised_dt, dispute.company) if is_late else "",
        "file_count": len(submission.files) if submission is not None else 0,
        "quoted": _quote(_shorten(said)),
        "asked": " ".join((submission.suggested_resolution if submission is not None else "").split()),
        "matter": facts.matter,
        "is_late": is_late,
        "has_offer": bool(facts.token_cents or facts.concession_cents),
        "fulfil_days": fulfil_days,
        "money": money,
        "number_word": number_word,
        "day_words": day_words,
        "to_fill_in": to_fill_in(),
        "typed_in_english": typed_in_english,
        "agreeing_in_english": any(typed_in_english(opinion.reason) for opinion in facts.agreeing),
        "dissenting_in_english": any(typed_in_english(opinion.reason) for opinion in facts.dissenting),
        "ladder": ladder_of(dispute.company),
        "mediation": mediation_of(dispute.company),
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
    """The letter's offer: a token, a concession in the words of the dispute's kind (which charge it
    comes off, and what is then left to pay), and the date it is open until."""

    token_kind: str
    token_cents: int | None
    concession_cents: int | None
    concession_words: str  # with AMOUNT: "{amount} back from your security deposit"
    task_words: str  # with AMOUNT: "Return {amount} from the security deposit"
    expires_dt: datetime | None
    items: list[ItemOutcome] = field(default_factory=list)

    @property
    def token_line(self) -> str:
        """"a $25 gift card", in the language spoken now (the token's kind is quoted as it was typed)."""
        if not self.token_cents:
            return ""
        if current_language() != "en" and self.token_kind:
            return _("a gift of %(amount)s (in your property manager's words: “%(kind)s”)",
                     amount=money(self.token_cents), kind=self.token_kind)
        return _("a %(amount)s %(kind)s", amount=money(self.token_cents), kind=self.token_kind or _("gift card"))

    @property
    def token_task(self) -> str:
        """"Send a $25 gift card": the manager's step, in English (staff read English)."""
        return f"Send a {money(self.token_cents)} {self.token_kind or 'gift card'}" if self.token_cents else ""

    @property
    def concession_line(self) -> str:
        """"$50 back from your security deposit. It comes off the Door charge: you would then owe $210
        for it instead of $260." (as the resident reads it, in the language spoken now)"""
        if not self.concession_cents:
            return ""
        line = self.concession_words.replace(AMOUNT, money(self.concession_cents))
        owing = self._owing
        if not owing:
            return line
        owed = self._owed(owing)
        if len(owing) == 1:
            item = owing[0].description
            if owed is None:
                return _("%(line)s. It comes off the %(item)s charge.", line=line, item=item)
            return _("%(line)s. It comes off the %(item)s charge: you would then owe %(left)s for it instead of "
                     "%(owed)s.", line=line, item=item, left=money(max(owed - self.concession_cents, 0)),
                     owed=money(owed))
        if owed is None:
            return _("%(line)s. It comes off what you still owe on the charges above.", line=line)
        return _("%(line)s. It comes off what you still owe on the charges above: you would then owe %(left)s "
                 "in all instead of %(owed)s.", line=line, left=money(max(owed - self.concession_cents, 0)),
                 owed=money(owed))

    @property
    def concession_task(self) -> str:
        """"Return $50 from the security deposit (off the Door charge, leaving $210)": the manager's step
        (in English: staff read English)."""
        if not self.concession_cents:
            return ""
        task = self.task_words.replace(AMOUNT, money(self.concession_cents))
        owing = self._owing
        if not owing:
            return task
        owed = self._owed(owing)
        charge = f"the {owing[0].description} charge" if len(owing) == 1 else "what you still owe on the charges above"
        left = f", leaving {money(max(owed - self.concession_cents, 0))}" if owed is not None else ""
        return f"{task} (off {charge}{left})"

    @property
    def _owing(self) -> list[ItemOutcome]:
        return [item for item in self.items if item.owed_cents != 0]

    @staticmethod
    def _owed(owing: list[ItemOutcome]) -> int | None:
        """What is owed on the charges a concession comes off (those still owed after the decision); None
        while a compromise on one of them has no amount."""
        return None if any(item.owed_cents is None for item in owing) else sum(item.owed_cents for item in owing)

    @property
    def lines(self) -> list[str]:
        return [line for line in (self.token_line, self.concession_line) if line]


def offer_of(letter: Letter, dispute: Dispute) -> Offer | None:
    if not letter.has_offer:
        return None
    return Offer(
        token_kind=letter.token_kind,
        token_cents=letter.token_cents or None,
        concession_cents=letter.concession_cents or None,
        concession_words=letter.concession_line or _("%(amount)s credited to your account", amount=AMOUNT),
        task_words=letter.concession_task or f"Credit {AMOUNT} to the resident's account",
        expires_dt=letter.offer_expires_dt,
        items=items_of(dispute),
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
        "language": current_language(),
        "typed_in_english": typed_in_english,
        "subject": letter.subject,
        **_split_for_offer(letter.body_text),
        "offer": offer_of(letter, dispute),
        "follow_up_due_dt": follow_up_due_dt,
        "link_url": link_url,
        "corrects": corrects,
        "ladder": ladder_of(company),
        "mediation": mediation_of(company),
    }


_NEXT_STEPS = re.compile(r"^(?:what happens next|next steps?|próximos pasos|lo que sigue)\b", re.I)


def _split_for_offer(body_text: str) -> dict:
    """The words before and after the offer: it sits just before "What happens next", if the
    letter has such a paragraph, else after the words. In a letter in another language than English,
    a paragraph the manager wrote in English is shown after a note saying so."""
    paragraphs = [_with_language_note(p) for p in re.split(r"\n\s*\n", tidy_text(body_text).strip())]
    at = next((i for i, p in enumerate(paragraphs) if _NEXT_STEPS.match(p.strip())), len(paragraphs))
    before, after = "\n\n".join(paragraphs[:at]), "\n\n".join(paragraphs[at:])
    return {
        "blocks": text_blocks(before),
        "blocks_after_offer": text_blocks(after) if after else [],
        "body_text": before,
        "body_text_after_offer": after,
    }


def _with_language_note(paragraph: str) -> str:
    """The paragraph, after a note in the letter's language when it is the manager's English (a quotation,
    the resident's own words, is left as it is)."""
    if paragraph.lstrip().startswith(">") or not typed_in_english(paragraph):
        return paragraph
    return _("This paragraph was written by your property manager in English:") + "\n\n" + paragraph


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
        "reach": how_to_reach(company.supervisor_name, company.supervisor_phone, company.supervisor_email),
    }


def mediation_of(company) -> dict | None:
    """The outside mediation service the company names, in the current language where the company gave
    its words in it (``contact_language`` says which language the contact words are in); None when it
    names none, or chose none on purpose (never assumed)."""
    if company.is_without_mediation or not company.mediation_service_name.strip():
        return None
    contact = company_words(company, "mediation_service_contact")
    return {"name": company_words(company, "mediation_service_name").text, "contact": contact.text,
            "contact_language": contact.language}


def render_fragment(context: dict) -> str:
    """The letter as HTML to sit inside an email or a page."""
    return current_app.jinja_env.get_template("letters/_letter.html").render(context)


def render_document(context: dict) -> str:
    """The letter as a whole HTML document, for the PDF."""
    return current_app.jinja_env.get_template("letters/outcome.html").render(context)


def render_text(context: dict) -> str:
    return tidy_text(current_app.jinja_env.get_template("letters/outcome.txt").render(context))
