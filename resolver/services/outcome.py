"""Verbs for the written outcome and following it through.

draft → edit → approve (the tone check) → send (HTML and text email with the PDF attached, kept on
the dispute) → the resident confirms receipt and accepts or declines any offer through a personal
link → what the letter promises (what the decision grants, and an accepted offer) becomes the manager's
task, whose completion closes the dispute; a declined offer is referred to the company's outside
mediation service. If receipt is not confirmed in time, one last follow-up goes to the resident and
a task with a calendar reminder to the manager.

A sent letter never changes: a correction is a new letter linked to the one it corrects. Each verb
checks who may act, changes the rows, queues its emails, records the history, and never commits.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import current_app
from markupsafe import Markup
from sqlalchemy import func, select

from ..actors import Actor
from ..clock import now_utc
from ..errors import DeadlinePassed, GuardFailed, InvalidInput, NotAllowed, NotFound, WrongState
from ..extensions import db
from ..files import store_bytes
from ..letters import render
from ..letters.calendar import task_event
from ..letters.pdf import html_to_pdf
from ..letters.tone import ToneFlag, check_tone
from ..links import current_link, issue_link, link_url
from ..models import AuditEvent, Dispute, Letter, Task
from ..outbox import queue_email
from ..presentation import money
from ..workdays import add_days, format_day, local_zone
from ..workflow.engine import dispute_engine
from .access import require_staff

MAX_LETTER_CHARS = 20_000
# The outcome link outlives the offer and the follow-up, so a late resident reads a polite page.
OUTCOME_LINK_GRACE = timedelta(days=60)
SENT_STATES = ("outcome_sent", "acknowledged", "referred")


class ToneCheckFailed(InvalidInput):
    """The letter has something the practice notes warn against, or leaves out something it needs."""

    def __init__(self, flags: list[ToneFlag]):
        points = " ".join(f"• {flag.message}" + (f" (“{flag.excerpt}”)" if flag.excerpt else "") for flag in flags)
        super().__init__(
            f"Before this letter goes, please look again: {points} "
            "Change the letter, or send it anyway with a short reason (the reason is kept).",
            field="body_text",
        )
        self.flags = flags


# Reading ---------------------------------------------------------------------------------------

def letters_of(dispute: Dispute) -> list[Letter]:
    return list(db.session.scalars(select(Letter).where(Letter.dispute_id == dispute.id).order_by(Letter.version)))


def current_letter(dispute: Dispute) -> Letter | None:
    """The letter being worked on (draft or approved), else the last one sent."""
    letters = [letter for letter in letters_of(dispute) if letter.status != "superseded"]
    unsent = [letter for letter in letters if letter.status in ("draft", "approved")]
    return (unsent or letters or [None])[-1]


def sent_letter(dispute: Dispute) -> Letter | None:
    """The newest letter the resident was sent (a correction, if there is one)."""
    sent = [letter for letter in letters_of(dispute) if letter.status == "sent"]
    return sent[-1] if sent else None


def open_tasks(dispute: Dispute, kind: str | None = None) -> list[Task]:
    query = select(Task).where(Task.dispute_id == dispute.id, Task.done_dt.is_(None))
    if kind is not None:
        query = query.where(Task.kind == kind)
    return list(db.session.scalars(query.order_by(Task.id)))


def tone_flags(letter: Letter) -> list[ToneFlag]:
    """The tone check for a letter as it stands, for a page to show before approving."""
    dispute = _dispute_of(letter)
    is_late = (
        not letter.is_correction
        and dispute.reply_due_dt is not None
        and now_utc() > dispute.reply_due_dt
    )
    return check_tone(letter.body_text, resident_words=render.resident_words(dispute), is_late=is_late)


def preview_html(letter: Letter) -> Markup:
    """The letter as it would read if sent now (for the manager's page); safe to insert."""
    dispute = _dispute_of(letter)
    context = render.letter_context(letter, dispute, dated_dt=letter.sent_dt, corrects=_corrected(letter))
    return Markup(render.render_fragment(context))


def letter_pdf_filename(letter: Letter) -> str:
    suffix = f"-v{letter.version}" if letter.version > 1 else ""
    return f"resolver-letter-{letter.dispute_id}{suffix}.pdf"


# Drafting and editing --------------------------------------------------------------------------

def draft_outcome(actor: Actor, dispute: Dispute) -> Letter:
    """Write the first draft from the decision; a new draft replaces an unsent one."""
    require_staff(actor, dispute)
    if dispute.state not in ("decided", "outcome_draft"):
        if dispute.state in SENT_STATES or dispute.outcome_sent_dt is not None:
            raise WrongState("The letter was already sent. To change it, write a correction; "
                             "it goes as a new letter, linked to the first.")
        raise WrongState("There is no decision yet: the letter is written from the team's decision.",
                         allowed=dispute_engine.allowed(dispute))
    now = now_utc()
    facts = render.decision_facts(dispute)
    is_late = dispute.reply_due_dt is not None and now > dispute.reply_due_dt
    for old in letters_of(dispute):
        if old.status in ("draft", "approved"):
            old.status = "superseded"
    letter = Letter(
        dispute_id=dispute.id,
        version=_next_version(dispute),
        status="draft",
        subject=_subject(dispute),
        body_text=render.draft_body(dispute, facts, is_late=is_late),
        token_kind=facts.token_kind if facts.token_cents else "",
        token_cents=facts.token_cents,
        concession_cents=facts.concession_cents,
        draft_notes=facts.notes_for_manager,
        created_dt=now,
    )
    db.session.add(letter)
    db.session.flush()
    letter.tone_flags = [flag.as_dict() for flag in tone_flags(letter)]
    letter.body_html = str(preview_html(letter))
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
) -> Letter:
    """Change an unsent letter's words or offer. ``None`` leaves a part as it is; an amount of 0 removes it.

    The words are plain text (a blank line between paragraphs, "- " for a list, "> " for a
    quotation); the HTML is rebuilt from them, escaped. An approved letter goes back to draft.
    """
    dispute = _dispute_of(letter)
    require_staff(actor, dispute)
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
            changed["subject"] = subject
            letter.subject = subject
    new_kind = letter.token_kind if token_kind is None else " ".join(token_kind.split())
    new_token = letter.token_cents if token_cents is None else (_amount(token_cents, "token_cents") or None)
    new_concession = (letter.concession_cents if concession_cents is None
                      else (_amount(concession_cents, "concession_cents") or None))
    offer_changed = (new_kind, new_token, new_concession) != (letter.token_kind, letter.token_cents,
                                                               letter.concession_cents)
    if offer_changed:
        if letter.offer_response is not None:
            raise WrongState(f"The resident already {letter.offer_response} this offer, so it cannot change in a "
                             "correction. Please talk to the resident first.")
        _check_offer(dispute, new_kind, new_token, new_concession)
        changed["offer"] = {"from": _offer_summary(letter.token_kind, letter.token_cents, letter.concession_cents),
                            "to": _offer_summary(new_kind, new_token, new_concession)}
        letter.token_kind, letter.token_cents, letter.concession_cents = (new_kind if new_token else ""), new_token, \
            new_concession
    if not changed:
        return letter
    if letter.status == "approved":
        letter.status, letter.approved_dt, letter.approved_by_id = "draft", None, None
        changed["approval"] = "withdrawn: the letter changed after it was approved"
    letter.tone_flags = [flag.as_dict() for flag in tone_flags(letter)]
    letter.body_html = str(preview_html(letter))
    _audit(dispute, actor, "letter_edited", data={"letter_id": letter.id, **changed})
    return letter


