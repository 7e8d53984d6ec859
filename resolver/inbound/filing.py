"""Receiving one message: the unit of work behind ``resolver.inbound.receive``.

Read it (``reading``), record it once under its key, set aside what no person wrote
(``automatic``), find the dispute it answers (``matching``), and file it through the form's own
verb (``services.evidence.submit_evidence``) with its attachments put through the form's own checks
and limits (``uploads``): the same receipt, the same clock. What cannot be filed is kept for the
company's managers when it names their dispute, and its sender is answered kindly. Everything
commits together; on any failure it is rolled back, the files this message wrote are removed,
and the error goes to the transport, which keeps the message for another try.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from ..actors import Actor
from ..clock import now_utc
from ..errors import DomainError, InvalidInput
from ..extensions import db
from ..files import delete_file, file_exists, store_bytes
from ..models import InboundMail
from ..services.evidence import submit_evidence
from ..uploads import UploadLimits, UploadNotSaved, check_dispute_limits, check_file, discard_unreferenced, store_checked
from ..web.unit_of_work import is_version_conflict
from .answers import answer_sender
from .automatic import automatic_kind
from .matching import Match, match_reply
from .reading import MAX_MESSAGE_BYTES, IncomingMail, MailRefused, message_key, read_mail
from .received import Received
from .text import MAX_TEXT, new_text

log = logging.getLogger("resolver.inbound")
ATTEMPTS = 2  # the first try and one more after a collision with another request on the same rows


@dataclass
class WrittenFiles:
    """The blobs one attempt wrote, removed again if it does not commit."""

    created: list[str] = field(default_factory=list)
    raw_created: list[str] = field(default_factory=list)

    def undo(self) -> None:
        discard_unreferenced(self.created)
        for sha256 in self.raw_created:
            delete_file(sha256)
        self.created, self.raw_created = [], []


def receive_message(raw: bytes, *, via: str) -> Received:
    mail, refused = _read(raw)
    key = message_key(mail, raw)
    for attempt in range(1, ATTEMPTS + 1):
        work = WrittenFiles()
        try:
            received = _receive(raw, mail, refused, key, via[:20], work)
            db.session.commit()
        except Exception as error:
            db.session.rollback()
            work.undo()
            if is_version_conflict(error):
                already = _recorded(key)
                if already is not None:  # another worker filed this message a moment before
                    return Received("duplicate", "received before", already)
                if attempt < ATTEMPTS:
                    continue
            raise
        _log(received)
        return received
    raise AssertionError("unreachable: the last attempt returns or raises")


def _read(raw: bytes) -> tuple[IncomingMail | None, MailRefused | None]:
    """The message, or why it is refused and what of its headers could be read."""
    max_bytes = int(current_app.config.get("INBOUND_MAX_BYTES") or MAX_MESSAGE_BYTES)
    try:
        return read_mail(raw, max_bytes=max_bytes), None
    except MailRefused as refusal:
        return refusal.headers, refusal


def _recorded(key: str) -> int | None:
    return db.session.scalar(select(InboundMail.id).where(InboundMail.key == key))


def _receive(raw: bytes, mail: IncomingMail | None, refused: MailRefused | None, key: str, via: str,
             work: WrittenFiles) -> Received:
    now = now_utc()
    already = _recorded(key)
    if already is not None:
        return Received("duplicate", "received before", already)
    record = _record(key, via, mail or IncomingMail(), now)
    automatic = automatic_kind(mail) if mail is not None else None
    if automatic:  # never filed, never answered: no loops
        return _close(record, "ignored", automatic)
    match = match_reply(mail, now) if mail is not None else Match(problem="unreadable")
    if match.dispute is not None:
        record.company_id, record.dispute_id = match.dispute.company_id, match.dispute.id
    if refused is not None:
        answer_sender(record, mail, match, refused=refused.words, now=now)
        return _close(record, "refused", refused.reason)
    if not match.is_filable:
        return _unmatched(record, mail, raw, match, work, now)
    return _file(record, mail, raw, match, work, now)


def _record(key: str, via: str, mail: IncomingMail, now: datetime) -> InboundMail:
    record = InboundMail(
        key=key, via=via, received_dt=now, outcome="refused", message_id=mail.message_id[:300],
        from_addr=mail.from_addr[:254], from_name=mail.from_name[:200], subject=mail.subject[:300],
        sent_dt=mail.sent_dt, text="", attachments=[],
    )
    db.session.add(record)
    return record


def _close(record: InboundMail, outcome: str, reason: str, submission_id: int | None = None) -> Received:
    record.outcome, record.reason = outcome, reason[:300]
    record.submission_id = submission_id
    db.session.flush()
    return Received(outcome, reason, record.id, submission_id)


def _file(record: InboundMail, mail: IncomingMail, raw: bytes, match: Match, work: WrittenFiles, now: datetime) -> Received:
    """File the reply as a submission, through the form's checks and verb; a refusal is answered."""
    dispute = match.dispute
    try:
        with db.session.begin_nested():
            submission = file_as_submission(mail, dispute, form_key=f"mail-{record.key[:59]}", work=work)
    except UploadNotSaved:
        raise  # the file store failed: for the transport to try again
    except InvalidInput as refusal:  # a file refused, too many, too long, nothing said: as the form says
        work.undo()
        record.text, record.attachments = new_text(mail.plain, mail.html)[:MAX_TEXT], mail.names
        answer_sender(record, mail, match, refused=refusal.message, now=now)
        return _close(record, "refused", refusal.message)
    except DomainError as refusal:  # the window closed in the meantime
        work.undo()
        return _unmatched(record, mail, raw, Match(dispute, match.link, f"not accepted: {refusal.message}"),
                          work, now)
    record.text, record.attachments = submission.details, mail.names
    return _close(record, "filed", "", submission.id)


