"""The manager's forms: each field says once how it is read, checked and explained.

The pages are hand-written HTML whose ``name=`` attributes match these fields. A form that does not
validate is refused with its first problem, as an ``InvalidInput`` naming the field, so the page
shows the sentence beside that field and the request changes nothing. Amounts are ``MoneyField``
and email addresses ``EmailAddress`` (the same checks the verbs and the API make).
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, Form, FormField, PasswordField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, ValidationError

from ...errors import InvalidInput
from ...text import ascii_whole_number
from ...workdays import END_OF_DAY, local_zone
from ...workflow.definition import Decision
from ..fields import EmailAddress, MoneyField, NameField

# The largest id a row can have (a 32-bit integer column on PostgreSQL): anything above names no row.
MAX_ID = 2**31 - 1
ITEM_ROWS = 5  # disputed items the new-dispute form offers at once


def has_id_beyond_range(view_args: dict | None) -> bool:
    """Whether a URL carries an id too large to name any row (the database would refuse to look)."""
    return any(isinstance(value, int) and value > MAX_ID for value in (view_args or {}).values())


def refuse_unless_valid(form: Form) -> Form:
    """Validate ``form``; if anything is wrong, refuse with its first problem (nothing changes)."""
    if not form.validate():
        name, message = next(_problems(form))
        raise InvalidInput(message, field=name)
    return form


def _problems(fields):
    for field in fields:
        if isinstance(field, FormField):
            yield from _problems(field.form)
        elif field.errors:
            yield field.name, str(field.errors[0])  # a marked message, said now (and escaped when shown)


# Fields -------------------------------------------------------------------------------------------

def _stripped(value) -> str:
    return (value or "").strip()


def TextField(limit: int, **kwargs) -> StringField:  # noqa: N802 - a field constructor, named like one
    """Free text, trimmed, at most ``limit`` characters."""
    return StringField(default="", filters=[_stripped, *kwargs.pop("filters", [])],
                       validators=[Length(max=limit, message=_l("Please keep this under %(limit)s characters.",
                                                                 limit=f"{limit:,}")),
                                   *kwargs.pop("validators", [])], **kwargs)


class IdField(StringField):
    """A row's id picked from a list; ``data`` is the id, or None when left blank."""

    def __init__(self, label=None, validators=None, *, choose: str = "one", **kwargs):
        super().__init__(label, validators, **kwargs)
        self.choose = choose

    def process_formdata(self, valuelist):
        self.raw_data = valuelist
        self.data = _id(valuelist[0] if valuelist else "", self.choose)


class IdListField(Field):
    """Several ids picked from a list (checkboxes or a multiple select); blanks are skipped."""

    def __init__(self, label=None, validators=None, *, choose: str = "them", **kwargs):
        super().__init__(label, validators, default=(), **kwargs)
        self.choose = choose

    def process_formdata(self, valuelist):
        self.raw_data = valuelist
        self.data = [_id(raw, self.choose) for raw in valuelist if (raw or "").strip()]


def _id(raw: str, choose: str) -> int | None:
    text = (raw or "").strip()
    if not text:
        return None
    number = ascii_whole_number(text, low=0, high=MAX_ID)
    if number is None:
        raise ValueError(_("Choose %(what)s from the list.", what=choose))
    return number