def approve_letter(actor: Actor, letter: Letter, *, override_reason: str = "") -> Letter:
    """Run the tone check and approve; with flags, only with a reason, which is kept."""
    dispute = _dispute_of(letter)
    require_staff(actor, dispute)
    _require_unsent(letter)
    if letter.status == "approved":
        return letter
    _check_offer(dispute, letter.token_kind, letter.token_cents, letter.concession_cents)
    flags = tone_flags(letter)
    reason = " ".join((override_reason or "").split())
    if flags and not reason:
        raise ToneCheckFailed(flags)
    now = now_utc()
    letter.status = "approved"
    letter.approved_dt = now
    letter.approved_by_id = actor.id if actor.is_staff else None
    letter.tone_flags = [flag.as_dict() for flag in flags]
    letter.tone_override_reason = reason if flags else ""
    _audit(
        dispute, actor, "letter_approved", now=now,
        reason=(f"Approved despite the tone check: {reason}" if flags else ""),
        data={"letter_id": letter.id, "version": letter.version, "tone_flags": [f.code for f in flags],
              "sent_anyway": bool(flags)},
    )
    db.session.flush()  # the send guard counts approved letters in the database
    return letter


def correct_letter(actor: Actor, dispute: Dispute) -> Letter:
    """Start a correction of the letter the resident has: a new draft, linked to it."""
    require_staff(actor, dispute)
    original = sent_letter(dispute)
    if dispute.state not in SENT_STATES or original is None:
        raise WrongState("Only a letter that was sent can be corrected. An unsent draft can simply be edited.")
    for letter in letters_of(dispute):
        if letter.status in ("draft", "approved") and letter.corrects_letter_id is not None:
            return letter  # one correction at a time: carry on with the open one
    correction = Letter(
        dispute_id=dispute.id,
        version=_next_version(dispute),
        corrects_letter_id=original.id,
        status="draft",
        subject=original.subject,
        body_text=original.body_text,
        token_kind=original.token_kind,
        token_cents=original.token_cents,
        concession_cents=original.concession_cents,
        offer_response=original.offer_response,
        offer_response_dt=original.offer_response_dt,
        created_dt=now_utc(),
    )
    db.session.add(correction)
    db.session.flush()
    correction.body_html = str(preview_html(correction))
    _audit(dispute, actor, "correction_started", data={"letter_id": correction.id, "corrects": original.id})
    return correction


