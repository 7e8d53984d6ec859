"""Form fields the pages share, so that an amount of money or an email address is read, checked and
explained the same way on every page (by the same functions the verbs and the API use)."""
from __future__ import annotations

from typing import ClassVar

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length, ValidationError

from ..errors import DomainError, InvalidInput
from ..money import format_cents, parse_amount
from ..services.people import email_problem
from ..text import cleaned_line, line_problem, without_invisible


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
        if not field.data:
            return
        if problem := line_problem(field.data, "An email address"):
            raise ValidationError(problem)
        if problem := email_problem(field.data):
            raise ValidationError(f"“{field.data}” is not an email address: {problem}")


class OneLine:
    """A WTForms validator: a name is one line, with no control characters (it goes in email headers)."""

    def __init__(self, what: str = "A name"):
        self.what = what

    def __call__(self, form, field) -> None:
        if field.data and (problem := line_problem(field.data, self.what)):
            raise ValidationError(problem)


def _one_line(value) -> str:
    return cleaned_line(value or "")


def NameField(limit: int = 200, **kwargs) -> StringField:  # noqa: N802 - a field constructor, named like one
    """A person's, a property's or an organisation's name: invisible characters removed, trimmed,
    one line, at most ``limit`` characters."""
    return StringField(default="", filters=[_one_line, *kwargs.pop("filters", [])],
                       validators=[OneLine(), Length(max=limit, message=f"Please keep this under {limit:,} characters."),
                                   *kwargs.pop("validators", [])], **kwargs)


def EmailField(**kwargs) -> StringField:  # noqa: N802 - a field constructor, named like one
    """An email address, trimmed and lowercased, checked by ``EmailAddress`` (blank is left to the form)."""
    return StringField(default="", filters=[_email_text, *kwargs.pop("filters", [])],
                       validators=[EmailAddress(), Length(max=254, message="Please keep this under 254 characters."),
                                   *kwargs.pop("validators", [])], **kwargs)


def _email_text(value) -> str:
    return without_invisible(value or "").strip().lower()


def stripped(text: str | None) -> str | None:
    return text.strip() if isinstance(text, str) else text


class PageForm(FlaskForm):
    """A form on a page behind someone's email link: every message is kept beside the field it is
    about (or above the form, when it is about no one field), ready for the page's error summary."""

    # A verb's name for a field -> this form's field (e.g. the vote's "token_cents" -> "token_amount").
    verb_fields: ClassVar[dict[str, str]] = {}

    def explain(self, problem: DomainError) -> None:
        """Show a refusal (the form's own, or the verb's) on the page, once."""
        if problem.message in (message for _, message in self.problems):
            return
        name = getattr(problem, "field", None)
        target = self._fields.get(self.verb_fields.get(name, name)) if name else None
        if target is not None and target.type not in ("HiddenField", "CSRFTokenField"):
            target.errors = [*target.errors, problem.message]
        else:
            self.form_errors.append(problem.message)

    @property
    def problems(self) -> list[tuple[str | None, str]]:
        """(the field's id, or None) and the message, in the order the page shows them."""
        found: list[tuple[str | None, str]] = [(None, message) for message in self.form_errors]
        for field in self:
            shown = field.type not in ("HiddenField", "CSRFTokenField")
            found += [(field.id if shown else None, message) for message in field.errors]
        return found

    def refusal(self) -> InvalidInput:
        """The form's first problem, as the refusal its unit of work rolls back on."""
        field_id, message = self.problems[0]
        return InvalidInput(message, field=field_id)

    def invalid(self, name: str) -> bool:
        return name in self._fields and bool(self._fields[name].errors)
