"""The reports about what the company's own people did: how soon a manager acted once the resident's
side arrived, and what the company learned from the disputes it closed (for training)."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from ...extensions import db
from ...models import AuditEvent, Dispute
from ...services.categories import all_categories, category_among
from ...workdays import local
from .charts import columns
from .report_parts import Link, Period, Report, median_and_90th, month_label

def first_response_dt():
    """SQL for when a staff member first recorded a step in a dispute's history after the resident's
    side arrived (its first submit_evidence event), asked of each dispute on its own: a few entries
    of two small indexes, however long the company's history. History ids keep the order of what
    happened, also when two steps share a moment."""
    arrival = aliased(AuditEvent)
    arrival_id = (select(func.min(arrival.id))
                  .where(arrival.dispute_id == Dispute.id, arrival.action == "submit_evidence")
                  .correlate(Dispute).scalar_subquery())
    return (select(func.min(AuditEvent.occurred_dt))
            .where(AuditEvent.dispute_id == Dispute.id, AuditEvent.actor_kind == "staff", AuditEvent.id > arrival_id)
            .scalar_subquery())


def first_response(period: Period, disputes) -> Report:
    """Per month the resident's side arrived: how many, how many a manager has acted on, and the median
    and 90th percentile hours to that first action (each dispute's ``hours_to_response``, from
    ``first_response_dt``)."""
    keys = period.keys
    hours = {key: [] for key in keys}
    waiting = {key: 0 for key in keys}
    for row in disputes:
        key = row.arrived_month
        if key is None:
            continue
        if row.hours_to_response is None:
            waiting[key] += 1
        else:
            hours[key].append(row.hours_to_response)
    every = [h for values in hours.values() for h in values]
    overall = median_and_90th(every)
    summary = (ngettext("Median %(median)s hours from the resident's side arriving to the first response "
                        "(90%% within %(ninetieth)s hours), over %(num)d dispute.",
                        "Median %(median)s hours from the resident's side arriving to the first response "
                        "(90%% within %(ninetieth)s hours), over %(num)d disputes.",
                        len(every), median=f"{overall[0]:.1f}", ninetieth=f"{overall[1]:.1f}")
               if overall else _("No response to a resident's side in the period yet."))
    waiting_now = sum(waiting.values())
    if waiting_now:
        summary += " " + ngettext("%(num)d side still without a response.",
                                  "%(num)d sides still without a response.", waiting_now)
    report = Report("first-response", _("Time to first response"), summary,
                    [_("month side arrived"), _("sides received"), _("responded"), _("median hours"),
                     _("90th percentile hours")],
                    note=_("Time to first response runs from the moment the resident's side arrived to the next "
                           "step a staff member recorded in the dispute's history (choosing the team, moving a "
                           "date, a decision, a letter...). Reading the dispute is not a step, and reminders and "
                           "other automatic steps do not count."))
    for key in keys:
        spread = median_and_90th(hours[key])
        report.rows.append([key, len(hours[key]) + waiting[key], len(hours[key]),
                            round(spread[0], 1) if spread else "", round(spread[1], 1) if spread else ""])
    report.chart = columns([month_label(k) for k in keys],
                           {_("median hours"): [row[3] or 0 for row in report.rows]}, title=report.title, unit="")
    return report


def lessons_learned(company, since) -> Report:
    """What the company learned from each dispute it closed in the period, by category, newest first."""
    closed = db.session.scalars(
        select(Dispute)
        .where(Dispute.company_id == company.id, Dispute.closed_dt >= since, Dispute.lessons_learned != "")
        .order_by(Dispute.closed_dt.desc(), Dispute.id.desc())
    ).all()
    known = all_categories(company)  # read once, however many lessons there are
    by_category: dict[str, list[Dispute]] = {}
    for dispute in closed:
        by_category.setdefault(category_among(known, dispute.category).label, []).append(dispute)
    report = Report(
        "training", _("Lessons learned, for training"),
        ngettext("%(num)d lesson recorded on closing, in %(categories)s.",
                 "%(num)d lessons recorded on closing, in %(categories)s.", len(closed),
                 categories=ngettext("%(num)d category", "%(num)d categories", len(by_category))) if closed
        else _("No lesson was recorded on closing a dispute in the period."),
        [_("category"), _("closed on"), _("dispute"), _("what we learned")],
        note=_("What the manager wrote under \u201cWhat did we learn?\u201d when closing a dispute; the newest "
               "first in each category."), is_list=True)
    for label in sorted(by_category, key=str.casefold):
        for dispute in by_category[label]:
            report.rows.append([label, local(dispute.closed_dt, company).date().isoformat(), _link(dispute),
                                dispute.lessons_learned])
    return report


def _link(dispute: Dispute) -> Link:
    return Link(f"#{dispute.id}", url_for("manager.dispute_page", dispute_id=dispute.id),
                url_for("manager.dispute_page", dispute_id=dispute.id, _external=True))
