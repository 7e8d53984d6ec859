"""Verbs for a dispute's life outside the panel and the letter: create, open, lapse, reopen, extend,
withdraw, close, and the reply-deadline breach."""
from __future__ import annotations

from datetime import datetime

from ..actors import Actor
from ..clock import now_utc
from ..errors import InvalidInput, WrongState
from ..extensions import db
from ..history import record_event
from ..inbound.addresses import reply_token
from ..links import current_link, issue_link, link_url, revoke_links
from ..models import Company, Dispute, DisputedItem, Resident, StaffUser, Unit
from ..money import check_cents
from ..workdays import format_moment
from ..workflow.engine import dispute_engine
from .access import check_version, require_staff
from .categories import category_for_new_dispute
from .ladder import supervisors_and_manager, supervisors_besides_manager
from .notify import tell
from .readiness import require_ready_to_open

WORKFLOW = dispute_engine.definition
MAX_LESSONS = 5000

# Links outlive their window a little, so a late resident reads a polite page, not "invalid link".


def create_dispute(
    actor: Actor,
    *,
    resident: Resident,
    issue: str,
    what_was_fixed: str = "",
    company_position: str = "",
    category: str = "",
    unit: Unit | None = None,
    manager: StaffUser | None = None,
    items: list[dict] | None = None,
) -> Dispute:
    """A draft dispute; nothing is sent until it is opened. ``category`` is the key of one the company
    offers (its label or another name for it is read as that key); "other" when none is named."""
    if not actor.is_staff or actor.company_id != resident.company_id:
        raise InvalidInput("The resident belongs to another company.", field="resident")
    if not issue.strip():
        raise InvalidInput("Describe the issue as the resident put it.", field="issue")
    manager_id = manager.id if manager is not None else actor.id
    if manager is not None and manager.company_id != actor.company_id:
        raise InvalidInput("The manager belongs to another company.", field="manager")
    category = category_for_new_dispute(db.session.get(Company, actor.company_id), category)
    dispute = Dispute(
        company_id=actor.company_id,
        manager_id=manager_id,
        resident_id=resident.id,
        unit_id=(unit.id if unit is not None else resident.unit_id),
        issue=issue.strip(),
        what_was_fixed=what_was_fixed.strip(),
        company_position=company_position.strip(),
        category=category,
        created_dt=now_utc(),
    )
    for position, item in enumerate(items or []):
        dispute.items.append(_disputed_item(position, item))
    db.session.add(dispute)
    db.session.flush()
    record_event(dispute, actor, "create", now=dispute.created_dt, from_state=None, to_state=WORKFLOW.initial)
    return dispute


def _disputed_item(position: int, item: dict) -> DisputedItem:
    description = str(item.get("description", "")).strip()
    if not description:
        raise InvalidInput("Each disputed item needs a description.", field="items")
    amount = check_cents(item.get("amount_cents") or 0, field="items", label=f"The amount for {description!r}")
    return DisputedItem(
        position=position, description=description, amount_cents=amount,
        company_reason=str(item.get("company_reason", "")).strip(),
    )


def open_dispute(actor: Actor, dispute: Dispute, *, expected_version: int | None = None) -> Dispute:
    """Invite the resident to send their side within the evidence window.

    Refused, with nothing written or sent, while the company could not keep the invitation's promise
    of a resolution team and a supervisor to turn to (``readiness``)."""
    require_staff(actor, dispute)
    check_version(dispute, expected_version)
    if WORKFLOW.can("open", dispute.state):  # a dispute already open is told so by the workflow
        require_ready_to_open(dispute)
    now = now_utc()
    dispute_engine.fire(dispute, "open", actor=actor, now=now)
    dispute.opened_dt = now  # set once the move is allowed: a refused open changes nothing
    link = issue_link(dispute, "evidence", resident=dispute.resident, expires_dt=dispute.evidence_due_dt + dispute_engine.definition.link_grace["evidence"])
    db.session.flush()  # the link's id goes in the reply address
    tell(dispute.resident, dispute, "evidence_invitation",
         {"link_url": link_url(link), "due": dispute.evidence_due_dt, "manager": dispute.manager, "can_reply": True},
         reply_token=reply_token(link))
    return dispute


