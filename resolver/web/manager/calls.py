"""Recording a team's call, from the dispute page: who attended and each one's vote as they gave it.

The page lists the team. A member who already voted by link keeps their own vote (the page shows
it, and a call cannot replace it); a member who stepped aside is not asked. For the others, a tick
says they attended, with their choice, reason and any recommendation: the same fields, checks and
money parsing as the vote page. One POST records the whole call through ``panel.record_call`` in one
unit of work; a refusal shows the page again, as typed, and changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import BooleanField, Form, FormField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ...errors import DomainError, InvalidInput, NotFound
from ...models import Dispute, PanelSeat, Vote
from ...services import panel
from ...services.access import dispute_for
from ...services.panel.result import team_of
from ...services.panel.voting import MAX_REASON, REASON_TOO_LONG
from ...workflow.engine import dispute_engine
from ..fields import MoneyField, stripped
from ..panel.forms import VOTE_LABELS
from ..unit_of_work import unit_of_work
from . import blueprint
from .auth import current_actor
from .forms import ActionForm, DayField

WORKFLOW = dispute_engine.definition

THEIR_CHOICE = _l("Choose how they voted.")
THEIR_REASON = _l("Give their reason, as they said it: it is the feedback the resident's letter is built from.")


class CallVoteForm(Form):
    """One member's row: whether they attended, and if so their vote (nothing is asked of the others)."""

    attended = BooleanField()
    choice = RadioField(choices=[SelectChoice(str(decision), label) for decision, label in VOTE_LABELS.items()],
                        invalid_choice_message=THEIR_CHOICE)
    reason = TextAreaField(filters=[stripped], validators=[DataRequired(message=THEIR_REASON),
                                                           Length(max=MAX_REASON, message=REASON_TOO_LONG)])
    token_kind = StringField(filters=[stripped])
    token_amount = MoneyField(amount=_l("The token"))
    concession_amount = MoneyField(amount=_l("The concession"))

    def validate(self, extra_validators=None) -> bool:
        if not self.attended.data:
            return True  # not on the call: whatever the row holds is not read
        return super().validate(extra_validators)


class RecordCallForm(ActionForm):
    """The call's day and a ``seat-<id>`` row per member who may be recorded (``for_seats``)."""

    call_on = DayField()

    @classmethod
    def for_seats(cls, seat_ids, **kwargs) -> RecordCallForm:
        form_class = type("TeamCallForm", (cls,), {
            f"seat-{seat_id}": FormField(CallVoteForm, separator="-") for seat_id in seat_ids})
        return form_class(**kwargs)

    def row(self, seat_id: int) -> CallVoteForm:
        return self[f"seat-{seat_id}"].form

    def refuse_unless_valid(self, rows: list[CallRow]) -> RecordCallForm:
        """Refuse with the first problem, naming the member whose row it is in."""
        if self.validate():
            return self
        if problem := self.version_problem():
            raise problem
        if self.call_on.errors:
            raise InvalidInput(self.call_on.errors[0], field="call_on")
        for row in rows:
            for field in self.row(row.seat.id):
                if field.errors:
                    raise InvalidInput(_("%(member)s: %(problem)s", member=row.seat.member.name, problem=field.errors[0]),
                                       field=field.name)
        raise InvalidInput(_("Please check the form and send it again."))

    def votes(self, rows: list[CallRow]) -> list[panel.CallVote]:
        """The votes of the members ticked as attending (the verb refuses a member who stepped aside,
        or one whose own vote arrived since the page was drawn, rather than leave them out unsaid)."""
        votes = []
        for row in rows:
            if (sent := self.row(row.seat.id)).attended.data:
                votes.append(panel.CallVote(
                    seat_id=row.seat.id, choice=sent.choice.data, reason=sent.reason.data,
                    token_kind=sent.token_kind.data or "", token_cents=sent.token_amount.data,
                    concession_cents=sent.concession_amount.data))
        return votes


@dataclass(frozen=True)
class CallRow:
    """One member of the team on the call page."""

    seat: PanelSeat
    vote: Vote | None
    record: panel.CallRecord | None

    @property
    def has_own_vote(self) -> bool:
        """Voted by link (or corrected a call's record): their own vote, which a call never replaces."""
        return self.vote is not None and self.vote.call_on is None

    @property
    def is_recordable(self) -> bool:
        return self.seat.recused_dt is None and not self.has_own_vote


def call_rows(dispute: Dispute) -> list[CallRow]:
    records = panel.call_records(dispute)
    return [CallRow(seat, vote, records.get(seat.id)) for seat, vote in team_of(dispute)]


def _recorded_form(rows: list[CallRow]) -> RecordCallForm:
    """The form as the team's votes from earlier calls stand (blank for members not yet recorded)."""
    data = {}
    for row in rows:
        if row.is_recordable and row.vote is not None:
            vote = row.vote
            data[f"seat-{row.seat.id}"] = {
                "choice": vote.choice, "reason": vote.reason, "token_kind": vote.token_kind,
                "token_amount": vote.token_cents, "concession_amount": vote.concession_cents}
    return RecordCallForm.for_seats([row.seat.id for row in rows], formdata=None, data=data)


def _page(dispute: Dispute, *, form: RecordCallForm | None = None, error: DomainError | None = None,
          status: int = 200):
    rows = call_rows(dispute)
    progress = panel.panel_progress(dispute)
    return render_template(
        "manager/call.html", dispute=dispute, company=dispute.company, rows=rows,
        form=form if form is not None else _recorded_form(rows), error=error,
        is_reviewing=WORKFLOW.can("decide", dispute.state), shows_choices=progress.shows_choices,
        choice_labels=VOTE_LABELS, correction_time=WORKFLOW.panel.call_correction_time,
    ), status


def _refused(error: DomainError, dispute_id: int):
    if isinstance(error, NotFound):
        raise error  # another company's dispute: simply not found
    dispute = dispute_for(current_actor(), dispute_id)
    rows = call_rows(dispute)
    sent = RecordCallForm.for_seats([row.seat.id for row in rows])
    return _page(dispute, form=sent, error=error, status=error.status_code)


@blueprint.get("/disputes/<int:dispute_id>/call")
def record_call_page(dispute_id: int):
    return _page(dispute_for(current_actor(), dispute_id))


@blueprint.post("/disputes/<int:dispute_id>/call")
@unit_of_work(refused=_refused)
def record_call(dispute_id: int):
    actor = current_actor()
    dispute = dispute_for(actor, dispute_id)
    rows = call_rows(dispute)
    form = RecordCallForm.for_seats([row.seat.id for row in rows]).refuse_unless_valid(rows)
    votes = panel.record_call(actor, dispute, call_on=form.call_on.data, votes=form.votes(rows),
                              expected_version=form.expected_version.data)
    people = len(votes)
    message = ngettext("The call's %(num)s vote is recorded, and each member has been emailed what you recorded "
                       "for them, with a link to correct it.",
                       "The call's %(num)s votes are recorded, and each member has been emailed what you recorded "
                       "for them, with a link to correct it.", people)
    if not WORKFLOW.can("decide", dispute.state):
        message += " " + _("With them the team's review is complete.")
    flash(message, "success")
    return redirect(url_for("manager.dispute_page", dispute_id=dispute.id), 303)
