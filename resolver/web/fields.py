"""Form fields the pages share, so that an amount of money or an email address is read, checked and
explained the same way on every page (by the same functions the verbs and the API use)."""
from __future__ import annotations

from wtforms import StringField
from wtforms.validators import ValidationError

from ..errors import InvalidInput
from ..money import format_cents, parse_amount
from ..services.people import email_problem


class MoneyField(StringField):
    """An amount a person types in dollars ("$1,234.50", "150"); ``data`` is whole cents, or None
    when left blank. ``amount`` names it in messages ("The token")."""

    def __init__(self, label=None, validators=None, *, amount: str = "The amount", **kwargs):
        super().__init__(label, validators, **kwargs)
        self.amount = amount

    def process_formdata(self, valuelist):
        self.raw_data = valuelist
        if valuelist:
            try:
                self.data = parse_amount(valuelist[0], field=self.name, label=self.amount)
            except InvalidInput as problem:
                self.data = None
                raise ValueError(problem.message) from None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]  # what the person typed, shown back as they typed it
        return format_cents(self.data).lstrip("$") if self.data is not None else ""


class EmailAddress:
    """A WTForms validator: the address passes Resolver's one email check (blank is left to
    ``InputRequired`` or ``Optional``)."""

    def __call__(self, form, field) -> None:
        if field.data and (problem := email_problem(field.data)):
            raise ValidationError(f"“{field.data}” is not an email address: {problem}")
