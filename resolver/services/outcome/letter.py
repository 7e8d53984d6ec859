"""The outcome letter before it goes: reading it, drafting it from the decision, editing it,
approving it (the tone check), and starting a correction of one that was sent.

A sent letter never changes: a correction is a new letter linked to the one it corrects.
"""
from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import func, select

from ...actors import Actor
from ...clock import now_utc
from ...errors import InvalidInput, NotFound, WrongState
from ...extensions import db
from ...history import record_event
from ...i18n import current_language, speaking, spoken
from ...letters import render
from ...letters.tone import ToneFlag, check_letter, check_tone
from ...models import UNSENT, Dispute, Letter, LetterStatus
from ...money import check_cents
from ...presentation import money
from ...workdays import add_days
from ...workflow.definition import Decision
from ...workflow.engine import dispute_engine
from ..access import check_version, require_staff
from ..categories import phrases_of
from .decision import FULFIL_WITHIN_DAYS, decision_facts, latest_submission, resident_words

WORKFLOW = dispute_engine.definition

MAX_LETTER_CHARS = 20_000
SENT_STATES = WORKFLOW.group("letter_sent")
# A letter's statuses are the Letter model's: a new letter starts as its column's default (a draft);
# until it is sent it is a draft or approved. (Read from the model, so the word is spelled in one place.)


class ToneCheckFailed(InvalidInput):
    """The letter has something the practice notes warn against, or leaves out something it needs."""

    def __init__(self, flags: list[ToneFlag]):
        points = " ".join(_point(flag) for flag in flags)
        super().__init__(
            f"Before this letter goes, please look again: {points} "
            "Change the letter, or send it anyway with a short reason (the reason is kept).",
            field="body_text",
        )
        self.flags = flags


def _point(flag: ToneFlag) -> str:
    if not flag.excerpt:
        return f"• {flag.message}"
    kinder = f" A kinder way to say it: “{flag.kinder}”" if flag.kinder else ""
    return f"• {flag.message} (“{flag.excerpt}”){kinder}"


# Reading ---------------------------------------------------------------------------------------

def letters_of(dispute: Dispute) -> list[Letter]:
    return list(db.session.scalars(select(Letter).where(Letter.dispute_id == dispute.id).order_by(Letter.version)))


def current_letter(dispute: Dispute) -> Letter | None:
    """The letter being worked on (draft or approved), else the last one sent."""
    letters = [letter for letter in letters_of(dispute) if letter.status != "superseded"]
    unsent = [letter for letter in letters if letter.status in UNSENT]
    return (unsent or letters or [None])[-1]


def sent_letter(dispute: Dispute) -> Letter | None:
    """The newest letter the resident was sent (a correction, if there is one)."""
    sent = [letter for letter in letters_of(dispute) if letter.status == "sent"]
    return sent[-1] if sent else None


def tone_flags(letter: Letter) -> list[ToneFlag]:
    """The tone check for a letter as it stands, for a page to show before approving: the manager's
    words, then the letter as the resident would get it if it were sent now (the frame adds the
    offer, the date to confirm receipt by, the ladder and mediation, so only what is really missing
    is flagged). A letter is checked with the rules of the language it is written in."""
    dispute = dispute_of(letter)
    now = now_utc()
    is_late = not letter.is_correction and is_past_promise(dispute, now)
    flags = check_tone(letter.body_text, resident_words=resident_words(dispute), is_late=is_late,
                       language=letter.language)
    with speaking(letter.language):
        context = sending_context(letter, dispute, now)
        offer = context["offer"]
        letter_text = render.render_text(context)
        offer_lines = offer.lines if offer is not None else []
    flags += check_letter(
        letter_text,
        own_words=letter.body_text,
        offer_lines=offer_lines,
        is_against_resident=dispute.decision == Decision.UPHOLD,
        is_without_mediation=dispute.company.is_without_mediation,
        language=letter.language,
    )
    return flags