def lapse_dispute(actor: Actor, dispute: Dispute) -> Dispute:
    """The evidence window ended with nothing received; tell the manager, and the resident kindly,
    with how to ask for it to be reopened (nobody is left wondering)."""
    now = now_utc()
    dispute_engine.fire(dispute, "lapse", actor=actor, now=now, reason="No submission arrived in time.")
    dispute.lapsed_dt = now
    tell(dispute.manager, dispute, "evidence_lapsed", {"due": dispute.evidence_due_dt})
    tell(dispute.resident, dispute, "evidence_lapsed_resident", {"due": dispute.evidence_due_dt})
    return dispute


def reopen_dispute(actor: Actor, dispute: Dispute, *, reason: str, expected_version: int | None = None) -> Dispute:
    """A lapsed dispute is opened again, with a reason (the resident asked, the invitation went astray):
    a fresh evidence window, a link that works until it ends, and the resident told by when."""
    require_staff(actor, dispute)
    check_version(dispute, expected_version)
    if not reason.strip():
        raise InvalidInput("Say why the dispute is reopened; the history keeps the reason.", field="reason")
    now = now_utc()
    old_due = dispute.evidence_due_dt
    dispute_engine.fire(dispute, "reopen", actor=actor, now=now, reason=reason.strip(),
                        data={"old_due": old_due.isoformat() if old_due else None})
    dispute.lapsed_dt = None  # no longer lapsed; the history keeps that it was
    expires = dispute.evidence_due_dt + dispute_engine.definition.link_grace["evidence"]
    link = current_link(dispute.id, "evidence", resident_id=dispute.resident_id)
    if link is None or link.expires_dt <= now:
        link = issue_link(dispute, "evidence", resident=dispute.resident, expires_dt=expires)
    else:
        link.expires_dt = max(link.expires_dt, expires)
    tell(dispute.resident, dispute, "dispute_reopened",
         {"due": dispute.evidence_due_dt, "reason": reason.strip(), "link_url": link_url(link)})
    return dispute


def extend_window(
    actor: Actor, dispute: Dispute, *, window: str, new_due: datetime, reason: str, expected_version: int | None = None
) -> Dispute:
    """Move a deadline with a logged reason; the history keeps both dates."""
    require_staff(actor, dispute)
    check_version(dispute, expected_version)
    if not reason.strip():
        raise InvalidInput("Say why the deadline moves; the history keeps the reason.", field="reason")
    now = now_utc()
    if new_due <= now:
        raise InvalidInput("The new deadline must be in the future.", field="new_due")
    if window not in dispute_engine.definition.windows:
        raise InvalidInput(f"There is no {window!r} deadline.", field="window")
    current_due = getattr(dispute, dispute_engine.definition.windows[window].due_column)
    if current_due is not None and new_due <= current_due:
        raise InvalidInput("An extension must move the deadline later.", field="new_due")
    old_due = dispute_engine.move_window(dispute, window, new_due, now)
    if window == "evidence":
        # The link must stay usable until the new deadline.
        link = current_link(dispute.id, "evidence", resident_id=dispute.resident_id)
        if link is not None and link.expires_dt < new_due + dispute_engine.definition.link_grace["evidence"]:
            link.expires_dt = new_due + dispute_engine.definition.link_grace["evidence"]
    promised_column = dispute_engine.definition.windows[window].promised_column
    promised = getattr(dispute, promised_column) if promised_column else None
    record_event(dispute, actor, "extend", now=now, reason=reason.strip(), data={
        "window": window, "old_due": old_due.isoformat() if old_due else None, "new_due": new_due.isoformat(),
        **({"promised": promised.isoformat()} if promised else {}),
    })
    if window == "evidence":
        tell(dispute.resident, dispute, "window_extended", {
            "old_due": old_due, "due": new_due, "reason": reason.strip(), "link_url": _evidence_url(dispute),
        })
    elif window == "reply":
        _tell_reply_moved(actor, dispute, old_due=old_due, promised=promised or old_due, reason=reason.strip())
    return dispute


