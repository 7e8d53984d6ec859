"""Reports: how the resolution-team process is going, as server-drawn SVG charts with CSV exports.

Each report reads what it needs for the period in one query and counts in Python, so a page is a
handful of queries however many disputes there are. The database puts each date in its month and
measures each duration, so a report fetches short texts and numbers, not thousands of dates. Every
report is about the disputes written up in the period: each query starts from the company's disputes
created since its first day (an index on company and creation time), so a company with years of
history reads only the last months' rows.
"""
from __future__ import annotations

import csv
import io
from bisect import bisect_right
from collections import Counter
from statistics import median

from flask import Response, g, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import and_, func, or_, select

from ...errors import NotFound
from ...extensions import db
from ...models import Dispute, Letter, PanelSeat, Vote
from ...text import ascii_whole_number
from ...workflow.definition import Decision
from ...workflow.engine import dispute_engine
from . import blueprint
from .charts import bars, columns
from .report_parts import Period, Report, hours_between, last_months, plain_rows
from .report_parts import month_label as _label
from .staff_reports import first_response, first_response_dt, lessons_learned

WORKFLOW = dispute_engine.definition
# How a dispute written up in the period ended (or not): a decision, or one of the ends without one.
OUTCOMES = {Decision.UPHOLD: _l("Company upheld"), Decision.COMPROMISE: _l("Compromise"),
            Decision.RESIDENT: _l("Resident granted"), "withdrawal": _l("Withdrawn"), "no_reply": _l("Lapsed"),
            "open": _l("Still open")}
RESPONSE_BUCKETS = [(1, _l("under 1 hour")), (6, _l("1–6 hours")), (24, _l("6–24 hours")), (72, _l("1–3 days")),
                    (None, _l("over 3 days"))]
PERIODS = {3: _l("the last 3 months"), 6: _l("the last 6 months"), 12: _l("the last 12 months"),
           24: _l("the last 24 months")}


def _money(cents: int) -> str:
    return f"{cents / 100:.2f}"


def build_reports(company, months: int) -> list[Report]:
    period = last_months(company, months)
    disputes = plain_rows(
        select(period.month(Dispute.created_dt).label("created_month"),
               period.month(Dispute.opened_dt).label("opened_month"),
               period.month(Dispute.evidence_received_dt).label("arrived_month"),
               period.month(Dispute.outcome_sent_dt).label("letter_month"),
               Dispute.state, Dispute.decision, Dispute.category,
               Dispute.lapsed_dt.is_not(None).label("ran_out"),  # the resident's time ran out without their side
               Dispute.evidence_received_dt.is_not(None).label("side_received"),
               (hours_between(Dispute.opened_dt, Dispute.outcome_sent_dt) / 24.0).label("days_to_letter"),
               _reply_settled().label("reply_settled"), _reply_late().label("reply_late"),
               _reply_moved().label("reply_moved"),
               hours_between(Dispute.evidence_received_dt, first_response_dt()).label("hours_to_response"))
        .where(Dispute.company_id == company.id, Dispute.created_dt >= period.since)
    )
    return [
        _by_month_and_outcome(period, disputes),
        _time_to_letter(period, disputes),
        _replies_in_time(company, period, disputes),
        _evidence_vs_lapsed(period, disputes),
        _offers(company, period),
        _panel_response(company, period.since),
        first_response(period, disputes),
        _categories(company, period, disputes),
        lessons_learned(company, period.since),
    ]


def _outcome_of(row) -> str:
    if row.decision:
        return row.decision
    if row.state == WORKFLOW.state_of("withdraw"):
        return "withdrawal"
    if row.ran_out:
        return "no_reply"
    return "open"


def _by_month_and_outcome(period: Period, disputes) -> Report:
    keys = period.keys
    counts = {key: {outcome: 0 for outcome in OUTCOMES} for key in keys}
    for row in disputes:
        if row.created_month:
            counts[row.created_month][_outcome_of(row)] += 1
    report = Report("by-month", _("Disputes by month and outcome"),
                    ngettext("%(num)d dispute written up in the period.", "%(num)d disputes written up in the period.",
                             sum(sum(c.values()) for c in counts.values())),
                    [_("month"), *map(str, OUTCOMES.values()), _("total")])
    report.rows = [[key, *counts[key].values(), sum(counts[key].values())] for key in keys]
    report.chart = columns([_label(k) for k in keys],
                           {str(OUTCOMES[o]): [counts[k][o] for k in keys] for o in OUTCOMES}, title=report.title)
    return report


def _time_to_letter(period: Period, disputes) -> Report:
    keys = period.keys
    days = {key: [] for key in keys}
    for row in disputes:
        if row.letter_month and row.days_to_letter is not None:
            days[row.letter_month].append(row.days_to_letter)
    everything = [d for values in days.values() for d in values]
    overall = ngettext("Median %(median)s days over %(num)d letter.", "Median %(median)s days over %(num)d letters.",
                       len(everything), median=f"{median(everything):.1f}") if everything else \
        _("No letter was sent in the period.")
    report = Report("time-to-letter", _("Days from opening to the letter"), overall,
                    [_("month letter sent"), _("letters"), _("median days"), _("longest days")])
    report.rows = [[k, len(days[k]), round(median(days[k]), 1) if days[k] else "",
                    round(max(days[k]), 1) if days[k] else ""] for k in keys]
    report.chart = columns([_label(k) for k in keys], {_("median days"): [round(median(days[k]), 1) if days[k] else 0
                                                                        for k in keys]},
                           title=report.title, unit="")
    return report


