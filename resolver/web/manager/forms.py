"""Reading the manager's forms: amounts, dates and ids, each refused with a message that says what to fix."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

from ...errors import InvalidInput
from ...workdays import END_OF_DAY, local_zone

# The largest id a row can have (a 32-bit integer column on PostgreSQL): anything above names no row.
MAX_ID = 2**31 - 1


def has_id_beyond_range(view_args: dict | None) -> bool:
    """Whether a URL carries an id too large to name any row (the database would refuse to look)."""
    return any(isinstance(value, int) and value > MAX_ID for value in (view_args or {}).values())


_AMOUNT = re.compile(r"^\$?\s*(\d{1,3}(,\d{3})+|\d+)(\.(\d{1,2}))?$")


def parse_amount(raw: str | None, *, field: str, label: str = "The amount") -> int | None:
    """'$1,250.50' -> 125050 cents; blank -> None."""
    text = (raw or "").strip()
    if not text:
        return None
    if text.startswith("-"):
        raise InvalidInput(f"{label} cannot be negative.", field=field)
    match = _AMOUNT.match(text)
    if not match:
        raise InvalidInput(f"{label} should be written like 150 or 150.00 (dollars and cents).", field=field)
    dollars = int(match.group(1).replace(",", ""))
    cents = int((match.group(4) or "0").ljust(2, "0"))
    if dollars > 10_000_000:
        raise InvalidInput(f"{label} is too large.", field=field)
    return dollars * 100 + cents


def parse_day(raw: str | None, company, *, field: str) -> datetime:
    """A date picked in the company's time zone -> the end of that day, as UTC."""
    text = (raw or "").strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("Pick a date (for example 2026-03-20).", field=field) from None
    return datetime.combine(day, END_OF_DAY, tzinfo=local_zone(company)).astimezone(timezone.utc)


def parse_id(raw: str | None, *, field: str, label: str) -> int | None:
    text = (raw or "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 12 or int(text) > MAX_ID:
        raise InvalidInput(f"Choose {label} from the list.", field=field)
    return int(text)


def parse_version(raw: str | None) -> int | None:
    text = (raw or "").strip()
    if not text:
        raise InvalidInput("This form is missing its version. Reload the page and try again.", field="expected_version")
    if not text.isdigit():
        raise InvalidInput("This form's version is not a number. Reload the page and try again.",
                           field="expected_version")
    return int(text)


def text(form, name: str, *, limit: int = 20_000) -> str:
    value = (form.get(name) or "").strip()
    if len(value) > limit:
        raise InvalidInput(f"Please keep this under {limit:,} characters.", field=name)
    return value
