"""The form for a resident's letter that came by post, typed in from the dispute page."""
from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, MultipleFileField
from wtforms.validators import Regexp

from ...services.evidence import MAX_TEXT
from ..fields import MoneyField
from ..resident.forms import FORM_KEY
from .forms import ActionForm, DayField, TextField


class PaperSubmissionForm(ActionForm):
    """The day the letter arrived, what it says (typed, or its pages scanned, or both), what the resident
    asks for, and a one-time key so a double-clicked button records the letter once."""

    form_key = HiddenField(validators=[Regexp(FORM_KEY, message=(
        _l("This form is missing part of itself. Please reload the page and enter the letter again.")))])
    received_on = DayField()
    details = TextField(MAX_TEXT)
    suggested_resolution = TextField(MAX_TEXT)
    suggested_amount = MoneyField(amount=_l("The amount the resident asks for"))
    files = MultipleFileField()

    @classmethod
    def blank(cls) -> PaperSubmissionForm:
        form = cls(formdata=None)
        form.form_key.data = secrets.token_urlsafe(24)
        return form