# Sending -----------------------------------------------------------------------------------------

def send_outcome(actor: Actor, dispute: Dispute) -> Letter:
    """Send the approved letter (or an approved correction): PDF made and kept, email queued.

    The PDF is made before anything changes: if it cannot be made, nothing is sent and nothing
    changes (no email without its PDF).
    """
    require_staff(actor, dispute)
    approved = [letter for letter in letters_of(dispute) if letter.status == "approved"]
    letter = approved[-1] if approved else None
    is_correction = letter is not None and letter.is_correction
    if dispute.state in SENT_STATES and not is_correction:
        sent = sent_letter(dispute)
        when = format_day(sent.sent_dt, dispute.company) if sent is not None else "earlier"
        raise WrongState(f"The letter was already sent on {when}. To change it, write a correction; "
                         "it goes as a new letter, linked to the first.")
    if dispute.state not in ("outcome_draft", *SENT_STATES):
        if dispute.decision is None:
            raise WrongState("There is no decision yet, so there is no letter to send.",
                             allowed=dispute_engine.allowed(dispute))
        raise WrongState("Write and approve the letter before sending it.", allowed=dispute_engine.allowed(dispute))
    if letter is None:
        raise GuardFailed("Approve the letter before sending it.")
    _check_offer(dispute, letter.token_kind, letter.token_cents, letter.concession_cents)
    company = dispute.company
    now = now_utc()
    if is_correction:
        follow_up_due = dispute.follow_up_due_dt if dispute.state == "outcome_sent" else None
    else:
        follow_up_due = dispute_engine.window_due(dispute, dispute_engine.definition.windows["follow_up"], now)
    offer_expires = None
    if letter.has_offer and letter.offer_response is None:
        offer_expires = add_days(now, company.offer_valid_days, company)
    elif letter.has_offer:
        offer_expires = letter.offer_expires_dt or _corrected(letter).offer_expires_dt

    corrects = _corrected(letter)
    context = render.letter_context(letter, dispute, dated_dt=now, follow_up_due_dt=follow_up_due, corrects=corrects)
    if context["offer"] is not None:
        context["offer"].expires_dt = offer_expires
    # Everything that can fail comes first; nothing has changed yet.
    pdf = html_to_pdf(render.render_document(context))
    fragment = render.render_fragment(context)
    text = render.render_text(context)
    pdf_sha256 = store_bytes(pdf)

    is_late = dispute.reply_due_dt is not None and now > dispute.reply_due_dt and not is_correction
    if is_late and dispute.reply_breached_dt is None:
        # The sweep may not have run yet; a late reply is recorded as late all the same.
        from .disputes import record_reply_breach

        record_reply_breach(Actor.system("Resolver (deadline)"), dispute)
    letter.offer_expires_dt = offer_expires
    letter.pdf_sha256 = pdf_sha256
    letter.sent_dt = now
    letter.body_html = fragment
    details = {"letter_id": letter.id, "version": letter.version, "pdf_sha256": pdf_sha256, "late": is_late}
    if is_correction:
        letter.status = "sent"
        _audit(dispute, actor, "correction_sent", now=now, data={**details, "corrects": corrects.id})
        link = _outcome_link(dispute, now, offer_expires)
        template = "outcome_correction"
    else:
        dispute.outcome_sent_dt = now
        dispute_engine.fire(dispute, "send_outcome", actor=actor, now=now, data=details)
        letter.status = "sent"
        link = issue_link(dispute, "outcome", resident=dispute.resident,
                          expires_dt=max(dispute.follow_up_due_dt, offer_expires or now) + OUTCOME_LINK_GRACE)
        template = "outcome_letter"
    queue_email(
        template,
        to_addr=dispute.resident.email,
        to_name=dispute.resident.name,
        company=company,
        dispute=dispute,
        context={
            "letter": letter,
            "letter_html": Markup(fragment),
            "letter_text": text,
            "link_url": link_url(link),
            "offer": context["offer"],
            "follow_up_due": follow_up_due,
            "corrects": corrects,
            "manager": dispute.manager,
        },
        attachments=[{"filename": letter_pdf_filename(letter), "content_type": "application/pdf",
                      "sha256": pdf_sha256}],
    )
    return letter


