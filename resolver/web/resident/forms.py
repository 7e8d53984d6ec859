"""The resident's forms: sending their side, asking for more time, and answering the outcome letter.

Each is a Flask-WTF form (which checks the page's security token); the pages stay hand-written HTML
whose ``name=`` attributes are these fields' names. A field reads, checks and explains what was
typed; what depends on the dispute (its deadline, its limits, an empty send) the verb checks, and
``PageForm.explain`` puts the verb's refusal beside the field it is about.
"""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, MultipleFileField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Regexp

from ...services.evidence import MAX_TEXT, TOO_LONG
from ..fields import MoneyField, PageForm, stripped

FORM_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class EvidenceForm(PageForm):
    """The resident's side: what happened, what would put it right, an amount, an answer per disputed
    item (``item-<id>``, added by ``for_dispute``) and files (checked by ``resolver.uploads``)."""

    form_key = HiddenField(validators=[Regexp(FORM_KEY, message=_l(
        "This form is missing part of itself. Please reload the page and send it again."))])
    details = TextAreaField(filters=[stripped], validators=[Length(max=MAX_TEXT, message=TOO_LONG)])
    suggested_resolution = TextAreaField(filters=[stripped], validators=[Length(max=MAX_TEXT, message=TOO_LONG)])
    suggested_amount = MoneyField(amount=_l("The amount you are asking for"))
    files = MultipleFileField()

    @classmethod
    def for_dispute(cls, dispute, **kwargs) -> EvidenceForm:
        """The form with one answer field per disputed item, named as the page names them."""
        form_class = type("DisputeEvidenceForm", (cls,), {
            f"item-{item.id}": TextAreaField(filters=[stripped], validators=[Length(max=MAX_TEXT, message=TOO_LONG)])
            for item in dispute.items
        })
        return form_class(**kwargs)

    def item(self, item_id: int):
        return self[f"item-{item_id}"]

    def item_responses(self, dispute) -> dict[str, str]:
        return {str(item.id): self.item(item.id).data or "" for item in dispute.items}


class DaysField(IntegerField):
    """A whole number of days, or the field's own sentence saying what to choose."""

    def __init__(self, label=None, validators=None, *, message: str, **kwargs):
        super().__init__(label, [InputRequired(message=message), *(validators or [])], **kwargs)
        self.message = message

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(self.message) from None


class MoreTimeForm(PageForm):
    """Asking for more time to send one's side (the verb says how many days may be asked for)."""

    days = DaysField(message=_l("Choose how many more days you need."), default=3)
    reason = TextAreaField(filters=[stripped])


class ReceiptForm(PageForm):
    """"Yes, I received this letter": the button and the page's security token."""


class OfferAnswerForm(PageForm):
    """The resident's answer to the letter's offer: one of its two buttons."""

    answer = RadioField(choices=[SelectChoice("accept", _l("Accept the offer")), SelectChoice("decline", _l("No, thank you"))],
                        invalid_choice_message=_l("Please choose one of the two buttons."))

    @property
    def is_accepted(self) -> bool:
        return self.answer.data == "accept"


class MediationForm(PageForm):
    """"I still disagree: tell me about outside mediation": the button and the security token."""


class LadderForm(PageForm):
    """"Ask the supervisor to look again", with what the resident wants looked at (optional)."""

    message = TextAreaField(filters=[stripped], validators=[Length(max=2000, message=_l(
        "Please keep this to 2,000 characters; the supervisor will read the whole dispute as well."))])


class LanguageForm(PageForm):
    """The language switch on every page behind a resident's link: the language chosen (the verb checks
    it is one Resolver speaks) and the page it was chosen on, to go back to."""

    language = StringField(filters=[stripped])
    back = HiddenField()
