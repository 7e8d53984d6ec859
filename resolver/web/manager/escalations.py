"""What waits for a supervisor on the dashboard: the escalations that reach them by email too, a
resident's request to look again, a split team and a written reply at risk or past its deadline.

Which states and moments count is read from the workflow: the split team is where ``deadlock``
leads, the reply's window says where it runs, and "at risk" starts when its reminder to the
supervisor goes out.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select

from ...extensions import db
from ...models import Dispute, LadderRequest, Resident, StaffUser
from ...workflow.engine import dispute_engine

WORKFLOW = dispute_engine.definition
LIMIT = 200  # a supervisor with more than this waiting needs the reports, not a longer list


@dataclass
class Escalation:
    dispute_id: int
    resident_name: str
    manager_name: str
    state_label: str
    reply_due_dt: datetime | None


@dataclass
class LadderEscalation:
    """A resident's open request that the supervisor look again, with when it is due."""

    request_id: int
    dispute_id: int
    resident_name: str
    manager_name: str
    message: str
    asked_dt: datetime
    due_dt: datetime
    is_overdue: bool
    is_due_soon: bool  # within the same warning time as a written reply at risk


@dataclass
class Escalations:
    ladder: list[LadderEscalation] = field(default_factory=list)
    deadlocked: list[Escalation] = field(default_factory=list)
    breached: list[Escalation] = field(default_factory=list)
    at_risk: list[Escalation] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.ladder) + len(self.deadlocked) + len(self.breached) + len(self.at_risk)


def at_risk_lead() -> timedelta:
    """How long before the reply's deadline the supervisor is warned (the workflow's reminder to them)."""
    reply = WORKFLOW.windows["reply"]
    return max((r.before for r in reply.reminders if r.to == "supervisor"), default=timedelta(days=1))


def escalations_for(company_id: int, now: datetime) -> Escalations:
    """The company's disputes that wait on someone up the ladder: split teams, and replies that are
    due within the warning time or already late (recorded as breached or not yet swept)."""
    reply = WORKFLOW.windows["reply"]
    split = WORKFLOW.state_of("deadlock")
    late_or_close = or_(Dispute.reply_breached_dt.is_not(None), Dispute.reply_due_dt < now + at_risk_lead())
    rows = db.session.execute(
        select(Dispute.id, Dispute.state, Dispute.reply_due_dt, Dispute.reply_breached_dt, Resident.name,
               StaffUser.name)
        .join(Resident, Resident.id == Dispute.resident_id)
        .join(StaffUser, StaffUser.id == Dispute.manager_id)
        .where(Dispute.company_id == company_id,
               or_(Dispute.state == split, and_(Dispute.state.in_(reply.active_in), late_or_close)))
        .order_by(Dispute.reply_due_dt.is_(None), Dispute.reply_due_dt, Dispute.id)
        .limit(LIMIT)
    ).all()
    found = Escalations(ladder=ladder_requests_waiting(company_id, now))
    # Each dispute is listed once, under its most pressing reason: a late reply, a split team, a reply at risk.
    for dispute_id, state, due, breached_dt, resident_name, manager_name in rows:
        item = Escalation(dispute_id, resident_name, manager_name, WORKFLOW.label(state), due)
        if state in reply.active_in and (breached_dt is not None or (due is not None and due <= now)):
            found.breached.append(item)
        elif state == split:
            found.deadlocked.append(item)
        elif state in reply.active_in and due is not None:
            found.at_risk.append(item)
    return found


def ladder_requests_waiting(company_id: int, now: datetime) -> list[LadderEscalation]:
    """The company's unanswered requests to look again, the soonest due first."""
    rows = db.session.execute(
        select(LadderRequest.id, LadderRequest.dispute_id, Resident.name, StaffUser.name, LadderRequest.message,
               LadderRequest.asked_dt, LadderRequest.due_dt)
        .join(Dispute, Dispute.id == LadderRequest.dispute_id)
        .join(Resident, Resident.id == Dispute.resident_id)
        .join(StaffUser, StaffUser.id == Dispute.manager_id)
        .where(Dispute.company_id == company_id, LadderRequest.answered_dt.is_(None))
        .order_by(LadderRequest.due_dt, LadderRequest.id)
        .limit(LIMIT)
    ).all()
    return [LadderEscalation(request_id, dispute_id, resident_name, manager_name, message, asked_dt, due_dt,
                             is_overdue=due_dt < now, is_due_soon=due_dt < now + at_risk_lead())
            for request_id, dispute_id, resident_name, manager_name, message, asked_dt, due_dt in rows]
