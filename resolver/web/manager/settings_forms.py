"""The settings page's forms (the company's rules, the roster, staff accounts, API keys): each field
says once how it is read, checked and explained; ``refuse_unless_valid`` refuses with the first problem."""
from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, Form, FormField, PasswordField, StringField
from wtforms.validators import AnyOf, DataRequired, ValidationError

from ...wording import other_languages
from ..fields import EmailAddress, EmailField, MoneyField, NameField
from .forms import IdField, IdListField, TextField, WholeNumberField

MB = 1024 * 1024
WINDOW_FIELDS = {
    "evidence_window_days": "The resident's window",
    "reply_window_days": "The written reply window",
    "panel_window_days": "The team's window",
    "follow_up_days": "The follow-up",
    "offer_valid_days": "How long an offer stays open",
}
# What a resident may upload (checked on the server against the bytes received).
UPLOAD_LIMITS = {
    "max_file_mb": ("The largest file (MB)", 1, 50),
    "max_dispute_mb": ("All files together (MB)", 1, 500),
    "max_files": ("How many files", 1, 100),
}
_CONTACTS = ("supervisor_name", "supervisor_phone", "home_office_phone", "contact_phone",
             "mediation_service_name", "mediation_service_contact")


def _lower(value: str) -> str:
    return value.lower()


class _Given:
    """A cap must be given (0 is an answer: none may be offered)."""

    def __call__(self, form, field):
        if field.data is None and not field.process_errors:
            raise ValidationError("Give both caps (0 means none may be offered).")


def _days(name: str):
    return WholeNumberField(low=1, high=90, message=f"{WINDOW_FIELDS[name]}: a whole number of days from 1 to 90.")


def _limit(name: str):
    label, low, high = UPLOAD_LIMITS[name]
    return WholeNumberField(low=low, high=high, message=f"{label}: a whole number from {low} to {high}.")


class _StepGiven:
    """The step recommended tokens are rounded to: left out of the form, it stays as it is; sent, it is
    at least a dollar (the verb checks the same)."""

    def __call__(self, form, field):
        if field.process_errors or not field.raw_data:
            return
        if field.data is None or field.data < 100:
            raise ValidationError("Round recommended tokens to at least $1.00.")


class _KeptUnlessSent(WholeNumberField):
    """A whole number that, left out of the form, stays as it is."""

    def process_formdata(self, valuelist):
        if valuelist:
            super().process_formdata(valuelist)

    def pre_validate(self, form):
        pass


class CompanyRulesForm(FlaskForm):
    evidence_window_days = _days("evidence_window_days")
    reply_window_days = _days("reply_window_days")
    panel_window_days = _days("panel_window_days")
    follow_up_days = _days("follow_up_days")
    offer_valid_days = _days("offer_valid_days")
    time_zone = TextField(64)
    is_business_days = BooleanField()
    holidays = StringField(default="")
    panel_size = WholeNumberField(low=1, high=9, message="The team's size must be an odd number from 1 to 9, "
                                                         "so a vote cannot tie on seats.")
    is_panel_anonymous = BooleanField()
    is_panel_closing_early = BooleanField()
    token_cap = MoneyField(amount="The token cap", validators=[_Given()])
    concession_cap = MoneyField(amount="The concession cap", validators=[_Given()])
    token_step = MoneyField(amount="The token step", validators=[_StepGiven()])
    max_file_mb = _limit("max_file_mb")
    max_dispute_mb = _limit("max_dispute_mb")
    max_files = _limit("max_files")
    idle_timeout_minutes = _KeptUnlessSent(low=5, high=480, message="Sign staff out after a whole number of "
                                                                    "minutes from 5 to 480 (8 hours).")
    retention_years = _KeptUnlessSent(low=1, high=30, message="Keep personal data for a whole number of years "
                                                              "from 1 to 30.")
    supervisor_name = NameField(200)
    supervisor_phone = TextField(40)
    home_office_phone = TextField(40)
    contact_phone = TextField(40)
    mediation_service_name = NameField(200)
    mediation_service_contact = TextField(2000)
    # "named": the service above; "none": none, on purpose. Not sent: as the name says.
    mediation_choice = StringField(default="", validators=[AnyOf(["", "named", "none"],
                                                                 message="Choose a mediation service, or none.")])
    supervisor_email = TextField(254, filters=[_lower], validators=[EmailAddress()])
    contact_email = TextField(254, filters=[_lower], validators=[EmailAddress()])

    def validate_time_zone(self, field):
        try:
            ZoneInfo(field.data)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(f"{field.data!r} is not a time zone (e.g. America/Denver).") from None

    def validate_holidays(self, field):
        for line in self.holiday_lines:
            try:
                date.fromisoformat(line)
            except ValueError:
                raise ValidationError(f"{line!r} is not a date; write one per line like 2026-12-25.") from None

    def validate_panel_size(self, field):
        if field.data is not None and field.data % 2 == 0:
            raise ValidationError(field.message)

    @property
    def holiday_lines(self) -> list[str]:
        return [line.strip() for line in (self.holidays.data or "").replace(",", "\n").splitlines() if line.strip()]

    @property
    def rules(self) -> dict:
        """The form read into the company's columns."""
        rules = {name: getattr(self, name).data for name in WINDOW_FIELDS}
        rules.update(
            time_zone=self.time_zone.data, is_business_days=self.is_business_days.data,
            holidays=sorted({date.fromisoformat(line).isoformat() for line in self.holiday_lines}),
            panel_size=self.panel_size.data, is_panel_anonymous=self.is_panel_anonymous.data,
            is_panel_closing_early=self.is_panel_closing_early.data,
            token_cap_cents=self.token_cap.data, concession_cap_cents=self.concession_cap.data,
            max_file_bytes=self.max_file_mb.data * MB, max_dispute_bytes=self.max_dispute_mb.data * MB,
            max_files=self.max_files.data, supervisor_email=self.supervisor_email.data,
            contact_email=self.contact_email.data,
        )
        rules.update({name: getattr(self, name).data for name in _CONTACTS})
        if self.token_step.data is not None:
            rules["token_step_cents"] = self.token_step.data
        if self.idle_timeout_minutes.data is not None:
            rules["idle_timeout_minutes"] = self.idle_timeout_minutes.data
        if self.retention_years.data is not None:
            rules["retention_years"] = self.retention_years.data
        if self.mediation_choice.data:
            rules["is_without_mediation"] = self.mediation_choice.data == "none"
        return rules