class WholeNumberField(StringField):
    """A whole number from ``low`` to ``high``; anything else is refused with ``message``."""

    def __init__(self, label=None, validators=None, *, low: int, high: int, message: str, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.low, self.high, self.message = low, high, message

    def process_formdata(self, valuelist):
        self.raw_data = valuelist
        text = (valuelist[0] if valuelist else "").strip()
        self.data = ascii_whole_number(text, low=self.low, high=self.high)
        if self.data is None:
            raise ValueError(self.message)

    def pre_validate(self, form):
        if self.data is None and not self.process_errors:
            raise ValidationError(self.message)  # not sent at all


class DayField(StringField):
    """A date picked on the page (2026-03-20); ``due_in(company)`` is the end of that day there, as UTC."""

    def process_formdata(self, valuelist):
        self.raw_data = valuelist
        try:
            self.data = date.fromisoformat((valuelist[0] if valuelist else "").strip())
        except ValueError:
            self.data = None
            raise ValueError(_("Pick a date (for example 2026-03-20).")) from None

    def pre_validate(self, form):
        if self.data is None and not self.process_errors:
            raise ValidationError(_("Pick a date (for example 2026-03-20)."))

    def due_in(self, company) -> datetime:
        return datetime.combine(self.data, END_OF_DAY, tzinfo=local_zone(company)).astimezone(timezone.utc)


class VersionField(Field):
    """The dispute's version the page was drawn from; the verb compares it with the dispute's own."""

    def process_formdata(self, valuelist):
        self.raw_data = valuelist
        text = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not text:
            raise ValueError(_("This form is missing its version. Reload the page and try again."))
        self.data = ascii_whole_number(text)
        if self.data is None:
            raise ValueError(_("This form's version is not a number. Reload the page and try again."))

    def pre_validate(self, form):
        if self.data is None and not self.process_errors:
            raise ValidationError(_("This form is missing its version. Reload the page and try again."))


# The dispute page's actions ----------------------------------------------------------------------

class ActionForm(FlaskForm):
    """Every action on the dispute page carries the version of the dispute it was drawn from."""

    expected_version = VersionField()

    def version_problem(self) -> InvalidInput | None:
        """A missing or garbled version, which is said before anything else the form asks."""
        field = self.expected_version
        if field.process_errors or field.data is None:
            field.validate(self)
            return InvalidInput(str(field.errors[0]), field=field.name)
        return None


class ExtendForm(ActionForm):
    window = StringField(default="")
    new_due = DayField()
    reason = TextField(2000)


class AnswerMoreTimeForm(ActionForm):
    request_id = IdField(choose=_l("the request"))
    answer = StringField(validators=[AnyOf(["grant", "refuse"],
                                           message=_l("Choose whether to give the resident more time."))])
    note = TextField(2000)


class SeatPanelForm(ActionForm):
    member_ids = IdListField(choose=_l("team members"),
                             validators=[DataRequired(_l("Choose the members of the resolution team."))])
    chair_id = IdField(choose=_l("the chair"))
    conflict_note = TextField(2000)


class ReplaceSeatForm(ActionForm):
    member_id = IdField(choose=_l("the member"), validators=[DataRequired(_l("Choose who takes the seat."))])
    conflict_note = TextField(2000)


class DecideForm(ActionForm):
    decision = StringField(validators=[AnyOf([d.value for d in Decision], message=_l("Choose the decision."))])
    note = TextField(5000)


class LetterForm(ActionForm):
    letter_id = IdField(choose=_l("the letter"))


class EditLetterForm(LetterForm):
    subject = TextField(300)
    body_text = TextField(50_000)
    token_kind = TextField(120)
    token = MoneyField(amount=_l("The token amount"))
    concession = MoneyField(amount=_l("The concession"))


class ApproveLetterForm(LetterForm):
    override_reason = TextField(2000)


class ReasonForm(ActionForm):
    reason = TextField(2000)


class CloseForm(ReasonForm):
    lessons_learned = TextField(5000)  # what the company learned, for training (optional)


class CompleteTaskForm(ActionForm):
    task_id = IdField(choose=_l("the task"))
    note = TextField(2000)


# Signing in --------------------------------------------------------------------------------------

class SignInForm(FlaskForm):
    """Whatever is typed is tried (and counted by the throttle); a wrong address simply does not match."""

    email = StringField(default="", filters=[lambda value: _stripped(value).lower()[:254]])
    password = PasswordField(default="")
    next = StringField(default="")


# The dashboard's filters (a GET: nothing changes, so no CSRF) --------------------------------------

class DashboardForm(Form):
    property = IdField(choose=_l("a property"))
    manager = IdField(choose=_l("a manager"))


# Opening a dispute --------------------------------------------------------------------------------

class DisputedItemForm(Form):
    description = TextField(300)
    amount = MoneyField(amount=_l("The amount"))
    reason = TextField(5000)

    @property
    def is_blank(self) -> bool:
        return not (self.description.data or (self.amount.raw_data and self.amount.raw_data[0].strip())
                    or self.reason.data)

    def validate_description(self, field):
        if not field.data and not self.is_blank:
            number = int(field.name.split("-")[-2]) + 1
            raise ValidationError(_("Disputed item %(number)s needs a description.", number=number))


class NewDisputeForm(FlaskForm):
    resident_choice = StringField(default="existing")
    resident_id = IdField(choose=_l("the resident"))
    new_name = NameField(200)
    new_email = TextField(254)
    new_phone = TextField(40)
    property_id = IdField(choose=_l("a property"))
    unit_label = TextField(40)
    manager_id = IdField(choose=_l("the manager"))
    issue = TextField(20_000)
    what_was_fixed = TextField(20_000)
    company_position = TextField(20_000)
    # A key of one of the company's categories (the verb refuses any other).
    category = TextField(80, validators=[DataRequired(_l("Choose the dispute's category."))])
    intent = StringField(default="")
    # The item rows follow (``item-0-description``, ...), added below: one FormField per row, so a row
    # keeps its number whichever rows are filled in.

    @property
    def is_new_resident(self) -> bool:
        """A new resident typed in, or nobody chosen from the list but a new one typed: that is the one meant."""
        if self.resident_choice.data != "existing":
            return True
        return self.resident_id.data is None and bool(self.new_name.data or self.new_email.data)

    def validate_new_email(self, field):
        if self.is_new_resident:
            EmailAddress()(self, field)

    @property
    def items(self) -> list[dict]:
        return [{"description": row.description.data, "amount_cents": row.amount.data or 0,
                 "company_reason": row.reason.data}
                for row in (self[f"item_{index}"].form for index in range(ITEM_ROWS)) if not row.is_blank]


for _index in range(ITEM_ROWS):
    setattr(NewDisputeForm, f"item_{_index}", FormField(DisputedItemForm, name=f"item-{_index}", separator="-"))
