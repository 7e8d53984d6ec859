"""Amounts people type, and amounts in cents handed to a verb: one reading, one set of refusals."""
from __future__ import annotations

import pytest

from resolver.errors import InvalidInput
from resolver.money import check_cents, format_cents, parse_amount


@pytest.mark.parametrize(("typed", "cents"), [
    ("$1,234.50", 123450), ("1234.5", 123450), ("1,234", 123400), ("  25 ", 2500), ("$ 7.05", 705), (".5", 50),
    ("", None), (None, None),
])
def test_an_amount_is_read_as_people_write_it(typed, cents):
    assert parse_amount(typed, field="amount") == cents


@pytest.mark.parametrize(("typed", "message"), [
    ("-5", "The token cannot be negative."),
    ("12,34x", "The token should be written like 150 or 150.00 (dollars and cents)."),
    ("1.234", "The token should be written like 150 or 150.00 (dollars and cents)."),
    ("$", "The token should be written like 150 or 150.00 (dollars and cents)."),
    ("50.01", "The token can be at most $50 (the company's limit)."),
    ("10000000", "The token is too large; please check it."),
])
def test_an_amount_that_cannot_be_right_is_refused_saying_why(typed, message):
    cap = 5000 if typed == "50.01" else None
    with pytest.raises(InvalidInput) as caught:
        parse_amount(typed, field="token_amount", label="The token", cap=cap)
    assert (caught.value.field, caught.value.message) == ("token_amount", message)


def test_cents_handed_to_a_verb_are_checked_the_same_way():
    assert check_cents("2500", field="token_cents") == 2500 and check_cents(None, field="token_cents") is None
    for value, message in [(-1, "The amount cannot be negative."), ("ten", "Please give the amount as a number."),
                           (5001, "The amount can be at most $50 (the company's limit).")]:
        with pytest.raises(InvalidInput, match=message.replace("$", r"\$").replace("(", r"\(").replace(")", r"\)")):
            check_cents(value, field="token_cents", cap=5000)


def test_cents_are_written_as_dollars():
    assert [format_cents(c) for c in (None, 0, 5, 12300, 123456)] == ["", "$0", "$0.05", "$123", "$1,234.56"]
