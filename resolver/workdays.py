"""Counting days the way the company does: calendar days, or business days without its holidays.

A window of N days ends at the last minute of the Nth day in the company's time zone, so the
resident reads "by 11:59 PM on Friday 14 March" rather than an odd time of day.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from flask_babel import gettext

from .i18n import current_language, format_locale
from .languages import DEFAULT_LANGUAGE

END_OF_DAY = time(23, 59, 59)


def local_zone(company) -> ZoneInfo:
    return ZoneInfo(company.time_zone or "UTC")


def is_business_day(day: date, holidays: set[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_days(start: datetime, days: int, company) -> datetime:
    """The end of the ``days``-th (calendar or business) day after ``start``, as UTC."""
    zone = local_zone(company)
    day = start.astimezone(zone).date()
    if company.is_business_days:
        holidays = {date.fromisoformat(d) for d in (company.holidays or [])}
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if is_business_day(day, holidays):
                counted += 1
    else:
        day += timedelta(days=days)
    return datetime.combine(day, END_OF_DAY, tzinfo=zone).astimezone(timezone.utc)


def local(value: datetime, company) -> datetime:
    return value.astimezone(local_zone(company))


def format_day(value: datetime, company) -> str:
    """'Friday 14 March 2026'."""
    return day_words(local(value, company).date())


def day_words(day: date) -> str:
    """'Friday 14 March 2026': a day as the company writes one ('sábado, 14 de marzo de 2026' in
    Spanish: each language's own way, from Babel)."""
    if current_language() == DEFAULT_LANGUAGE:
        return f"{day:%A} {day.day} {day:%B %Y}"
    return babel_dates.format_date(day, "full", locale=format_locale())


def format_date(day: date) -> str:
    """A day named without its time zone, as people say it: '3 March' (a call was held that day)."""
    if current_language() == DEFAULT_LANGUAGE:
        return f"{day.day} {day:%B}"
    return babel_dates.format_skeleton("MMMMd", day, locale=format_locale())


def format_moment(value: datetime, company) -> str:
    """'11:59 PM on Friday 14 March 2026 (America/Denver)'."""
    moment = local(value, company)
    if current_language() == DEFAULT_LANGUAGE:
        clock = moment.strftime("%I:%M %p").lstrip("0")
    else:
        clock = babel_dates.format_time(moment, "short", locale=format_locale())
    return gettext("%(time)s on %(day)s (%(zone)s)", time=clock, day=format_day(value, company),
                   zone=company.time_zone)
