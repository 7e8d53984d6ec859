"""Money: amounts are whole cents everywhere; this is where people's amounts become cents, and
cents become "$1,234.50" again.

``parse_amount`` reads what a person typed ("$1,234.50", "1234.5", "1,234"); ``check_cents`` checks
an amount that arrives in cents already (the API, a verb's argument). Both refuse a negative
amount, or one over the company's cap, with a sentence that names the amount.
"""
from __future__ import annotations

import re

from flask_babel import gettext as _

from .errors import InvalidInput

# Nobody means ten million dollars in a dispute about a deposit: a typo, said as one.
TOO_LARGE_CENTS = 10_000_000 * 100
_AMOUNT = re.compile(r"^\$?\s*(?P<dollars>\d{1,3}(?:,\d{3})+|\d*)(?:\.(?P<cents>\d{1,2}))?$")


def format_cents(cents: int | None) -> str:
    """12345 -> "$123.45"; 12300 -> "$123"; None -> ""."""
    if cents is None:
        return ""
    dollars, rest = divmod(int(cents), 100)
    return f"${dollars:,}" if rest == 0 else f"${dollars:,}.{rest:02d}"


def parse_amount(raw, *, field: str, label: str = "The amount", cap: int | None = None) -> int | None:
    """Cents from an amount a person typed, in dollars: "$1,234.50" -> 123450, "1234.5" -> 123450;
    blank -> None. ``label`` names the amount in the messages ("The token"); ``cap`` in cents."""
    text = str(raw if raw is not None else "").strip()
    label = str(label)  # a label marked for translation is said in the language of the moment
    if not text:
        return None
    if text.startswith("-"):
        raise InvalidInput(_("%(label)s cannot be negative.", label=label), field=field)
    match = _AMOUNT.match(text)
    if not match or not (match["dollars"] or match["cents"]):
        raise InvalidInput(_("%(label)s should be written like 150 or 150.00 (dollars and cents).", label=label),
                           field=field)
    cents = int((match["dollars"] or "0").replace(",", "")) * 100 + int((match["cents"] or "0").ljust(2, "0"))
    return _within_limits(cents, field=field, label=label, cap=cap)


def check_cents(value, *, field: str, label: str = "The amount", cap: int | None = None) -> int | None:
    """An amount given in cents already (an int, or its digits); blank -> None."""
    if value is None or value == "":
        return None
    label = str(label)
    try:
        cents = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(_("Please give %(label)s as a number.", label=label[:1].lower() + label[1:]),
                           field=field) from None
    if cents < 0:
        raise InvalidInput(_("%(label)s cannot be negative.", label=label), field=field)
    return _within_limits(cents, field=field, label=label, cap=cap)


def _within_limits(cents: int, *, field: str, label: str, cap: int | None) -> int:
    if cap is not None and cents > cap:
        raise InvalidInput(_("%(label)s can be at most %(cap)s (the company's limit).", label=label,
                             cap=format_cents(cap)), field=field)
    if cents >= TOO_LARGE_CENTS:
        raise InvalidInput(_("%(label)s is too large; please check it.", label=label), field=field)
    return cents
