"""The deadline sweep: fire every pending timer whose moment has come, exactly once.

A timer is claimed by flipping it from pending to fired in the same transaction as what it does,
with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so workers on several machines share the work and
never fire one timer twice. On SQLite the database's single write lock serialises sweeps.
Each timer runs in a savepoint: one that fails is recorded and retried later, the rest go on.
(With Python's sqlite3 driver the first savepoint opens the transaction, so there each timer's
claim and work commit together as the savepoint is released: still once, and still all or nothing.)
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from operator import itemgetter

from sqlalchemy import bindparam, select, text, update

from .actors import Actor
from .clock import now_utc
from .errors import DomainError
from .extensions import db
from .inbound.addresses import reply_token
from .links import current_link, link_url
from .models import Dispute, PanelSeat, Timer, Vote
from .services.notify import tell
from .workflow.engine import dispute_engine

log = logging.getLogger(__name__)
SYSTEM = Actor.system("Resolver (deadline)")
RETRY_AFTER = timedelta(minutes=5)


def due_timers(now: datetime, limit: int):
    """The due timers (id, dispute_id, window, kind), soonest first. On PostgreSQL they are locked
    for this transaction (``FOR UPDATE SKIP LOCKED``): another sweep skips them."""
    query = (
        select(Timer.id, Timer.dispute_id, Timer.window, Timer.kind)
        .where(Timer.status == "pending", Timer.due_dt <= now)
        .order_by(Timer.due_dt, Timer.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return db.session.execute(query).all()


# PostgreSQL: lock the batch (SKIP LOCKED, so sweeps running at once take different timers) and mark
# it fired in one statement. The subquery hands the outer UPDATE the locked rows' physical places
# (ctid), which it reaches directly instead of looking each id up again in the primary key; a locked
# row cannot move before the UPDATE. (Should a row have been changed by another transaction between
# this statement's start and its lock, the UPDATE does not see that newer version: the row is then
# neither marked nor returned, and stays pending for the next sweep. Never fired twice, never lost.)
CLAIM_POSTGRESQL = text(
    "UPDATE timer SET status = 'fired', fired_dt = :now "
    "WHERE ctid = ANY(ARRAY("
    "SELECT ctid FROM timer WHERE status = 'pending' AND due_dt <= :now "
    "ORDER BY due_dt, id LIMIT :limit FOR UPDATE SKIP LOCKED)) "
    'RETURNING id, dispute_id, "window", kind, due_dt'
).bindparams(bindparam("now", type_=Timer.due_dt.type), bindparam("limit"))


def claim_due_timers(now: datetime, limit: int):
    """PostgreSQL: lock up to ``limit`` due timers and mark them fired, in this transaction; return
    them (id, dispute_id, window, kind, due_dt), soonest first."""
    rows = db.session.execute(CLAIM_POSTGRESQL, {"now": now, "limit": limit}).all()
    rows.sort(key=itemgetter(4, 0))  # due_dt, id
    return rows


def sweep_deadlines(*, limit: int = 500, now: datetime | None = None) -> int:
    """Fire up to ``limit`` due timers and commit; return how many fired.

    ``now`` only chooses which timers are due: the steps they trigger read the clock themselves, so
    pass a moment no later than ``now_utc()`` (the worker passes nothing)."""
    now = now or now_utc()
    fired = 0
    # On PostgreSQL the batch is locked to this sweep until it commits and marked fired at once. On
    # SQLite each timer is claimed on its own, in the savepoint that does its work.
    is_locked = db.session.get_bind().dialect.name == "postgresql"
    timers = claim_due_timers(now, limit) if is_locked else due_timers(now, limit)
    for timer in timers:
        try:
            with db.session.begin_nested():
                if not is_locked:
                    # The conditional update is the claim: a sweep that lost the race changes no row.
                    claimed = db.session.execute(
                        update(Timer)
                        .where(Timer.id == timer.id, Timer.status == "pending")
                        .values(status="fired", fired_dt=now)
                        .execution_options(synchronize_session=False)
                    ).rowcount
                    if not claimed:
                        continue
                outcome = fire_timer(timer, now)
                db.session.execute(
                    update(Timer).where(Timer.id == timer.id).values(outcome=outcome[:500])
                    .execution_options(synchronize_session=False)
                )
            fired += 1
        except Exception as error:  # one bad timer must not stop the others
            log.exception("timer %s (dispute %s) failed", timer.id, timer.dispute_id)
            # Back to pending (the savepoint undid a claim made in it, not the batch claim), later.
            still_ours = [Timer.id == timer.id] if is_locked else [Timer.id == timer.id, Timer.status == "pending"]
            db.session.execute(
                update(Timer)
                .where(*still_ours)
                .values(status="pending", fired_dt=None, due_dt=now + RETRY_AFTER,
                        outcome=f"failed, will retry: {error}"[:500])
                .execution_options(synchronize_session=False)
            )
    db.session.commit()
    return fired


def fire_timer(timer, now: datetime) -> str:
    """Do what a due timer (a row from ``due_timers``) asks; return what happened, for its ``outcome``."""
    dispute = db.session.get(Dispute, timer.dispute_id)
    window = dispute_engine.definition.windows[timer.window]
    if dispute.state not in window.active_in:
        return f"skipped: the dispute is {dispute.state_label}"
    if timer.kind.endswith(":due"):
        return _on_due(window.on_due, dispute)
    index = int(timer.kind.rsplit(":", 1)[1])
    reminder = window.reminders[index]
    due = getattr(dispute, window.due_column)
    if due is not None and now >= due:  # a sweep that ran late: "due by Saturday" on Sunday helps nobody
        return "skipped: the deadline has already passed"
    sent = _remind(dispute, reminder.email, reminder.to, due)
    return f"reminded {sent}"


def _on_due(action: str, dispute: Dispute) -> str:
    # The verbs live beside the parts they serve; import here to keep this module a thin dispatcher.
    from .services import disputes, outcome, panel

    actions = {
        "lapse": disputes.lapse_dispute,
        "record_reply_breach": disputes.record_reply_breach,
        "close_panel": panel.close_panel,
        "follow_up": outcome.follow_up,
    }
    try:
        # A refused step may have set some columns before it was refused: drop them with it.
        with db.session.begin_nested():
            actions[action](SYSTEM, dispute)
    except DomainError as refusal:
        return f"not done: {refusal.message}"
    return f"done: {action}"


def _remind(dispute: Dispute, template: str, to: str, due: datetime) -> int:
    """Email a window's reminder to the people the workflow names, with the window's own due date."""
    recipients: list[tuple[object, dict]] = []  # (the person, what their email adds)
    if to == "resident":
        link = current_link(dispute.id, "evidence", resident_id=dispute.resident_id)
        recipients.append((dispute.resident, {"link_url": link_url(link) if link else None, "can_reply": bool(link),
                                              "reply_token": reply_token(link) if link else None}))
    elif to == "manager":
        recipients.append((dispute.manager, {}))
    elif to == "supervisor":
        from .services.ladder import supervisors_of

        recipients += [(person, {}) for person in supervisors_of(dispute)]
    elif to == "panel_pending":
        seats = db.session.scalars(
            select(PanelSeat)
            .outerjoin(Vote, Vote.seat_id == PanelSeat.id)
            .where(PanelSeat.dispute_id == dispute.id, PanelSeat.recused_dt.is_(None), Vote.id.is_(None))
        )
        for seat in seats:
            link = current_link(dispute.id, "vote", seat_id=seat.id)
            recipients.append((seat.member, {"link_url": link_url(link) if link else None, "member": seat.member}))
    else:
        raise ValueError(f"unknown reminder recipient {to!r}")
    for person, extra in recipients:
        token = extra.pop("reply_token", None)
        tell(person, dispute, template, {"due": due, "link_url": None, **extra}, reply_token=token)
    return len(recipients)
