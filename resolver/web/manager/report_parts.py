"""What every report is made of: the report itself (a table, a chart, a summary), a link in a cell,
the months a report counts in, in the company's time zone, and the SQL that puts a date in its month
or measures the time between two."""
from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from statistics import median, quantiles

from babel import dates as babel_dates
from markupsafe import Markup
from sqlalchemy import Float, case, cast, func, literal

from ...clock import now_utc
from ...extensions import db
from ...i18n import current_language, format_locale
from ...languages import DEFAULT_LANGUAGE
from ...workdays import local, local_zone


@dataclass
class Report:
    slug: str
    title: str
    summary: str
    header: list[str]
    rows: list[list] = field(default_factory=list)
    chart: Markup = Markup("")
    note: str = ""          # how the numbers are counted, said under the summary
    is_list: bool = False   # a list to read (shown open), rather than the numbers behind a chart


@dataclass(frozen=True)
class Link:
    """A cell that links to a page: the page shows ``text`` linking to ``path``; the CSV has ``url``."""

    text: str
    path: str
    url: str

    def __str__(self) -> str:
        return self.url


def months_back(company, count: int) -> list[str]:
    """The last ``count`` months, oldest first, as 'YYYY-MM' in the company's time zone."""
    today = local(now_utc(), company)
    year, month = today.year, today.month
    keys = []
    for _ in range(count):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return keys[::-1]


@dataclass(frozen=True)
class Period:
    """The months a report counts in, oldest first ('YYYY-MM' in the company's time zone), with the
    moment each began and the moment the next one begins after the last."""

    keys: list[str]
    starts: list[datetime]
    since: datetime  # what the reports read from: a day before the first month, on the company's clock

    def month(self, column):
        """SQL for the month of the period a date column falls in ('YYYY-MM'), NULL outside it: the
        database sorts each row's dates into months, so a report fetches short texts, not dates."""
        starts = self.starts
        return case((column < starts[0], None),
                    *((column < start, literal(key)) for key, start in zip(self.keys, starts[1:])),
                    else_=None)


def last_months(company, count: int) -> Period:
    """The last ``count`` months, this one included, in the company's time zone."""
    keys = months_back(company, count)
    zone = local_zone(company)
    starts = [datetime.strptime(key, "%Y-%m").replace(tzinfo=zone) for key in keys]
    last = starts[-1]
    after = last.replace(year=last.year + last.month // 12, month=last.month % 12 + 1)
    return Period(keys, [start.astimezone(timezone.utc) for start in [*starts, after]], starts[0] - timedelta(days=1))


def plain_rows(statement) -> list:
    """The statement's rows as plain named tuples. A report reads each of thousands of rows several
    times, and a named tuple gives a column by name about five times faster than SQLAlchemy's Row
    (which looks the name up on every read)."""
    result = db.session.execute(statement)
    row = namedtuple("ReportRow", result.keys())
    return [row._make(values) for values in result]


def hours_between(start, end):
    """SQL for the hours from ``start`` to ``end`` (NULL when either is), worked out by the database:
    a number per row is much cheaper to fetch than two dates."""
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(func.extract("epoch", end - start), Float) / 3600.0
    return (func.julianday(end) - func.julianday(start)) * 24.0


def month_label(key: str) -> str:
    """'Mar 2026' under a chart's column, in the page's language."""
    month = datetime.strptime(key, "%Y-%m")
    if current_language() == DEFAULT_LANGUAGE:
        return month.strftime("%b %Y")
    return babel_dates.format_skeleton("yMMM", month, locale=format_locale())


def median_and_90th(values: list[float]) -> tuple[float, float] | None:
    """The median and the 90th percentile (between the values, as a spreadsheet's PERCENTILE does)."""
    if not values:
        return None
    if len(values) == 1:
        return values[0], values[0]
    return median(values), quantiles(values, n=10, method="inclusive")[8]