def file_as_submission(mail: IncomingMail, dispute, *, form_key: str, work: WrittenFiles):
    """The reply's attachments checked, stored and filed with its new text, exactly as a form's send.
    Raises what the form would (UploadRefused, InvalidInput, GuardFailed...)."""
    limits = UploadLimits.of(dispute.company)
    checked = [check_file(item.name, item.data, limits=limits, company=dispute.company) for item in mail.attachments]
    check_dispute_limits(dispute, [item.size_bytes for item in checked])
    batch = store_checked(checked)
    work.created += batch.created
    return submit_evidence(Actor.resident(dispute.resident), dispute, form_key=form_key,
                           details=new_text(mail.plain, mail.html), suggested_resolution="", files=batch.files)


def _unmatched(record: InboundMail, mail: IncomingMail, raw: bytes, match: Match, work: WrittenFiles,
               now: datetime) -> Received:
    """Not filed. Kept whole for the company's managers when it names their dispute; when it names
    none, nothing of it is kept (it is counted in the log: no company may see another's mail)."""
    if match.dispute is not None:
        record.text, record.attachments = new_text(mail.plain, mail.html)[:MAX_TEXT], mail.names
        record.raw_sha256 = _keep(raw, work)
    else:
        record.from_name = record.subject = ""
    answer_sender(record, mail, match, refused=None, now=now)
    return _close(record, "unmatched", match.problem or "")


def _keep(raw: bytes, work: WrittenFiles) -> str:
    from hashlib import sha256

    digest = sha256(raw).hexdigest()
    existed = file_exists(digest)
    try:
        store_bytes(raw)
    except OSError:
        raise UploadNotSaved() from None
    finally:
        if not existed:
            work.raw_created.append(digest)
    return digest


def _log(received: Received) -> None:
    """One line per message; mail naming no dispute is kept nowhere else but here."""
    log.info("inbound mail %s: %s %s", received.inbound_id, received.outcome, received.reason,
             extra={"inbound_id": received.inbound_id, "outcome": received.outcome, "reason": received.reason})

