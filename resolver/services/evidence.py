"""Verbs for the resident's side: submitting evidence, asking for more time, and the answer."""
from __future__ import annotations

from datetime import date, datetime, time, timezone

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..actors import Actor
from ..clock import now_utc
from ..errors import DeadlinePassed, InvalidInput, NotAllowed, WrongState
from ..extensions import db
from ..history import record_event
from ..links import current_link, link_url
from ..models import Dispute, EvidenceFile, ExtensionRequest, Submission
from ..money import check_cents
from ..uploads import check_dispute_limits
from ..workdays import add_days, format_day, format_moment, local, local_zone
from ..workflow.engine import dispute_engine
from .access import check_version, require_staff
from .notify import tell

WORKFLOW = dispute_engine.definition

MAX_TEXT = 20_000
TOO_LONG = _l("Please keep each answer under %(limit)s characters.", limit=format(MAX_TEXT, ","))


def _require_resident(actor: Actor, dispute: Dispute) -> None:
    if actor.kind != "resident" or actor.id != dispute.resident_id:
        raise NotAllowed(_("Only the resident this dispute is about can send their side."))


def submit_evidence(
    actor: Actor,
    dispute: Dispute,
    *,
    form_key: str,
    details: str,
    suggested_resolution: str,
    suggested_amount_cents: int | None = None,
    item_responses: dict | None = None,
    files: list[dict] | None = None,
    received_on: date | None = None,
    expected_version: int | None = None,
) -> Submission:
    """Record one submission. ``files`` are already stored by hash (``resolver.uploads``): dicts
    with original_name, content_type, size_bytes, sha256 and optionally received_sha256,
    received_size_bytes (the bytes as sent, when the served copy differs) and captured_dt.

    ``received_on``: the day a letter that came by post arrived, when staff (``actor``) type it in.
    It counts from that day: it must have arrived within the resident's window (even if the window has
    since closed and the dispute lapsed), and the 7-day reply runs from it."""
    _require_sender(actor, dispute, received_on)
    existing = db.session.scalars(select(Submission).where(Submission.form_key == form_key)).first()
    if existing is not None:
        if existing.dispute_id != dispute.id:
            raise InvalidInput(_("This form was already used for another dispute."))
        return existing  # a double-clicked submit: the first one counts, once
    check_version(dispute, expected_version)
    now = now_utc()
    received = now if received_on is None else arrival_of_letter(dispute, received_on, now)
    details, suggested_resolution = details.strip(), suggested_resolution.strip()
    if not details and not files:
        raise InvalidInput(_("Tell us what happened, or attach at least one file."), field="details")
    if len(details) > MAX_TEXT or len(suggested_resolution) > MAX_TEXT:
        raise InvalidInput(str(TOO_LONG), field="details")
    suggested_amount_cents = check_cents(suggested_amount_cents, field="suggested_amount")
    # The dispute's limits are checked here, in the transaction that adds the rows.
    check_dispute_limits(dispute, [f.get("received_size_bytes") or f["size_bytes"] for f in files or []])
    known_items = {str(item.id) for item in dispute.items}
    responses = {k: str(v).strip() for k, v in (item_responses or {}).items() if str(v).strip()}
    if set(responses) - known_items:
        raise InvalidInput(_("A response refers to an item that is not on this dispute."), field="items")
    if any(len(response) > MAX_TEXT for response in responses.values()):
        raise InvalidInput(str(TOO_LONG), field="items")
    is_first = dispute.evidence_received_dt is None
    event_data = {"files": len(files or []), "first": is_first}
    if received_on is not None:
        event_data["by_post"] = received_on.isoformat()
    # A letter is asked about (and its reply clock started) as of the day it arrived; the history says now.
    dispute_engine.fire(dispute, "submit_evidence", actor=actor, now=now, as_of=received, data=event_data)
    if is_first:  # set once the move is allowed: a refused submission changes nothing
        dispute.evidence_received_dt = received
        dispute.lapsed_dt = None  # a letter that came in time, typed in after the lapse: no longer lapsed
    submission = Submission(
        dispute_id=dispute.id,
        form_key=form_key,
        received_dt=received,
        details=details,
        suggested_resolution=suggested_resolution,
        suggested_amount_cents=suggested_amount_cents,
        item_responses=responses,
        entered_by_id=actor.id if received_on is not None else None,
        entered_dt=now if received_on is not None else None,
    )
    db.session.add(submission)
    db.session.flush()
    for stored in files or []:
        db.session.add(
            EvidenceFile(
                submission_id=submission.id,
                dispute_id=dispute.id,
                original_name=stored["original_name"][:255],
                content_type=stored["content_type"],
                size_bytes=stored["size_bytes"],
                sha256=stored["sha256"],
                received_sha256=stored.get("received_sha256"),
                received_size_bytes=stored.get("received_size_bytes"),
                received_dt=received,
                captured_dt=stored.get("captured_dt"),
            )
        )
    db.session.flush()
    _send_receipts(actor, dispute, submission, now)
    return submission


def _require_sender(actor: Actor, dispute: Dispute, received_on: date | None) -> None:
    """The resident sends their own side; a letter that came by post is typed in by the company's staff."""
    if received_on is None:
        _require_resident(actor, dispute)
    else:
        require_staff(actor, dispute)


