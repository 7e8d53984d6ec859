"""The guards the workflow definition names. Each returns None when the step may go ahead,
or a sentence for the person who asked, saying why not."""
from __future__ import annotations

from datetime import datetime

from flask_babel import gettext
from sqlalchemy import func, select

from ..extensions import db
from ..workdays import format_moment


def has_resident_email(dispute, now: datetime) -> str | None:
    if not (dispute.resident and dispute.resident.email):
        return "The resident has no email address, so the invitation cannot be sent. Add one first."
    return None


def _about_a_deadline(check):
    """Mark a guard whose refusal means a deadline has passed (DeadlinePassed, not GuardFailed)."""
    check.is_deadline = True
    return check


@_about_a_deadline
def evidence_window_open(dispute, now: datetime) -> str | None:
    if dispute.evidence_due_dt is None or now > dispute.evidence_due_dt:
        when = format_moment(dispute.evidence_due_dt, dispute.company) if dispute.evidence_due_dt else "already"
        # Said to the resident whose late send was refused, in their language.
        return gettext("The time to send evidence ended at %(when)s.", when=when)
    return None


def evidence_window_over(dispute, now: datetime) -> str | None:
    # Over from the due moment itself: the sweep fires a timer once its moment has come (due <= now).
    if dispute.evidence_due_dt is not None and now < dispute.evidence_due_dt:
        return f"The resident still has until {format_moment(dispute.evidence_due_dt, dispute.company)}."
    return None


def panel_is_seated(dispute, now: datetime) -> str | None:
    from ..models import PanelSeat

    seated = db.session.scalar(
        select(func.count()).select_from(PanelSeat).where(
            PanelSeat.dispute_id == dispute.id, PanelSeat.recused_dt.is_(None)
        )
    )
    if not seated:
        return "Choose the resolution team before sending the case to it."
    if seated % 2 == 0:
        return f"The team has {seated} members; choose an odd number so a vote cannot tie on seats alone."
    return None


def letter_is_approved(dispute, now: datetime) -> str | None:
    from ..models import Letter

    approved = db.session.scalar(
        select(func.count()).select_from(Letter).where(Letter.dispute_id == dispute.id, Letter.status == "approved")
    )
    return None if approved else "Approve the letter before sending it."


GUARDS = {
    name: function
    for name, function in list(globals().items())
    if callable(function) and not name.startswith("_") and getattr(function, "__module__", "") == __name__
}
