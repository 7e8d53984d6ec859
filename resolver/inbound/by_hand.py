"""The "Unmatched mail" list: replies Resolver could not file, for the company's managers to attach
to the right dispute by hand, or to dismiss.

Only mail that names one of the company's disputes (by a genuine token, or by answering one of its
emails) is the company's; mail naming no dispute is in nobody's list. Attaching goes through the
same checks, limits and verb as the form and an automatic filing, so the resident gets the same
receipt and the dispute the same clock; the history says which manager added it.
"""
from __future__ import annotations

from sqlalchemy import select

from ..actors import Actor
from ..clock import now_utc
from ..errors import DomainError, InvalidInput, NotFound
from ..extensions import db
from ..files import read_bytes
from ..history import record_event
from ..models import Dispute, InboundMail, Submission
from ..services.access import dispute_for, require_staff
from ..workflow.engine import dispute_engine
from .filing import WrittenFiles, file_as_submission
from .reading import MailRefused, read_mail


def unmatched_mail(actor: Actor) -> list[InboundMail]:
    """The company's unmatched mail, newest first."""
    return list(db.session.scalars(
        select(InboundMail).where(InboundMail.company_id == actor.company_id, InboundMail.outcome == "unmatched")
        .order_by(InboundMail.received_dt.desc(), InboundMail.id.desc())))


def open_disputes(actor: Actor) -> list[Dispute]:
    """The company's disputes a reply can be added to now (their evidence window is open)."""
    takes = [state for state in dispute_engine.definition.states if dispute_engine.definition.can("submit_evidence", state)]
    return list(db.session.scalars(
        select(Dispute).where(Dispute.company_id == actor.company_id, Dispute.state.in_(takes)).order_by(Dispute.id)))


def mail_for(actor: Actor, mail_id: int) -> InboundMail:
    """One unmatched message of the actor's company; another company's, or a handled one, is not found."""
    mail = db.session.get(InboundMail, mail_id)
    if mail is None or not actor.is_staff or mail.company_id != actor.company_id:
        raise NotFound("That email is not in your unmatched mail.")
    if mail.outcome != "unmatched":
        raise InvalidInput("That email has already been dealt with.")
    return mail


def attach_mail(actor: Actor, mail_id: int, dispute_id: int) -> Submission:
    """Add the message to ``dispute_id`` as the resident's submission, through the form's checks."""
    mail = mail_for(actor, mail_id)
    dispute = dispute_for(actor, dispute_id)
    require_staff(actor, dispute)
    try:
        message = read_mail(read_bytes(mail.raw_sha256))
    except (MailRefused, FileNotFoundError):
        raise InvalidInput("This email can no longer be read, so it cannot be added. Please dismiss it.") from None
    work = WrittenFiles()
    try:
        submission = file_as_submission(message, dispute, form_key=f"mail-{mail.key[:59]}", work=work)
    except DomainError:
        work.undo()
        raise
    now = now_utc()
    mail.outcome, mail.submission_id, mail.dispute_id = "attached", submission.id, dispute.id
    mail.handled_by_id, mail.handled_dt = actor.id, now
    record_event(dispute, actor, "attach_mail", now=now, data={"inbound_mail": mail.id, "submission": submission.id})
    return submission


def dismiss_mail(actor: Actor, mail_id: int) -> InboundMail:
    """Set the message aside: it stays recorded, out of the list."""
    mail = mail_for(actor, mail_id)
    mail.outcome, mail.handled_by_id, mail.handled_dt = "dismissed", actor.id, now_utc()
    return mail