def _outcome_link(dispute: Dispute, now: datetime, offer_expires: datetime | None):
    """The resident's outcome link, kept alive long enough for this letter; a fresh one if it is gone."""
    link = current_link(dispute.id, "outcome", resident_id=dispute.resident_id)
    needed = max(now, offer_expires or now, dispute.follow_up_due_dt or now) + OUTCOME_LINK_GRACE
    if link is None:
        return issue_link(dispute, "outcome", resident=dispute.resident, expires_dt=needed)
    if link.expires_dt < needed:
        link.expires_dt = needed
    return link


# The resident's answer ---------------------------------------------------------------------------

def acknowledge_outcome(actor: Actor, dispute: Dispute) -> Dispute:
    """The resident confirms the letter arrived (or staff record that they did). Twice is once."""
    _require_resident_or_staff(actor, dispute)
    if dispute.acknowledged_dt is not None:
        return dispute
    if dispute.outcome_sent_dt is None:
        raise WrongState("There is no letter to confirm yet.")
    now = now_utc()
    _record_receipt(actor, dispute, now)
    letter = sent_letter(dispute)
    # Without an offer to wait for, what the decision grants can be carried out now.
    task = (_start_fulfilment(actor, dispute, letter, now, with_offer=False)
            if letter is not None and not letter.has_offer else None)
    queue_email(
        "outcome_acknowledged",
        to_addr=dispute.manager.email,
        to_name=dispute.manager.name,
        company=dispute.company,
        dispute=dispute,
        context={"resident": dispute.resident, "by_resident": actor.kind == "resident",
                 "when": dispute.acknowledged_dt, "task": task},
    )
    return dispute


def _record_receipt(actor: Actor, dispute: Dispute, now: datetime) -> None:
    dispute.acknowledged_dt = now
    if dispute.state == "outcome_sent":
        dispute_engine.fire(dispute, "acknowledge", actor=actor, now=now, reason="Receipt of the letter confirmed.")
    else:
        _audit(dispute, actor, "receipt_confirmed", now=now)
    for task in open_tasks(dispute, "follow_up"):
        task.done_dt = now
        task.done_note = "The resident confirmed receipt."


