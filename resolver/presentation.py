"""Jinja filters and globals shared by pages, emails and letters: dates in the company's zone, money."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask
from flask_babel import gettext, ngettext

from .clock import instance_offset, now_utc
from .links import email_url
from .money import format_cents as money
from .workdays import format_date, format_day, format_moment, local

__all__ = ["by_post_note", "duration_words", "init_app", "money", "time_left"]


def time_left(due: datetime | None, now: datetime | None = None) -> str:
    """'due in 2 days', 'due in 5 hours', 'overdue by 1 day'."""
    if due is None:
        return ""
    now = now or now_utc()
    seconds = (due - now).total_seconds()
    hours = abs(seconds) / 3600
    if hours < 36:
        if seconds >= 0:
            return ngettext("due in %(num)d hour", "due in %(num)d hours", round(hours))
        return ngettext("overdue by %(num)d hour", "overdue by %(num)d hours", round(hours))
    if seconds >= 0:
        return ngettext("due in %(num)d day", "due in %(num)d days", round(hours / 24))
    return ngettext("overdue by %(num)d day", "overdue by %(num)d days", round(hours / 24))


def duration_words(delta: timedelta) -> str:
    """'6 days', '2 days 3 hours', '45 minutes'."""
    days, rest = divmod(round(delta.total_seconds()), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [ngettext("%(num)d day", "%(num)d days", days) if days else "",
             ngettext("%(num)d hour", "%(num)d hours", hours) if hours else "",
             ngettext("%(num)d minute", "%(num)d minutes", minutes) if minutes else ""]
    return " ".join(filter(None, parts)) or gettext("less than a minute")


def by_post_note(submission, company) -> str:
    """'entered by Dana Whitfield from a letter received on Tuesday 3 March 2026' for a side that came
    by post and was typed in by staff; empty for one sent through the form."""
    if submission is None or not submission.is_by_post:
        return ""
    return (f"entered by {submission.entered_by.name} from a letter received on "
            f"{format_day(submission.received_dt, company)}")


def init_app(app: Flask) -> None:
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["day"] = lambda value, company: format_day(value, company) if value else ""
    app.jinja_env.filters["date"] = lambda value: format_date(value) if value else ""
    app.jinja_env.filters["moment"] = lambda value, company: format_moment(value, company) if value else ""
    app.jinja_env.filters["local"] = lambda value, company: local(value, company) if value else None
    app.jinja_env.filters["time_left"] = time_left
    app.jinja_env.filters["by_post"] = by_post_note
    app.jinja_env.globals["now_utc"] = now_utc
    app.jinja_env.globals["clock_ahead"] = instance_offset  # a demo's clock moved forward (resolver tick --as-of)
    app.jinja_env.filters["duration"] = duration_words
    app.jinja_env.globals["email_url"] = email_url  # links in emails: relative to the public address