def sending_context(letter: Letter, dispute: Dispute, now: datetime) -> dict:
    """The letter's context as it goes if sent at ``now``: dated, with the date the resident is asked
    to confirm receipt by (a correction keeps the first letter's, while that window is open) and the
    date an offer not yet answered is open until (an answered one keeps its own)."""
    window = WORKFLOW.windows["follow_up"]
    if letter.is_correction:
        follow_up_due = dispute.follow_up_due_dt if dispute.state in window.active_in else None
    else:
        follow_up_due = dispute_engine.window_due(dispute, window, now)
    corrects = corrected_letter(letter)
    context = render.letter_context(letter, dispute, dated_dt=now, follow_up_due_dt=follow_up_due, corrects=corrects)
    if context["offer"] is not None:
        if letter.offer_response is None:
            context["offer"].expires_dt = add_days(now, dispute.company.offer_valid_days, dispute.company)
        else:
            context["offer"].expires_dt = letter.offer_expires_dt or corrects.offer_expires_dt
    return context


def preview_html(letter: Letter) -> Markup:
    """The letter as it would read if sent now (for the manager's page), in its own language; safe to insert."""
    dispute = dispute_of(letter)
    with speaking(letter.language):
        context = render.letter_context(letter, dispute, dated_dt=letter.sent_dt, corrects=corrected_letter(letter))
        return Markup(render.render_fragment(context))


def _english_draft_html(letter: Letter, dispute: Dispute, *, is_late: bool) -> str:
    """The letter in another language than English, drafted again in English from the same decision:
    what the manager reads beside the draft, so they know what it says."""
    with speaking("en"):
        facts = decision_facts(dispute)
        english = Letter(
            dispute_id=dispute.id, version=letter.version, language="en", subject=_subject(dispute),
            body_text=render.draft_body(dispute, facts, submission=latest_submission(dispute), is_late=is_late,
                                        fulfil_days=FULFIL_WITHIN_DAYS),
            token_kind=letter.token_kind, token_cents=letter.token_cents, concession_cents=letter.concession_cents,
            concession_line=facts.concession_line, concession_task=facts.concession_task,
        )
        context = render.letter_context(english, dispute, dated_dt=None)
        return render.render_fragment(context)


def letter_pdf_filename(letter: Letter) -> str:
    suffix = f"-v{letter.version}" if letter.version > 1 else ""
    return f"resolver-letter-{letter.dispute_id}{suffix}.pdf"


# Drafting and editing --------------------------------------------------------------------------

def draft_outcome(actor: Actor, dispute: Dispute, *, expected_version: int | None = None) -> Letter:
    """Write the first draft from the decision; a new draft replaces an unsent one."""
    require_staff(actor, dispute)
    check_version(dispute, expected_version)
    if not WORKFLOW.can("draft_outcome", dispute.state):
        if dispute.state in SENT_STATES or dispute.outcome_sent_dt is not None:
            raise WrongState("The letter was already sent. To change it, write a correction; "
                             "it goes as a new letter, linked to the first.")
        raise WrongState("There is no decision yet: the letter is written from the team's decision.",
                         allowed=dispute_engine.allowed(dispute))
    now = now_utc()
    is_late = is_past_promise(dispute, now)
    for old in letters_of(dispute):
        if old.status in UNSENT:
            old.status = "superseded"
    # Written in the resident's language (English when Resolver does not speak theirs), for good: the
    # letter keeps the language it was written in.
    language = spoken(dispute.resident.preferred_language)
    with speaking(language):
        facts = decision_facts(dispute)
        subject = _subject(dispute)
        body_text = render.draft_body(dispute, facts, submission=latest_submission(dispute), is_late=is_late,
                                      fulfil_days=FULFIL_WITHIN_DAYS)
    letter = Letter(
        dispute_id=dispute.id,
        version=_next_version(dispute),
        language=language,
        status=LetterStatus.DRAFT,
        subject=subject,
        body_text=body_text,
        token_kind=facts.token_kind if facts.token_cents else "",
        token_cents=facts.token_cents,
        concession_cents=facts.concession_cents,
        concession_line=facts.concession_line,
        concession_task=facts.concession_task,
        draft_notes=facts.notes_for_manager,
        created_dt=now,
    )
    db.session.add(letter)
    db.session.flush()
    letter.tone_flags = [flag.as_dict() for flag in tone_flags(letter)]
    letter.body_html = str(preview_html(letter))
    if language != "en":
        letter.english_html = _english_draft_html(letter, dispute, is_late=is_late)
    dispute_engine.fire(dispute, "draft_outcome", actor=actor, now=now,
                        data={"letter_id": letter.id, "version": letter.version})
    return letter