def _reply_settled():
    """SQL: the written reply went, or its date passed without it."""
    return or_(Dispute.outcome_sent_dt.is_not(None), Dispute.reply_breached_dt.is_not(None))


def _reply_late():
    """SQL: late against the date first promised the resident, however far the working date was moved."""
    promised = func.coalesce(Dispute.reply_promised_dt, Dispute.reply_due_dt)
    return or_(Dispute.reply_breached_dt.is_not(None),
               and_(Dispute.outcome_sent_dt.is_not(None), Dispute.outcome_sent_dt > promised))


def _reply_moved():
    """SQL: the reply's date was moved later than the one first promised."""
    return and_(Dispute.reply_promised_dt.is_not(None), Dispute.reply_due_dt > Dispute.reply_promised_dt)


def _replies_in_time(company, period: Period, disputes) -> Report:
    keys = period.keys
    tally = {key: {"in time": 0, "late": 0, "moved": 0} for key in keys}
    for row in disputes:
        key = row.arrived_month
        if key is None or not row.reply_settled:
            continue
        tally[key]["late" if row.reply_late else "in time"] += 1
        if row.reply_moved:
            tally[key]["moved"] += 1
    done = sum(t["in time"] + t["late"] for t in tally.values())
    in_time = sum(t["in time"] for t in tally.values())
    moved = sum(t["moved"] for t in tally.values())
    summary = _replies_summary(company, done, in_time, moved) if done else \
        _("No written reply is due or sent in the period yet.")
    report = Report("replies-in-time", _("Written replies inside the reply window"), summary,
                    [_("month evidence arrived"), _("in time"), _("late"), _("share in time %"), _("date moved")],
                    note=_("Each reply is counted against the date first promised the resident, %(days)s days from "
                           "receiving their side, even when its date was moved later. The 'date moved' column "
                           "counts those replies, in time or late.", days=company.reply_window_days))
    report.rows = [[k, t["in time"], t["late"],
                    round(100 * t["in time"] / (t["in time"] + t["late"])) if t["in time"] + t["late"] else "",
                    t["moved"]]
                   for k, t in tally.items()]
    report.chart = columns([_label(k) for k in keys], {_("in time"): [tally[k]["in time"] for k in keys],
                                                       _("late"): [tally[k]["late"] for k in keys]}, title=report.title)
    return report


def _replies_summary(company, done: int, in_time: int, moved: int) -> str:
    """The share of written replies sent inside the window, and how many had their date moved."""
    words = {"share": round(100 * in_time / done), "days": company.reply_window_days, "moved": moved}
    if moved:
        return ngettext("%(share)s%% of %(num)d written reply went inside the reply window (%(days)s days); "
                        "%(moved)s had their date moved.",
                        "%(share)s%% of %(num)d written replies went inside the reply window (%(days)s days); "
                        "%(moved)s had their date moved.", done, **words)
    return ngettext("%(share)s%% of %(num)d written reply went inside the reply window (%(days)s days).",
                    "%(share)s%% of %(num)d written replies went inside the reply window (%(days)s days).",
                    done, **words)


def _evidence_vs_lapsed(period: Period, disputes) -> Report:
    keys = period.keys
    tally = {key: {"received": 0, "no_reply": 0} for key in keys}
    for row in disputes:
        key = row.opened_month
        if key is None:
            continue
        if row.side_received:
            tally[key]["received"] += 1
        elif row.ran_out:
            tally[key]["no_reply"] += 1
    received = sum(t["received"] for t in tally.values())
    lapsed = sum(t["no_reply"] for t in tally.values())
    report = Report("evidence", _("Residents' sides received vs lapsed"),
                    _("%(received)s received, %(lapsed)s lapsed without a reply.", received=received, lapsed=lapsed),
                    [_("month opened"), _("received"), _("lapsed without a reply")])
    report.rows = [[k, t["received"], t["no_reply"]] for k, t in tally.items()]
    report.chart = columns([_label(k) for k in keys], {_("received"): [tally[k]["received"] for k in keys],
                                                       _("lapsed without a reply"): [tally[k]["no_reply"] for k in keys]},
                           title=report.title)
    return report