def arrival_of_letter(dispute: Dispute, received_on: date, now: datetime) -> datetime:
    """The moment a letter received on ``received_on`` counts from: the start of that day in the
    company's time zone (the day is all anyone knows), not before the dispute was opened. A day still
    to come, before the dispute was opened, or after the resident's window ended is refused."""
    company = dispute.company
    if not WORKFLOW.can("submit_evidence", dispute.state) or dispute.opened_dt is None:
        raise WrongState(f"A letter from the resident can be entered only while their side can be received; "
                         f"this dispute is {dispute.state_label}.")
    if received_on > local(now, company).date():
        raise InvalidInput(f"The letter cannot have arrived after today ({format_day(now, company)}). "
                           "Enter the day it was received.", field="received_on")
    if received_on < local(dispute.opened_dt, company).date():
        raise InvalidInput(f"The dispute was opened on {format_day(dispute.opened_dt, company)}, so a letter "
                           "answering it arrived on that day or later. Enter the day it was received.",
                           field="received_on")
    due = dispute.evidence_due_dt
    if due is None or received_on > local(due, company).date():
        raise InvalidInput(
            "The letter arrived after the resident's time to send their side ended"
            f"{' (' + format_moment(due, company) + ')' if due else ''}, so it cannot be entered as their side. "
            "If the company wants to take it into account, reopen the dispute once it has lapsed.",
            field="received_on")
    start = datetime.combine(received_on, time.min, tzinfo=local_zone(company)).astimezone(timezone.utc)
    return max(start, dispute.opened_dt)


def _send_receipts(actor: Actor, dispute: Dispute, submission: Submission, now: datetime) -> None:
    """The resident's receipt (a resident without an email address is posted one by the office, from
    the printable receipt), and the manager told, unless they typed it in themselves."""
    link = current_link(dispute.id, "evidence", resident_id=dispute.resident_id)
    can_add_more = link is not None and dispute.evidence_due_dt is not None and now <= dispute.evidence_due_dt
    common = {"submission": submission, "files": submission.files, "reply_due": dispute.reply_due_dt}
    if dispute.resident.email:
        tell(dispute.resident, dispute, "evidence_receipt", {**common, "link_url": link_url(link) if can_add_more else None})
    if not (submission.is_by_post and actor.id == dispute.manager_id):
        tell(dispute.manager, dispute, "evidence_arrived", common)


def request_more_time(actor: Actor, dispute: Dispute, *, days: int, reason: str) -> ExtensionRequest:
    _require_resident(actor, dispute)
    if dispute.state not in WORKFLOW.windows["evidence"].active_in:
        raise WrongState(_("More time can only be asked for while the evidence window is open."))
    now = now_utc()
    if dispute.evidence_due_dt is not None and now > dispute.evidence_due_dt:
        raise DeadlinePassed(_("The time to send your side has already ended, so it can no longer be extended "
                               "from here. Please contact the office."))
    if not 1 <= days <= 14:
        raise InvalidInput(_("Ask for between 1 and 14 more days."), field="days")
    pending = db.session.scalars(
        select(ExtensionRequest).where(ExtensionRequest.dispute_id == dispute.id, ExtensionRequest.status == "pending")
    ).first()
    if pending is not None:
        raise InvalidInput(_("You have already asked for more time; the manager will answer soon."))
    request = ExtensionRequest(
        dispute_id=dispute.id, requested_dt=now, days_asked=days, reason=reason.strip()[:2000], status="pending"
    )
    db.session.add(request)
    db.session.flush()
    dispute_engine.touch(dispute)  # two tabs asking at once: the second finds the dispute changed
    # Their words stay on the request (erasable), not in the history.
    record_event(dispute, actor, "ask_more_time", now=now, data={"days": days, "request_id": request.id})
    tell(dispute.manager, dispute, "more_time_requested", {"request": request})
    return request


def answer_more_time(
    actor: Actor, dispute: Dispute, request: ExtensionRequest, *, grant: bool, note: str = "",
    expected_version: int | None = None,
) -> ExtensionRequest:
    """The manager grants (the evidence window moves) or refuses; the resident is told either way."""
    from .disputes import extend_window

    require_staff(actor, dispute)
    check_version(dispute, expected_version)
    if request.dispute_id != dispute.id or request.status != "pending":
        raise InvalidInput("This request has already been answered.")
    now = now_utc()
    request.status = "granted" if grant else "refused"
    request.answered_dt = now
    request.answered_by_id = actor.id
    request.answer_note = note.strip()
    dispute_engine.touch(dispute)  # two managers answering at once: one answer, the other is told
    if grant:
        new_due = add_days(dispute.evidence_due_dt, request.days_asked, dispute.company)
        extend_window(actor, dispute, window="evidence", new_due=new_due,
                      reason=note.strip() or f"The resident asked for {request.days_asked} more days.")
    else:
        record_event(dispute, actor, "refuse_more_time", now=now, reason=note.strip())
        link = current_link(dispute.id, "evidence", resident_id=dispute.resident_id)
        tell(dispute.resident, dispute, "more_time_refused", {
            "note": note.strip(), "due": dispute.evidence_due_dt, "link_url": link_url(link) if link else None,
        })
    return request

