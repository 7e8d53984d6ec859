"""Runs disputes through their workflow definition.

One ``transitions`` machine is built per workflow when this module is imported and shared by every
request and worker. Rows are never added to it: each transition passes the dispute in and the
machine keeps nothing. After a transition the engine opens and closes the workflow's windows
(due columns and timers) and records the audit event, all in the caller's transaction.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm.attributes import flag_modified
from transitions import Machine, MachineError

from ..actors import Actor
from ..clock import now_utc
from ..errors import DeadlinePassed, GuardFailed, WrongState
from ..extensions import db
from ..history import record_event
from ..models import AuditEvent, Dispute, Timer
from ..workdays import add_days
from .definition import WindowDef, WorkflowDef, load_definition
from .guards import GUARDS

class Engine:
    def __init__(self, definition: WorkflowDef):
        unknown = sorted({name for t in definition.transitions.values() for name in t.guards} - GUARDS.keys())
        if unknown:
            raise ValueError(f"workflow {definition.name!r} names guards Resolver does not have: {', '.join(unknown)}")
        self.definition = definition
        self.machine = Machine(
            model=None,
            states=list(definition.states),
            initial=definition.initial,
            transitions=[
                {
                    "trigger": t.trigger,
                    "source": list(t.sources),
                    "dest": t.dest,
                    "conditions": [self._guard(name) for name in t.guards],
                }
                for t in definition.transitions.values()
            ],
            auto_transitions=False,
            send_event=True,
            model_attribute="state",
        )

    @staticmethod
    def _guard(name: str):
        check = GUARDS[name]

        refusal = DeadlinePassed if getattr(check, "is_deadline", False) else GuardFailed

        def condition(event) -> bool:
            problem = check(event.model, event.kwargs.get("now"))
            if problem:
                event.kwargs["refusals"].append((refusal, problem))
            return problem is None

        condition.__name__ = name
        return condition

    @staticmethod
    def touch(dispute: Dispute) -> None:
        """Count a step that moves no state or column (a request, an answer) as a change of the
        dispute: its version goes up, so a second writer at the same moment finds it changed."""
        flag_modified(dispute, "state")

    def allowed(self, dispute: Dispute) -> list[str]:
        return self.definition.allowed_triggers(dispute.state)

    def fire(
        self,
        dispute: Dispute,
        trigger: str,
        *,
        actor: Actor,
        reason: str = "",
        data: dict | None = None,
        now: datetime | None = None,
        as_of: datetime | None = None,
    ) -> AuditEvent:
        """Move ``dispute`` by ``trigger``; raise a domain error and change nothing if it may not.

        ``as_of``: when the step really happened, if earlier than it is recorded (a letter that came by
        post, typed in days later): the guards are asked about that moment and the windows it opens run
        from it; the history records it now, and reminders already past are not scheduled."""
        now = now or now_utc()
        as_of = as_of or now
        source = dispute.state
        if trigger not in self.definition.transitions:
            raise WrongState(f"Resolver has no step called {trigger!r}.")
        if source not in self.definition.transitions[trigger].sources:
            raise WrongState(
                f"A dispute that is {self.definition.label(source)} cannot {trigger.replace('_', ' ')}. "
                f"Allowed now: {self._describe(self.allowed(dispute))}.",
                allowed=self.allowed(dispute),
            )
        refusals: list[tuple[type[GuardFailed | DeadlinePassed], str]] = []
        # No flush until the state and the columns it requires are both set (the check constraints).
        with db.session.no_autoflush:
            try:
                moved = self.machine.events[trigger].trigger(dispute, now=as_of, refusals=refusals)
            except MachineError as error:  # the definition and the machine disagree: a bug, say so
                raise WrongState(str(error)) from error
            if not moved:
                dispute.state = source
                error = refusals[0][0] if refusals else GuardFailed
                message = " ".join(problem for _, problem in refusals) or f"{trigger} is not possible now."
                raise error(message, allowed=self.allowed(dispute))
            self._move_windows(dispute, source, dispute.state, now, start=as_of)
        return record_event(dispute, actor, trigger, now=now, reason=reason, data=data,
                            from_state=source, to_state=dispute.state)

    def _describe(self, triggers: list[str]) -> str:
        return ", ".join(t.replace("_", " ") for t in triggers) or "nothing (this dispute is finished)"

    # Windows ---------------------------------------------------------------------------------

    def _move_windows(self, dispute: Dispute, source: str, dest: str, now: datetime, *,
                      start: datetime | None = None) -> None:
        for window in self.definition.windows.values():
            was, is_ = source in window.active_in, dest in window.active_in
            if is_ and not was:
                self.open_window(dispute, window, now, start=start)
            elif was and not is_:
                cancel_timers(dispute, window.name, now, "the dispute moved on")

    def window_due(self, dispute: Dispute, window: WindowDef, start: datetime) -> datetime:
        company = dispute.company
        days = getattr(company, window.setting, None) if window.setting else None
        if days:
            due = add_days(start, int(days), company)
        else:
            due = start + window.length
        if window.ends_before:
            other, margin = window.ends_before
            limit = getattr(dispute, self.definition.windows[other].due_column)
            if limit is not None:
                due = min(due, limit - margin)
                # A window that opens late still gets the panel's minimum time, as long as the other
                # deadline allows it, and once that has passed (the breach is already escalated), too.
                floor = start + self.definition.panel.minimum_time
                due = max(due, min(floor, limit) if limit > start else floor)
        return due

    def open_window(self, dispute: Dispute, window: WindowDef, now: datetime, *,
                    start: datetime | None = None) -> datetime:
        due = self.window_due(dispute, window, start or now)
        setattr(dispute, window.due_column, due)
        if window.promised_column:
            setattr(dispute, window.promised_column, due)
        schedule_timers(dispute, window, due, now)
        return due

    def move_window(self, dispute: Dispute, window_name: str, new_due: datetime, now: datetime) -> datetime:
        """Set a window's new due time (an extension): pending reminders are replaced, fired ones kept.
        The due step moves too, unless the window keeps a promised date: then it stays at that date."""
        window = self.definition.windows[window_name]
        if dispute.state not in window.active_in:
            raise WrongState(f"The {window_name} window is not running for a dispute that is {dispute.state_label}.")
        old_due = getattr(dispute, window.due_column)
        keeps_promise = window.promised_column is not None
        cancel_timers(dispute, window.name, now, "the deadline moved", keep_due=keeps_promise)
        setattr(dispute, window.due_column, new_due)
        schedule_timers(dispute, window, new_due, now, with_due=not keeps_promise)
        return old_due


def schedule_timers(dispute: Dispute, window: WindowDef, due: datetime, now: datetime, *,
                    with_due: bool = True) -> None:
    if with_due:
        db.session.add(Timer(dispute_id=dispute.id, window=window.name, kind=f"{window.name}:due", due_dt=due))
    for index, reminder in enumerate(window.reminders):
        at = due - reminder.before
        if at > now:  # a reminder whose moment has passed would only arrive late
            db.session.add(
                Timer(dispute_id=dispute.id, window=window.name, kind=f"{window.name}:remind:{index}", due_dt=at)
            )


def cancel_timers(dispute: Dispute, window_name: str, now: datetime, why: str, *, keep_due: bool = False) -> None:
    """Cancel the window's pending timers (its reminders only, with ``keep_due``)."""
    due_kind = f"{window_name}:due"
    # Timers scheduled earlier in this same change are not rows yet (flushing now would write the
    # dispute half-moved), so they are cancelled where they wait in the session.
    for timer in db.session.new:
        if (isinstance(timer, Timer) and timer.dispute_id == dispute.id and timer.window == window_name
                and timer.status in (None, "pending") and not (keep_due and timer.kind == due_kind)):
            timer.status, timer.fired_dt, timer.outcome = "cancelled", None, why
    which = [Timer.dispute_id == dispute.id, Timer.window == window_name, Timer.status == "pending"]
    if keep_due:
        which.append(Timer.kind != due_kind)
    db.session.execute(db.update(Timer).where(*which).values(status="cancelled", fired_dt=None, outcome=why))


dispute_engine = Engine(load_definition("dispute"))
