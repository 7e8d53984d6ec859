"""The portfolio pages' forms: a property, a unit, a resident, and the bare form that archives or
restores one (its CSRF token is all it carries). Each field is read and checked once here; the verbs
make the checks every door shares (a name required, one label per property, the email check)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Form, StringField
from wtforms.validators import AnyOf

from ...languages import DEFAULT_LANGUAGE, LANGUAGES
from ...services.portfolio import STATUSES
from ...text import ascii_whole_number
from ..fields import EmailField, NameField
from .forms import IdField, TextField


class PropertyForm(FlaskForm):
    name = NameField(200)
    address = TextField(2000)
    portfolio = TextField(120)
    external_id = TextField(80)

    @property
    def fields(self) -> dict:
        return {"name": self.name.data, "address": self.address.data, "portfolio": self.portfolio.data,
                "external_id": self.external_id.data}


class UnitForm(FlaskForm):
    label = TextField(40)


class ResidentForm(FlaskForm):
    name = NameField(200)
    email = EmailField()
    phone = TextField(40)
    preferred_language = StringField(default=DEFAULT_LANGUAGE, validators=[AnyOf(
        list(LANGUAGES), message=_l("Choose the resident's language from the list."))])
    external_id = TextField(80)
    property_id = IdField(choose="a property")
    unit_label = TextField(40)

    @property
    def fields(self) -> dict:
        return {"name": self.name.data, "email": self.email.data, "phone": self.phone.data,
                "preferred_language": self.preferred_language.data, "external_id": self.external_id.data,
                "property_id": self.property_id.data, "unit_label": self.unit_label.data}


class ListForm(Form):
    """A list page's search (a GET: nothing changes, so no CSRF); anything garbled shows the first page."""

    q = StringField(default="", filters=[lambda value: (value or "").strip()[:100]])
    status = StringField(default="active", validators=[AnyOf(list(STATUSES))])
    page = StringField(default="1")

    @property
    def page_number(self) -> int:
        return ascii_whole_number(self.page.data, low=1, high=999_999) or 1

    property = IdField(choose="a property")  # the residents of one property (named after the builtin above)