def respond_to_offer(actor: Actor, dispute: Dispute, *, accept: bool) -> Letter:
    """Accept or decline the letter's offer. Accepting makes the manager a task; declining refers
    the matter to the outside mediation service. The same answer twice is one answer."""
    _require_resident_or_staff(actor, dispute)
    letter = sent_letter(dispute)
    if letter is None:
        raise WrongState("There is no letter yet, so there is nothing to accept.")
    if dispute.state not in ("outcome_sent", "acknowledged", "referred", "closed"):
        raise WrongState("This matter is no longer open for an answer.")
    company = dispute.company
    answer = "accepted" if accept else "declined"
    if not letter.has_offer:
        if accept:
            raise InvalidInput("This letter has no offer to accept.", field="accept")
        return _decline_outcome(actor, dispute, letter)
    if letter.offer_response is not None:
        if letter.offer_response == answer:
            return letter
        raise WrongState(
            f"You already {letter.offer_response} this offer on {format_day(letter.offer_response_dt, company)}. "
            f"If you have changed your mind, please contact {dispute.manager.name}"
            f"{' at ' + dispute.manager.email if dispute.manager.email else ''}."
        )
    if dispute.state in ("referred", "closed"):
        raise WrongState("This matter has moved on, so the offer can no longer be answered here. "
                         f"Please contact {dispute.manager.name}.")
    now = now_utc()
    if accept and letter.offer_expires_dt is not None and now > letter.offer_expires_dt:
        raise DeadlinePassed(
            f"This offer was open until {format_day(letter.offer_expires_dt, company)}, so it can no longer be "
            f"accepted here. Please contact {dispute.manager.name}"
            f"{' at ' + dispute.manager.email if dispute.manager.email else ''}; we will gladly talk it over."
        )
    letter.offer_response = answer
    letter.offer_response_dt = now
    if dispute.acknowledged_dt is None:
        _record_receipt(actor, dispute, now)  # answering the offer shows the letter arrived
    summary = _offer_summary(letter.token_kind, letter.token_cents, letter.concession_cents)
    if not accept:
        _audit(dispute, actor, "offer_declined", now=now, data={"letter_id": letter.id, "offer": summary})
        _start_fulfilment(actor, dispute, letter, now, with_offer=False)  # what the decision grants still stands
        refer_out(actor, dispute, reason="The resident declined the offer.")
        return letter
    task = _start_fulfilment(actor, dispute, letter, now, with_offer=True)
    _audit(dispute, actor, "offer_accepted", now=now, data={"letter_id": letter.id, "offer": summary,
                                                             "task_id": task.id})
    offer = render.offer_of(letter, dispute)
    queue_email("offer_accepted", to_addr=dispute.manager.email, to_name=dispute.manager.name, company=company,
                dispute=dispute, context={"task": task, "steps": task.detail["steps"], "due": task.due_dt,
                                          "offer": offer, "resident": dispute.resident})
    queue_email("offer_confirmation", to_addr=dispute.resident.email, to_name=dispute.resident.name,
                company=company, dispute=dispute,
                context={"offer": offer, "due": task.due_dt, "manager": dispute.manager,
                         "decision_lines": [step.resident for step in render.decision_steps(dispute, has_offer=True)]})
    return letter