def _offers(company, period: Period) -> Report:
    keys, since = period.keys, period.since
    letters = plain_rows(
        select(Letter.dispute_id, Letter.version, period.month(Letter.sent_dt).label("month"), Letter.token_cents,
               Letter.concession_cents, Letter.offer_response)
        .join(Dispute, Dispute.id == Letter.dispute_id)
        .where(Dispute.company_id == company.id, Dispute.created_dt >= since, Letter.sent_dt.is_not(None),
               Letter.sent_dt >= since)
    )
    latest = {}
    for letter in letters:  # a correction replaces the offer of the letter it corrects
        if letter.dispute_id not in latest or letter.version > latest[letter.dispute_id].version:
            latest[letter.dispute_id] = letter
    tally = {key: {"tokens": 0, "token_cents": 0, "concessions": 0, "concession_cents": 0, "accepted": 0}
             for key in keys}
    for letter in latest.values():
        key = letter.month
        if key is None:
            continue
        if letter.token_cents:
            tally[key]["tokens"] += 1
            tally[key]["token_cents"] += letter.token_cents
        if letter.concession_cents:
            tally[key]["concessions"] += 1
            tally[key]["concession_cents"] += letter.concession_cents
        if letter.offer_response == "accepted":
            tally[key]["accepted"] += 1
    total = {name: sum(t[name] for t in tally.values()) for name in next(iter(tally.values()))}
    report = Report(
        "offers", _("Tokens and concessions offered"),
        _("%(tokens)s (%(tokens_total)s) and %(concessions)s (%(concessions_total)s) offered; %(accepted)s accepted.",
          tokens=ngettext("%(num)d token", "%(num)d tokens", total["tokens"]),
          tokens_total=f"${total['token_cents'] / 100:,.2f}",
          concessions=ngettext("%(num)d concession", "%(num)d concessions", total["concessions"]),
          concessions_total=f"${total['concession_cents'] / 100:,.2f}",
          accepted=ngettext("%(num)d offer", "%(num)d offers", total["accepted"])),
        [_("month letter sent"), _("tokens"), _("tokens total $"), _("concessions"), _("concessions total $"),
         _("offers accepted")])
    report.rows = [[k, t["tokens"], _money(t["token_cents"]), t["concessions"], _money(t["concession_cents"]),
                    t["accepted"]] for k, t in tally.items()]
    report.chart = columns([_label(k) for k in keys], {
        _("tokens $"): [tally[k]["token_cents"] / 100 for k in keys],
        _("concessions $"): [tally[k]["concession_cents"] / 100 for k in keys]}, title=report.title)
    return report


def _panel_response(company, since) -> Report:
    hours = db.session.scalars(
        select(hours_between(PanelSeat.invited_dt, Vote.cast_dt)).select_from(PanelSeat)
        .join(Vote, Vote.seat_id == PanelSeat.id)
        .join(Dispute, Dispute.id == PanelSeat.dispute_id)
        .where(Dispute.company_id == company.id, Dispute.created_dt >= since, PanelSeat.invited_dt.is_not(None),
               PanelSeat.invited_dt >= since)
    ).all()
    limits = [limit for limit, _label in RESPONSE_BUCKETS if limit is not None]
    in_bucket = Counter(bisect_right(limits, h) for h in hours)  # the first bucket whose limit is above h
    counts = {str(label): in_bucket[n] for n, (_limit, label) in enumerate(RESPONSE_BUCKETS)}
    summary = (ngettext("Median %(median)s hours from invitation to vote, over %(num)d vote.",
                        "Median %(median)s hours from invitation to vote, over %(num)d votes.",
                        len(hours), median=f"{median(hours):.1f}") if hours
               else _("No team votes in the period."))
    report = Report("panel-response", _("How fast team members vote"), summary, [_("time to vote"), _("votes")])
    report.rows = [[label, n] for label, n in counts.items()]
    report.chart = bars(list(counts.items()), title=report.title)
    return report


def _categories(company, period: Period, disputes) -> Report:
    """Disputes counted by their category's name, as the company words it (text typed before
    categories existed counts with the category it names, else with "other")."""
    from ...services.categories import all_categories, category_among

    typed = Counter(row.category for row in disputes if row.created_month)
    known = all_categories(company)
    counts: dict[str, int] = {}
    for category, disputes_typed in typed.items():  # each text named once, however many disputes have it
        name = category_among(known, category).label if category else _("(no category)")
        counts[name] = counts.get(name, 0) + disputes_typed
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    report = Report("categories", _("Most common categories"),
                    ngettext("%(num)d category; the top ones are worth a training session.",
                             "%(num)d categories; the top ones are worth a training session.", len(counts))
                    if counts
                    else _("No disputes in the period."), [_("category"), _("disputes")])
    report.rows = [[name, n] for name, n in top]
    report.chart = bars(top[:12], title=report.title)
    return report


def _period() -> int:
    months = ascii_whole_number(request.args.get("months"))
    return months if months in PERIODS else 12


@blueprint.get("/reports")
def reports():
    months = _period()
    return render_template("manager/reports.html", reports=build_reports(g.company, months), months=months,
                           periods=PERIODS, company=g.company)


@blueprint.get("/reports/<slug>.csv")
def report_csv(slug: str):
    months = _period()
    report = next((r for r in build_reports(g.company, months) if r.slug == slug), None)
    if report is None:
        raise NotFound(_("There is no report called %(slug)s.", slug=repr(slug)))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(report.header)
    for row in report.rows:
        # A cell a spreadsheet would run as a formula is written as text.
        writer.writerow([f"'{v}" if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v for v in row])
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{g.company.slug}-{slug}-{months}m.csv"',
    })
