"""Verbs for the resident's side: submitting evidence, asking for more time, and the answer."""
from __future__ import annotations

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
from ..workdays import add_days
from ..workflow.engine import dispute_engine
from .access import check_version, require_staff
from .notify import tell

WORKFLOW = dispute_engine.definition

MAX_TEXT = 20_000
TOO_LONG = f"Please keep each answer under {MAX_TEXT:,} characters."


def _require_resident(actor: Actor, dispute: Dispute) -> None:
    if actor.kind != "resident" or actor.id != dispute.resident_id:
        raise NotAllowed("Only the resident this dispute is about can send their side.")


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
) -> Submission:
    """Record one submission. ``files`` are already stored by hash (``resolver.uploads``): dicts
    with original_name, content_type, size_bytes, sha256 and optionally received_sha256,
    received_size_bytes (the bytes as sent, when the served copy differs) and captured_dt."""
    _require_resident(actor, dispute)
    existing = db.session.scalars(select(Submission).where(Submission.form_key == form_key)).first()
    if existing is not None:
        if existing.dispute_id != dispute.id:
            raise InvalidInput("This form was already used for another dispute.")
        return existing  # a double-clicked submit: the first one counts, once
    details, suggested_resolution = details.strip(), suggested_resolution.strip()
    if not details and not files:
        raise InvalidInput("Tell us what happened, or attach at least one file.", field="details")
    if len(details) > MAX_TEXT or len(suggested_resolution) > MAX_TEXT:
        raise InvalidInput(TOO_LONG, field="details")
    suggested_amount_cents = check_cents(suggested_amount_cents, field="suggested_amount")
    # The dispute's limits are checked here, in the transaction that adds the rows.
    check_dispute_limits(dispute, [f.get("received_size_bytes") or f["size_bytes"] for f in files or []])
    known_items = {str(item.id) for item in dispute.items}
    responses = {k: str(v).strip() for k, v in (item_responses or {}).items() if str(v).strip()}
    if set(responses) - known_items:
        raise InvalidInput("A response refers to an item that is not on this dispute.", field="items")
    if any(len(response) > MAX_TEXT for response in responses.values()):
        raise InvalidInput(TOO_LONG, field="items")
    now = now_utc()
    is_first = dispute.state in WORKFLOW.windows["evidence"].active_in
    dispute_engine.fire(
        dispute, "submit_evidence", actor=actor, now=now,
        data={"files": len(files or []), "first": is_first},
    )
    if is_first:  # set once the move is allowed: a refused submission changes nothing
        dispute.evidence_received_dt = now
    submission = Submission(
        dispute_id=dispute.id,
        form_key=form_key,
        received_dt=now,
        details=details,
        suggested_resolution=suggested_resolution,
        suggested_amount_cents=suggested_amount_cents,
        item_responses=responses,
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
                received_dt=now,
                captured_dt=stored.get("captured_dt"),
            )
        )
    db.session.flush()
    link = current_link(dispute.id, "evidence", resident_id=dispute.resident_id)
    common = {"submission": submission, "files": submission.files, "reply_due": dispute.reply_due_dt}
    tell(dispute.resident, dispute, "evidence_receipt", {**common, "link_url": link_url(link) if link else None})
    tell(dispute.manager, dispute, "evidence_arrived", common)
    return submission


def request_more_time(actor: Actor, dispute: Dispute, *, days: int, reason: str) -> ExtensionRequest:
    _require_resident(actor, dispute)
    if dispute.state not in WORKFLOW.windows["evidence"].active_in:
        raise WrongState("More time can only be asked for while the evidence window is open.")
    now = now_utc()
    if dispute.evidence_due_dt is not None and now > dispute.evidence_due_dt:
        raise DeadlinePassed("The time to send your side has already ended, so it can no longer be extended "
                             "from here. Please contact the office.")
    if not 1 <= days <= 14:
        raise InvalidInput("Ask for between 1 and 14 more days.", field="days")
    pending = db.session.scalars(
        select(ExtensionRequest).where(ExtensionRequest.dispute_id == dispute.id, ExtensionRequest.status == "pending")
    ).first()
    if pending is not None:
        raise InvalidInput("You have already asked for more time; the manager will answer soon.")
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