def _start_fulfilment(actor: Actor, dispute: Dispute, letter: Letter, now: datetime, *,
                      with_offer: bool) -> Task | None:
    """The manager's task for what the company promised (None when it promised nothing to do).

    There is one fulfilment task per dispute: a later promise (an offer accepted after a correction)
    is added to the open task; one already done is not reopened.
    """
    steps = render.fulfilment_steps(letter, dispute, with_offer=with_offer)
    if not steps:
        return None
    task = db.session.scalars(select(Task).where(Task.dispute_id == dispute.id, Task.kind == "fulfil_offer")).first()
    if task is not None and task.done_dt is not None:
        return task
    staff_steps = [step.staff for step in steps]
    detail = {"letter_id": letter.id, "steps": staff_steps, "resident_lines": [step.resident for step in steps],
              "token_kind": letter.token_kind if with_offer else "",
              "token_cents": letter.token_cents if with_offer else None,
              "concession_cents": letter.concession_cents if with_offer else None,
              "with_offer": with_offer}
    title = _task_title(staff_steps, dispute.resident.name)
    if task is not None:
        task.title, task.detail = title, {**(task.detail or {}), **detail}
        return task
    task = Task(dispute_id=dispute.id, assignee_id=dispute.manager_id, kind="fulfil_offer", title=title,
                detail=detail, due_dt=add_days(now, render.FULFIL_WITHIN_DAYS, dispute.company), created_dt=now)
    db.session.add(task)
    db.session.flush()
    _audit(dispute, actor, "fulfilment_task", now=now, data={"task_id": task.id, "title": title, "steps": staff_steps})
    return task


def _task_title(steps: list[str], name: str) -> str:
    if len(steps) <= 2:
        title = " and ".join(steps) + f" for {name}"
    else:
        title = f"{len(steps)} things for {name}: " + "; ".join(step.rstrip(".") for step in steps)
    return title if len(title) <= 300 else title[:299] + "…"


def _decline_outcome(actor: Actor, dispute: Dispute, letter: Letter) -> Letter:
    """With no offer to decline, "no" means the resident still disagrees: refer it out."""
    if dispute.state == "referred":
        return letter
    now = now_utc()
    if dispute.acknowledged_dt is None:
        _record_receipt(actor, dispute, now)
    _start_fulfilment(actor, dispute, letter, now, with_offer=False)  # what the decision grants still stands
    refer_out(actor, dispute, reason="The resident still disagrees with the outcome.")
    return letter


def refer_out(actor: Actor, dispute: Dispute, *, reason: str) -> Dispute:
    """Refer the matter to the company's outside mediation service and tell both sides how."""
    _require_resident_or_staff(actor, dispute)
    if dispute.state == "referred":
        return dispute
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput("Say why the matter goes to outside mediation.", field="reason")
    if dispute.state not in ("outcome_sent", "acknowledged"):
        raise WrongState("A matter can go to outside mediation once the written outcome has been sent.",
                         allowed=dispute_engine.allowed(dispute))
    now = now_utc()
    company = dispute.company
    dispute.referred_dt = now
    mediation = render.mediation_of(company)
    dispute_engine.fire(dispute, "refer_out", actor=actor, now=now, reason=reason,
                        data={"mediation": mediation["name"] if mediation else None})
    link = current_link(dispute.id, "outcome", resident_id=dispute.resident_id)
    context = {"mediation": mediation, "ladder": render.ladder_of(company), "reason": reason,
               "manager": dispute.manager, "resident": dispute.resident,
               "link_url": link_url(link) if link is not None else None,
               "task": next(iter(open_tasks(dispute, "fulfil_offer")), None)}
    queue_email("referral_resident", to_addr=dispute.resident.email, to_name=dispute.resident.name,
                company=company, dispute=dispute, context=context)
    queue_email("referral_manager", to_addr=dispute.manager.email, to_name=dispute.manager.name,
                company=company, dispute=dispute, context=context)
    return dispute


# Following through -------------------------------------------------------------------------------