def edit_letter(
    actor: Actor,
    letter: Letter,
    *,
    body_text: str | None = None,
    subject: str | None = None,
    token_kind: str | None = None,
    token_cents: int | None = None,
    concession_cents: int | None = None,
    expected_version: int | None = None,
) -> Letter:
    """Change an unsent letter's words or offer. ``None`` leaves a part as it is; an amount of 0 removes it.

    The words are plain text (a blank line between paragraphs, "- " for a list, "> " for a
    quotation); the HTML is rebuilt from them, escaped. An approved letter goes back to draft.
    """
    dispute = dispute_of(letter)
    require_staff(actor, dispute)
    check_version(dispute, expected_version)
    _require_unsent(letter)
    changed: dict[str, object] = {}
    if body_text is not None:
        text = render.tidy_text(body_text)
        if not text.strip():
            raise InvalidInput("The letter cannot be empty.", field="body_text")
        if len(text) > MAX_LETTER_CHARS:
            raise InvalidInput(f"Please keep the letter under {MAX_LETTER_CHARS:,} characters.", field="body_text")
        if text != render.tidy_text(letter.body_text):
            changed["body_text"] = True
            letter.body_text = text
    if subject is not None:
        subject = " ".join(subject.split())
        if not subject or len(subject) > 300:
            raise InvalidInput("The subject line needs between 1 and 300 characters.", field="subject")
        if subject != letter.subject:
            changed["subject"] = True  # the words stay on the letter (erasable), not in the history
            letter.subject = subject
    new_kind = letter.token_kind if token_kind is None else " ".join(token_kind.split())
    new_token = letter.token_cents if token_cents is None else (check_cents(token_cents, field="token_cents") or None)
    new_concession = (letter.concession_cents if concession_cents is None
                      else (check_cents(concession_cents, field="concession_cents") or None))
    offer_changed = (new_kind, new_token, new_concession) != (letter.token_kind, letter.token_cents,
                                                               letter.concession_cents)
    if offer_changed:
        if letter.offer_response is not None:
            raise WrongState(f"The resident already {letter.offer_response} this offer, so it cannot change in a "
                             "correction. Please talk to the resident first.")
        check_offer(dispute, new_kind, new_token, new_concession)
        changed["offer"] = {"from": offer_summary(letter.token_kind, letter.token_cents, letter.concession_cents),
                            "to": offer_summary(new_kind, new_token, new_concession)}
        letter.token_kind, letter.token_cents, letter.concession_cents = (new_kind if new_token else ""), new_token, \
            new_concession
    if not changed:
        return letter
    if letter.status == LetterStatus.APPROVED:
        letter.status, letter.approved_dt, letter.approved_by_id = LetterStatus.DRAFT, None, None
        changed["approval"] = "withdrawn: the letter changed after it was approved"
    letter.tone_flags = [flag.as_dict() for flag in tone_flags(letter)]
    letter.body_html = str(preview_html(letter))
    dispute_engine.touch(dispute)  # two managers editing at once: one edit, the other is told
    record_event(dispute, actor, "letter_edited", data={"letter_id": letter.id, **changed})
    return letter


def approve_letter(actor: Actor, letter: Letter, *, override_reason: str = "",
                   expected_version: int | None = None) -> Letter:
    """Run the tone check and approve; with flags, only with a reason, which is kept."""
    dispute = dispute_of(letter)
    require_staff(actor, dispute)
    check_version(dispute, expected_version)
    _require_unsent(letter)
    if letter.status == LetterStatus.APPROVED:
        return letter
    check_offer(dispute, letter.token_kind, letter.token_cents, letter.concession_cents)
    flags = tone_flags(letter)
    blocking = [flag for flag in flags if flag.is_blocking]
    reason = " ".join((override_reason or "").split())
    if blocking and not reason:
        raise ToneCheckFailed(blocking)
    now = now_utc()
    letter.status = LetterStatus.APPROVED
    letter.approved_dt = now
    letter.approved_by_id = actor.id if actor.is_staff else None
    letter.tone_flags = [flag.as_dict() for flag in flags]
    letter.tone_override_reason = reason if blocking else ""
    dispute_engine.touch(dispute)  # an edit drawn before the approval is told the letter changed
    record_event(
        dispute, actor, "letter_approved", now=now,
        reason=(f"Approved despite the tone check: {reason}" if blocking else ""),
        data={"letter_id": letter.id, "version": letter.version, "tone_flags": [f.code for f in flags],
              "sent_anyway": bool(blocking)},
    )
    db.session.flush()  # the send guard counts approved letters in the database
    return letter


