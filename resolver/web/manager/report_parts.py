"""What every report is made of: the report itself (a table, a chart, a summary), a link in a cell,
and the months a report counts in, in the company's time zone."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from statistics import median, quantiles

from babel import dates as babel_dates
from markupsafe import Markup

from ...clock import now_utc
from ...i18n import current_language, format_locale
from ...languages import DEFAULT_LANGUAGE
from ...workdays import local


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


def month_of(value: datetime | None, company) -> str | None:
    if not value:
        return None
    moment = local(value, company)  # called for every date of every row: no strftime
    return f"{moment.year:04d}-{moment.month:02d}"


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
