"""Read-only queries behind the manager's pages: the dashboard and the reports.

Each page is a fixed handful of queries whatever the number of disputes: rows are selected with
their joined names in one statement, and the extras a row shows (a pending request for more time,
the team's votes) are counted for the whole page at once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import case, func, literal, or_, select

from ...extensions import db
from ...text import LIKE_ESCAPE, like_pattern
from ...models import Dispute, ExtensionRequest, PanelSeat, Property, Resident, StaffUser, Task, Unit, Vote
from ...workflow.definition import load_definition
from ...workflow.engine import dispute_engine

WORKFLOW = dispute_engine.definition
PAGE_SIZE = 50
MAX_PAGE = 1_000_000  # a page number beyond any real list, read from the address bar

def _deadline_column_for(state: str) -> str | None:
    """The due column of the deadline that comes first in ``state``, read from the workflow's windows.

    A window that must end before another (the team's, before the reply) is the nearer one.
    """
    workflow = load_definition("dispute")
    running = [w for w in workflow.windows.values() if state in w.active_in]
    if not running:
        return None
    ends_first = [w for w in running if w.ends_before and any(o.name == w.ends_before[0] for o in running)]
    return (ends_first or running)[0].due_column


def next_due_expression():
    """SQL for the dispute's nearest running deadline (NULL when none is running)."""
    workflow = load_definition("dispute")
    whens = []
    for state in workflow.states:
        column = _deadline_column_for(state)
        if column:
            whens.append((Dispute.state == state, getattr(Dispute, column)))
    return case(*whens, else_=literal(None)).label("next_due_dt")


def open_states() -> list[str]:
    workflow = load_definition("dispute")
    return [s for s in workflow.states if s not in workflow.terminal]


@dataclass
class DashboardFilters:
    state: str = ""          # a state name, "" for every open dispute, "all" for everything
    property_id: int | None = None
    manager_id: int | None = None
    search: str = ""
    page: int = 1


@dataclass
class DashboardRow:
    dispute: Dispute
    resident_name: str
    unit_label: str | None
    property_name: str | None
    manager_name: str
    next_due_dt: datetime | None
    next_step: str | None = None  # what this row needs now, when more than its state says (else the page's words)
    pending_request: bool = False
    votes_cast: int = 0
    seats: int = 0


@dataclass
class AtAGlance:
    overdue: int = 0
    due_soon: int = 0
    requests: int = 0
    breached: int = 0


def at_a_glance(company_id: int, now: datetime, *, manager_id: int | None = None) -> AtAGlance:
    """The counts at the top of the dashboard: what is late, what is close, who is waiting for an answer."""
    from datetime import timedelta

    next_due = next_due_expression()
    conditions = [Dispute.company_id == company_id, Dispute.state.in_(open_states())]
    if manager_id:
        conditions.append(Dispute.manager_id == manager_id)
    due = select(next_due.label("due"), Dispute.reply_breached_dt).where(*conditions).subquery()
    overdue, soon, breached = db.session.execute(
        select(
            func.count().filter(due.c.due < now),
            func.count().filter(due.c.due >= now, due.c.due < now + timedelta(hours=48)),
            func.count().filter(due.c.reply_breached_dt.is_not(None)),
        ).select_from(due)
    ).one()
    requests = db.session.scalar(
        select(func.count(ExtensionRequest.id)).join(Dispute, Dispute.id == ExtensionRequest.dispute_id)
        .where(*conditions, ExtensionRequest.status == "pending")
    )
    return AtAGlance(overdue=overdue, due_soon=soon, requests=requests, breached=breached)


@dataclass
class DashboardPage:
    rows: list[DashboardRow]
    total: int
    page: int
    pages: int
    filters: DashboardFilters
    counts_by_state: dict[str, int] = field(default_factory=dict)


def deadline_states() -> list[str]:
    """The states with a running deadline: in them, and only in them, a dispute has a next due date."""
    workflow = load_definition("dispute")
    return [state for state in workflow.states if _deadline_column_for(state)]


def dashboard(company_id: int, filters: DashboardFilters) -> DashboardPage:
    """One page of the company's disputes: those with a deadline first, the nearest first; then the
    rest, the newest first.

    The two kinds are paged apart, so a company with years of finished disputes reads only the rows
    of the page it shows: the deadline rows are few (the open ones), and the rest come in the order
    of the (company, created) index.
    """
    conditions = [Dispute.company_id == company_id]
    if filters.state == "all":
        pass
    elif filters.state:
        conditions.append(Dispute.state == filters.state)
    else:
        conditions.append(Dispute.state.in_(open_states()))
    if filters.manager_id:
        conditions.append(Dispute.manager_id == filters.manager_id)
    matching = select(Dispute.id)
    if filters.search:
        matching = matching.join(Resident, Resident.id == Dispute.resident_id)
    if filters.property_id or filters.search:
        matching = matching.outerjoin(Unit, Unit.id == Dispute.unit_id)
    if filters.property_id:
        conditions.append(Unit.property_id == filters.property_id)
    if filters.search:
        pattern = like_pattern(filters.search)
        conditions.append(or_(func.lower(Resident.name).like(pattern, escape=LIKE_ESCAPE),
                              func.lower(Unit.label).like(pattern, escape=LIKE_ESCAPE)))
    matching = matching.where(*conditions)

    with_deadline = Dispute.state.in_(deadline_states())
    counted = matching.with_only_columns(Dispute.id, Dispute.state).subquery()
    total, due_total = db.session.execute(
        select(func.count(), func.count().filter(counted.c.state.in_(deadline_states()))).select_from(counted)
    ).one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, filters.page), pages)
    start = (page - 1) * PAGE_SIZE
    next_due = next_due_expression()
    ids: list[int] = []
    if start < due_total:
        ids += db.session.scalars(
            matching.where(with_deadline).order_by(next_due, Dispute.id).offset(start).limit(PAGE_SIZE)
        ).all()
    if len(ids) < PAGE_SIZE and total > due_total:
        ids += db.session.scalars(
            matching.where(~with_deadline).order_by(Dispute.created_dt.desc(), Dispute.id.desc())
            .offset(max(0, start - due_total)).limit(PAGE_SIZE - len(ids))
        ).all()
    found = {}
    if ids:
        found = {
            d.id: (d, r, u, p, m, due)
            for d, r, u, p, m, due in db.session.execute(
                select(Dispute, Resident.name, Unit.label, Property.name, StaffUser.name, next_due)
                .join(Resident, Resident.id == Dispute.resident_id)
                .join(StaffUser, StaffUser.id == Dispute.manager_id)
                .outerjoin(Unit, Unit.id == Dispute.unit_id)
                .outerjoin(Property, Property.id == Unit.property_id)
                .where(Dispute.id.in_(ids))
            )
        }
    rows = [
        DashboardRow(dispute=d, resident_name=r, unit_label=u, property_name=p, manager_name=m,
                     next_due_dt=due)
        for d, r, u, p, m, due in (found[i] for i in ids)
    ]
    _add_page_extras(rows)
    counts = dict(
        db.session.execute(
            select(Dispute.state, func.count()).where(Dispute.company_id == company_id).group_by(Dispute.state)
        ).all()
    )
    return DashboardPage(rows=rows, total=total, page=page, pages=pages, filters=filters, counts_by_state=counts)


