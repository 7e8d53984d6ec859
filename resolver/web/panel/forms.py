"""The team member's forms on the vote page: the vote, stepping aside, and the chair's decision.

The page is hand-written HTML whose ``name=`` attributes are these fields' names. A field reads and
checks what was typed, with the sentence the verb would say (the verbs' own, imported); the rules
that depend on the case (a company's caps, the team still reviewing, a conflict of interest) stay
with the verbs, and ``explain`` puts their refusal beside the field it is about.
"""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ...services.panel.closing import DECISION_NEEDED, NOTE_NEEDED
from ...services.panel.voting import (
    CHOICE_NEEDED, ITEM_CHOICE_NEEDED, MAX_REASON, REASON_NEEDED, REASON_TOO_LONG, RECUSAL_REASON_NEEDED,
)
from ...workflow.definition import Decision
from ..fields import MoneyField, PageForm, stripped

# How each decision reads on the page, for the whole case, one disputed item, and the chair.
VOTE_LABELS = {Decision.UPHOLD: _l("The company's position stands"),
               Decision.RESIDENT: _l("Grant the resident's suggested resolution"),
               Decision.COMPROMISE: _l("A compromise (meet partway)")}
ITEM_LABELS = {Decision.UPHOLD: _l("The charge stands"), Decision.RESIDENT: _l("Remove the charge"),
               Decision.COMPROMISE: _l("Reduce the charge")}
CHAIR_LABELS = {**VOTE_LABELS, Decision.COMPROMISE: _l("A compromise")}
ITEM_FIELD = re.compile(r"^item-")


def _choices(labels: dict[Decision, str]) -> list[SelectChoice]:
    return [SelectChoice(str(decision), label) for decision, label in labels.items()]


# A disputed item's select: blank follows the member's vote for the whole case.
ITEM_OPTIONS = [SelectChoice("", _l("As my vote above")), *_choices(ITEM_LABELS)]


class VoteForm(PageForm):
    """A member's vote: a choice, the reason, recommendations, and a choice per disputed item
    (``item-<id>``, added by ``for_items``)."""

    verb_fields = {"token_cents": "token_amount", "concession_cents": "concession_amount"}

    choice = RadioField(choices=_choices(VOTE_LABELS), invalid_choice_message=CHOICE_NEEDED)
    reason = TextAreaField(filters=[stripped], validators=[DataRequired(message=REASON_NEEDED),
                                                           Length(max=MAX_REASON, message=REASON_TOO_LONG)])
    token_kind = StringField(filters=[stripped])
    token_amount = MoneyField(amount=_l("The token"))
    concession_amount = MoneyField(amount=_l("The concession"))

    @classmethod
    def for_items(cls, item_ids, **kwargs) -> VoteForm:
        """The form with a choice for each of these disputed items, named as the page names them."""
        form_class = type("CaseVoteForm", (cls,), {
            f"item-{item_id}": SelectField(choices=ITEM_OPTIONS, invalid_choice_message=ITEM_CHOICE_NEEDED)
            for item_id in item_ids
        })
        return form_class(**kwargs)

    @classmethod
    def posted(cls, formdata) -> VoteForm:
        """The vote as sent: a field for every item the page sent a choice for (the verb checks
        each is the case's own)."""
        return cls.for_items([key.removeprefix("item-") for key in formdata if ITEM_FIELD.match(key)])

    def item_choice(self, name: str) -> str:
        """What the form says for one item's select ("" when it was not sent: as the vote above)."""
        return (self[name].data or "") if name in self else ""

    @property
    def item_choices(self) -> dict[str, str]:
        return {name.removeprefix("item-"): field.data or "" for name, field in self._fields.items()
                if ITEM_FIELD.match(name)}

    def for_verb(self) -> dict:
        """The vote, as ``record_vote`` takes it."""
        return {"choice": self.choice.data, "reason": self.reason.data, "token_kind": self.token_kind.data or "",
                "token_cents": self.token_amount.data, "concession_cents": self.concession_amount.data,
                "item_choices": self.item_choices}


class StepAsideForm(PageForm):
    """Stepping aside from the case, with a few words why."""

    recusal_reason = StringField(filters=[stripped], validators=[DataRequired(message=RECUSAL_REASON_NEEDED)])


class DecideForm(PageForm):
    """The chair's decision for a split team, with a note the letter can use."""

    decision = RadioField(choices=_choices(CHAIR_LABELS), invalid_choice_message=DECISION_NEEDED)
    note = TextAreaField(filters=[stripped], validators=[DataRequired(message=NOTE_NEEDED)])