def follow_up(actor: Actor, dispute: Dispute) -> Dispute:
    """Receipt not confirmed in time: one last email to the resident, and a task (with a calendar
    reminder) for the manager to check in person. Only ever once."""
    require_staff(actor, dispute)
    if dispute.state != "outcome_sent":
        raise WrongState("A follow-up is only needed while the resident has not confirmed receipt.")
    if dispute.followed_up_dt is not None:
        return dispute
    letter = sent_letter(dispute)
    company = dispute.company
    now = now_utc()
    dispute.followed_up_dt = now
    link = _outcome_link(dispute, now, letter.offer_expires_dt if letter is not None else None)
    attachments = []
    if letter is not None and letter.pdf_sha256:
        attachments.append({"filename": letter_pdf_filename(letter), "content_type": "application/pdf",
                            "sha256": letter.pdf_sha256})
    queue_email("follow_up_resident", to_addr=dispute.resident.email, to_name=dispute.resident.name,
                company=company, dispute=dispute,
                context={"letter": letter, "link_url": link_url(link), "manager": dispute.manager,
                         "offer": render.offer_of(letter, dispute) if letter is not None else None},
                attachments=attachments)
    check_at = _next_morning(now, company)
    task = Task(
        dispute_id=dispute.id,
        assignee_id=dispute.manager_id,
        kind="follow_up",
        title=f"Check that {dispute.resident.name} received the written outcome",
        detail={"letter_id": letter.id if letter is not None else None,
                "resident_phone": dispute.resident.phone, "resident_email": dispute.resident.email},
        due_dt=check_at,
        created_dt=now,
    )
    db.session.add(task)
    db.session.flush()
    domain = current_app.config.get("MESSAGE_ID_DOMAIN") or "resolver.local"
    summary = f"Call {dispute.resident.name} about the letter (dispute {dispute.id})"
    description = (
        f"{dispute.resident.name} has not confirmed receiving the written outcome sent on "
        f"{format_day(dispute.outcome_sent_dt, company)}. One short call makes sure it arrived."
        + (f" Phone: {dispute.resident.phone}." if dispute.resident.phone else "")
        + (f" Email: {dispute.resident.email}." if dispute.resident.email else "")
    )
    ics = task_event(uid=f"resolver-task-{task.id}@{domain}", starts_dt=check_at, summary=summary,
                     description=description, now=now)
    ics_sha256 = store_bytes(ics)
    task.detail = {**task.detail, "ics_sha256": ics_sha256}
    _audit(dispute, actor, "followed_up", now=now, data={"task_id": task.id})
    queue_email("follow_up_manager", to_addr=dispute.manager.email, to_name=dispute.manager.name,
                company=company, dispute=dispute,
                context={"task": task, "resident": dispute.resident, "check_at": check_at, "letter": letter},
                attachments=[{"filename": "follow-up-reminder.ics", "content_type": "text/calendar",
                              "sha256": ics_sha256}])
    return dispute


def complete_task(actor: Actor, task: Task, *, note: str = "") -> Task:
    """Mark a task done. When the fulfilment of what the letter promised is done, the dispute closes
    (unless it went to outside mediation, which the manager closes when that ends)."""
    dispute = db.session.get(Dispute, task.dispute_id)
    if dispute is None:
        raise NotFound("There is no such task.")
    require_staff(actor, dispute)
    if task.done_dt is not None:
        return task
    now = now_utc()
    task.done_dt = now
    task.done_by_id = actor.id if actor.is_staff else None
    task.done_note = " ".join((note or "").split())
    _audit(dispute, actor, "task_done", now=now, reason=task.done_note,
           data={"task_id": task.id, "kind": task.kind, "title": task.title})
    if task.kind == "fulfil_offer" and not open_tasks(dispute, "fulfil_offer"):
        detail = task.detail or {}
        letter = db.session.get(Letter, detail["letter_id"]) if detail.get("letter_id") else None
        with_offer = detail.get("with_offer", True) and letter is not None and letter.has_offer
        queue_email("offer_fulfilled", to_addr=dispute.resident.email, to_name=dispute.resident.name,
                    company=dispute.company, dispute=dispute,
                    context={"offer": render.offer_of(letter, dispute) if with_offer else None,
                             "lines": detail.get("resident_lines") or [], "manager": dispute.manager})
        if dispute.state in ("acknowledged", "outcome_sent"):
            dispute.closed_dt = now
            dispute.close_reason = ("The accepted offer was carried out." if with_offer
                                    else "What the letter promised was carried out.")
            dispute_engine.fire(dispute, "close", actor=actor, now=now, reason=dispute.close_reason)
    return task