def _tell_reply_moved(actor: Actor, dispute: Dispute, *, old_due: datetime, promised: datetime, reason: str) -> None:
    """A later written reply is the company's delay: the resident hears the new date from us, with an
    apology, and the supervisor hears that a promise moved (the breach still counts from ``promised``)."""
    context = {"due": dispute.reply_due_dt, "old_due": old_due, "promised": promised, "reason": reason,
               "moved_by": actor.label}
    tell(dispute.resident, dispute, "reply_moved", context)
    for person in supervisors_besides_manager(dispute):  # nobody above the manager: nobody else to tell
        tell(person, dispute, "reply_moved_supervisor", context)


def _evidence_url(dispute: Dispute) -> str | None:
    link = current_link(dispute.id, "evidence", resident_id=dispute.resident_id)
    return link_url(link) if link is not None else None


def withdraw_dispute(actor: Actor, dispute: Dispute, *, reason: str, expected_version: int | None = None) -> Dispute:
    require_staff(actor, dispute)
    check_version(dispute, expected_version)
    if not reason.strip():
        raise InvalidInput("Say why the dispute is withdrawn.", field="reason")
    now = now_utc()
    was_open = dispute.state != WORKFLOW.initial
    dispute_engine.fire(dispute, "withdraw", actor=actor, now=now, reason=reason.strip())
    dispute.withdrawn_dt = now
    dispute.close_reason = reason.strip()
    for purpose in ("evidence", "vote"):
        revoke_links(dispute.id, purpose, now, "the dispute was withdrawn")
    if was_open:
        tell(dispute.resident, dispute, "dispute_withdrawn", {"reason": reason.strip(), "manager": dispute.manager})
    return dispute


def close_dispute(actor: Actor, dispute: Dispute, *, reason: str = "", lessons_learned: str = "",
                  expected_version: int | None = None) -> Dispute:
    """Close the dispute; what the company learned from it (optional) is kept for training, on the
    dispute and in its history."""
    require_staff(actor, dispute)
    check_version(dispute, expected_version)
    lessons = lessons_learned.strip()
    if len(lessons) > MAX_LESSONS:
        raise InvalidInput(f"Please keep what you learned under {MAX_LESSONS:,} characters.", field="lessons_learned")
    now = now_utc()
    dispute_engine.fire(dispute, "close", actor=actor, now=now, reason=reason.strip(),
                        data={"lessons_learned": lessons} if lessons else None)
    dispute.closed_dt = now
    dispute.close_reason = reason.strip() or dispute.close_reason
    dispute.lessons_learned = lessons
    revoke_links(dispute.id, None, now, "the dispute is closed")
    return dispute


def record_reply_breach(actor: Actor, dispute: Dispute) -> Dispute:
    """The written reply was not sent by the date first promised the resident: record it, tell the
    supervisor. A moved working date does not move the promise."""
    if dispute.state not in dispute_engine.definition.windows["reply"].active_in:
        raise WrongState("The reply window is not running for this dispute.")
    now = now_utc()
    if dispute.reply_breached_dt is not None:
        return dispute
    promised = dispute.reply_promised_dt or dispute.reply_due_dt
    if now < promised:
        raise WrongState(f"The written reply is not due until {format_moment(promised, dispute.company)}.")
    dispute.reply_breached_dt = now
    moved_to = dispute.reply_due_dt if dispute.reply_due_dt > promised else None
    record_event(dispute, actor, "reply_breached", now=now,
                 reason="The written reply was not sent by the date promised the resident.",
                 data={"reply_due": promised.isoformat(), **({"moved_to": moved_to.isoformat()} if moved_to else {})})
    for person in supervisors_and_manager(dispute):
        tell(person, dispute, "reply_breached", {"due": promised, "moved_to": moved_to})
    return dispute
