"""The forms of getting a password: asking for a reset link, and choosing a password from a link."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import InputRequired

from ..fields import EmailAddress
from .forms import TextField


def _lower(value: str) -> str:
    return value.lower()


class ForgotPasswordForm(FlaskForm):
    email = TextField(254, filters=[_lower], validators=[
        InputRequired(_l("Give the email address you sign in with.")), EmailAddress()])


class ChoosePasswordForm(FlaskForm):
    # The length rule is the one ``services.staff.set_password`` keeps, so it is said and checked once.
    password = PasswordField(default="")
    confirmation = PasswordField(default="")