class MediationWordsForm(Form):
    """The mediation service's name and how to reach it, in one language besides English."""

    mediation_service_name = NameField(200)
    mediation_service_contact = TextField(2000)


def beside_english(form_class: type[Form], words_form: type[Form]) -> type[Form]:
    """``form_class`` with the fields of ``words_form`` for each language Resolver speaks besides
    English, named like "in_es-matter"; the languages are known when Resolver starts."""
    for tag in other_languages():
        setattr(form_class, f"in_{tag}", FormField(words_form, separator="-"))
    return form_class


def words_sent(form: Form) -> dict[str, dict]:
    """What ``form`` carries in each other language ({tag: {field: text}}), only the fields sent: what
    a post leaves out keeps its words."""
    sent = {}
    for tag in other_languages():
        words = {field.short_name: field.data for field in form[f"in_{tag}"].form if field.raw_data}
        if words:
            sent[tag] = words
    return sent


beside_english(CompanyRulesForm, MediationWordsForm)


class NameListField(Field):
    """Several names ticked on the page (portfolios); trimmed, blanks skipped. The verb checks each."""

    def __init__(self, label=None, validators=None, *, limit: int = 120, **kwargs):
        super().__init__(label, validators, default=(), **kwargs)
        self.limit = limit

    def process_formdata(self, valuelist):
        self.raw_data = valuelist
        self.data = [value.strip() for value in valuelist if (value or "").strip()]
        if any(len(value) > self.limit for value in self.data):
            raise ValueError("Choose the portfolios from the list.")


class RosterMemberForm(FlaskForm):
    name = NameField(200)
    email = EmailField()
    organisation = TextField(200)
    reports_to_id = IdField(choose="the staff member")
    excluded_property_ids = IdListField(choose="properties")
    excluded_portfolios = NameListField()
    is_reserve = BooleanField()


class RosterChangeForm(FlaskForm):
    change = StringField(validators=[AnyOf(["deactivate", "activate", "reserve", "exclusions"],
                                           message="Choose what to change.")])
    excluded_property_ids = IdListField(choose="properties")
    excluded_portfolios = NameListField()


class StaffForm(FlaskForm):
    """A person to invite: they choose their own password from the emailed link."""

    name = NameField(200)
    email = EmailField()
    role = StringField(default="")


class StaffChangeForm(FlaskForm):
    change = StringField(validators=[AnyOf(["deactivate", "activate", "role", "password", "invite"],
                                           message="Choose what to change.")])
    role = StringField(default="")
    password = PasswordField(default="")


class ApiKeyForm(FlaskForm):
    name = NameField(120)
    acting_user_id = IdField(choose="the staff member",
                             validators=[DataRequired("Choose the staff member the key acts for.")])