def _add_page_extras(rows: list[DashboardRow]) -> None:
    """Open tasks, requests for more time and the team's progress, for the whole page in three queries."""
    ids = [row.dispute.id for row in rows]
    if not ids:
        return
    pending = set(
        db.session.scalars(
            select(ExtensionRequest.dispute_id).where(
                ExtensionRequest.dispute_id.in_(ids), ExtensionRequest.status == "pending"
            )
        )
    )
    tasks = {}
    for dispute_id, title in db.session.execute(
        select(Task.dispute_id, Task.title).where(Task.dispute_id.in_(ids), Task.done_dt.is_(None))
        .order_by(Task.due_dt.is_(None), Task.due_dt, Task.id)
    ):
        tasks.setdefault(dispute_id, title)
    panel_ids = [row.dispute.id for row in rows if row.dispute.state in WORKFLOW.windows["panel"].active_in]
    progress = {}
    if panel_ids:
        progress = {
            dispute_id: (seats, votes)
            for dispute_id, seats, votes in db.session.execute(
                select(PanelSeat.dispute_id, func.count(PanelSeat.id), func.count(Vote.id))
                .outerjoin(Vote, Vote.seat_id == PanelSeat.id)
                .where(PanelSeat.dispute_id.in_(panel_ids), PanelSeat.recused_dt.is_(None))
                .group_by(PanelSeat.dispute_id)
            )
        }
    for row in rows:
        if row.dispute.id in tasks:
            row.next_step = _("To do: %(task)s", task=tasks[row.dispute.id])
        if row.dispute.id in pending:
            row.pending_request = True
            row.next_step = _("The resident asks for more time: answer")
        if row.dispute.id in progress:
            row.seats, row.votes_cast = progress[row.dispute.id]
            row.next_step = _("The team is reviewing (%(voted)s of %(seated)s voted)", voted=row.votes_cast,
                              seated=row.seats)


def properties_of(company_id: int) -> list[Property]:
    return list(db.session.scalars(select(Property).where(Property.company_id == company_id).order_by(Property.name)))


def staff_of(company_id: int, *, active_only: bool = True) -> list[StaffUser]:
    query = select(StaffUser).where(StaffUser.company_id == company_id)
    if active_only:
        query = query.where(StaffUser.is_active.is_(True))
    return list(db.session.scalars(query.order_by(StaffUser.name)))