def task_for(actor: Actor, task_id: int) -> Task:
    """A task the actor may see; another company's task is simply not found."""
    task = db.session.get(Task, task_id)
    dispute = db.session.get(Dispute, task.dispute_id) if task is not None else None
    if task is None or dispute is None or (not actor.is_system and actor.company_id != dispute.company_id):
        raise NotFound(f"There is no task {task_id}.")
    return task


def tasks_for(actor: Actor, *, include_done: bool = False) -> list[Task]:
    """The actor's tasks (a supervisor sees the whole company's), soonest due first."""
    query = select(Task).join(Dispute, Dispute.id == Task.dispute_id).where(Dispute.company_id == actor.company_id)
    if actor.role != "supervisor":
        query = query.where(Task.assignee_id == actor.id)
    if not include_done:
        query = query.where(Task.done_dt.is_(None))
    return list(db.session.scalars(query.order_by(Task.due_dt.is_(None), Task.due_dt, Task.id)))


# Helpers -----------------------------------------------------------------------------------------

def _dispute_of(letter: Letter) -> Dispute:
    dispute = db.session.get(Dispute, letter.dispute_id)
    if dispute is None:
        raise NotFound("There is no such letter.")
    return dispute


def _corrected(letter: Letter) -> Letter | None:
    return db.session.get(Letter, letter.corrects_letter_id) if letter.corrects_letter_id else None


def _next_version(dispute: Dispute) -> int:
    return (db.session.scalar(select(func.max(Letter.version)).where(Letter.dispute_id == dispute.id)) or 0) + 1


def _subject(dispute: Dispute) -> str:
    topic = (dispute.category or "").strip()
    return f"Our written reply about {('your ' + topic) if topic else 'your concern'}"


def _require_unsent(letter: Letter) -> None:
    if letter.status == "sent":
        raise WrongState("This letter was sent and never changes. To correct it, write a correction: "
                         "it goes as a new letter, linked to this one.")
    if letter.status == "superseded":
        raise WrongState("This draft was replaced by a newer one; please work on the newest draft.")


def _require_resident_or_staff(actor: Actor, dispute: Dispute) -> None:
    if actor.kind == "resident":
        if actor.id != dispute.resident_id:
            raise NotAllowed("Only the resident this letter is for can answer it.")
        return
    require_staff(actor, dispute)


def _amount(value, field: str) -> int:
    try:
        cents = int(value)
    except (TypeError, ValueError):
        raise InvalidInput("Please give the amount as a number.", field=field) from None
    if cents < 0:
        raise InvalidInput("An amount cannot be negative.", field=field)
    return cents


def _check_offer(dispute: Dispute, kind: str, token_cents: int | None, concession_cents: int | None) -> None:
    company = dispute.company
    if token_cents and token_cents > company.token_cap_cents:
        raise InvalidInput(f"A token can be at most {money(company.token_cap_cents)} (the company's limit).",
                           field="token_cents")
    if token_cents and not (kind or "").strip():
        raise InvalidInput("Say what the token is, for example a coffee-shop gift card.", field="token_kind")
    if concession_cents and concession_cents > company.concession_cap_cents:
        raise InvalidInput(f"A concession can be at most {money(company.concession_cap_cents)} "
                           "(the company's limit).", field="concession_cents")


def _offer_summary(kind: str, token_cents: int | None, concession_cents: int | None) -> dict:
    return {"token_kind": kind or "", "token_cents": token_cents, "concession_cents": concession_cents}


def _next_morning(now: datetime, company) -> datetime:
    """9 AM local on the next working day: when a person can pick up the phone."""
    day = add_days(now, 1, company).astimezone(local_zone(company)).date()
    return datetime.combine(day, time(9, 0), tzinfo=local_zone(company)).astimezone(now.tzinfo)


def _audit(dispute: Dispute, actor: Actor, action: str, *, now: datetime | None = None, reason: str = "",
           data: dict | None = None) -> AuditEvent:
    event = AuditEvent(
        dispute_id=dispute.id,
        occurred_dt=now or now_utc(),
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_label=actor.label,
        action=action,
        from_state=dispute.state,
        to_state=dispute.state,
        reason=reason,
        data=data or {},
    )
    db.session.add(event)
    return event