def correct_letter(actor: Actor, dispute: Dispute, *, expected_version: int | None = None) -> Letter:
    """Start a correction of the letter the resident has: a new draft, linked to it."""
    require_staff(actor, dispute)
    check_version(dispute, expected_version)
    original = sent_letter(dispute)
    if dispute.state not in SENT_STATES or original is None:
        raise WrongState("Only a letter that was sent can be corrected. An unsent draft can simply be edited.")
    for letter in letters_of(dispute):
        if letter.status in UNSENT and letter.corrects_letter_id is not None:
            return letter  # one correction at a time: carry on with the open one
    correction = Letter(
        dispute_id=dispute.id,
        version=_next_version(dispute),
        corrects_letter_id=original.id,
        language=original.language,
        english_html=original.english_html,
        status=LetterStatus.DRAFT,
        subject=original.subject,
        body_text=original.body_text,
        token_kind=original.token_kind,
        token_cents=original.token_cents,
        concession_cents=original.concession_cents,
        concession_line=original.concession_line,
        concession_task=original.concession_task,
        offer_response=original.offer_response,
        offer_response_dt=original.offer_response_dt,
        created_dt=now_utc(),
    )
    db.session.add(correction)
    db.session.flush()
    correction.body_html = str(preview_html(correction))
    dispute_engine.touch(dispute)
    record_event(dispute, actor, "correction_started", data={"letter_id": correction.id, "corrects": original.id})
    return correction


# Helpers -----------------------------------------------------------------------------------------

def dispute_of(letter: Letter) -> Dispute:
    dispute = db.session.get(Dispute, letter.dispute_id)
    if dispute is None:
        raise NotFound("There is no such letter.")
    return dispute


def corrected_letter(letter: Letter) -> Letter | None:
    return db.session.get(Letter, letter.corrects_letter_id) if letter.corrects_letter_id else None


def _next_version(dispute: Dispute) -> int:
    return (db.session.scalar(select(func.max(Letter.version)).where(Letter.dispute_id == dispute.id)) or 0) + 1


def _subject(dispute: Dispute) -> str:
    """The letter's subject, in the language spoken now."""
    phrases = phrases_of(dispute)
    if getattr(phrases, "language", "en") == current_language():
        return _("Our written reply about %(matter)s", matter=phrases.matter)
    return _("Our written reply about the matter you raised with us")


def _require_unsent(letter: Letter) -> None:
    if letter.status == "sent":
        raise WrongState("This letter was sent and never changes. To correct it, write a correction: "
                         "it goes as a new letter, linked to this one.")
    if letter.status == "superseded":
        raise WrongState("This draft was replaced by a newer one; please work on the newest draft.")


def check_offer(dispute: Dispute, kind: str, token_cents: int | None, concession_cents: int | None) -> None:
    company = dispute.company
    if token_cents and token_cents > company.token_cap_cents:
        raise InvalidInput(f"A token can be at most {money(company.token_cap_cents)} (the company's limit).",
                           field="token_cents")
    if token_cents and not (kind or "").strip():
        raise InvalidInput("Say what the token is, for example a coffee-shop gift card.", field="token_kind")
    if concession_cents and concession_cents > company.concession_cap_cents:
        raise InvalidInput(f"A concession can be at most {money(company.concession_cap_cents)} "
                           "(the company's limit).", field="concession_cents")


def is_past_promise(dispute: Dispute, now: datetime) -> bool:
    """The written reply is later than the date first promised the resident (a moved date does not
    change what was promised)."""
    return dispute.reply_promised_dt is not None and now > dispute.reply_promised_dt


def offer_summary(kind: str, token_cents: int | None, concession_cents: int | None) -> dict:
    return {"token_kind": kind or "", "token_cents": token_cents, "concession_cents": concession_cents}
