"""The shared form fields read amounts and email addresses as the verbs do, and say what is wrong."""
from __future__ import annotations

from werkzeug.datastructures import MultiDict
from wtforms import Form, StringField

from resolver.web.fields import EmailAddress, MoneyField


class OfferForm(Form):
    token = MoneyField("Token", amount="The token")
    email = StringField("Email", validators=[EmailAddress()])


def test_an_amount_is_read_as_cents_whichever_way_it_is_written():
    for typed, cents in [("$1,234.50", 123450), ("25", 2500), ("7.5", 750), ("", None)]:
        form = OfferForm(MultiDict({"token": typed}))
        assert form.validate() and form.token.data == cents, typed


def test_a_wrong_amount_is_refused_in_a_sentence_and_shown_back_as_typed():
    form = OfferForm(MultiDict({"token": "-5"}))
    assert not form.validate()
    assert form.token.errors == ["The token cannot be negative."]
    assert 'value="-5"' in form.token()


def test_an_email_address_gets_the_one_check_the_verbs_make():
    assert OfferForm(MultiDict({"email": "tammy.rivera@residents.test"})).validate()
    for wrong in ["tammy", "tammy@residents", "tam my@residents.test", "jörg@example.com"]:
        form = OfferForm(MultiDict({"email": wrong}))
        assert not form.validate() and "is not an email address" in form.email.errors[0], wrong
