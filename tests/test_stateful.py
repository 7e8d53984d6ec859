"""Random days in the life of a dispute: hypothesis drives sequences of verbs, by the right and the
wrong people, clock moves and deadline sweeps, and after every step checks what must always hold:

- the state and its columns agree, and only the windows of the state have timers waiting;
- the history is one unbroken chain of events ending at the current state (so every state change
  has exactly one audit event);
- no deadline fires twice, and none is left unfired after a sweep;
- a finished (terminal) dispute never moves again;
- every queued email belongs to a change that committed, and a refused step changes nothing.

One app and one database serve every example; each example gets a fresh company and dispute.
"""
from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import select, update

from resolver import clock
from resolver.actors import Actor
from resolver.deadlines import sweep_deadlines
from resolver.errors import DomainError, GuardFailed, NotAllowed, NotFound, StaleDispute, WrongState
from resolver.extensions import db
from resolver.models import AuditEvent, Company, Dispute, ExtensionRequest, OutboxEmail, PanelMember, Resident, StaffUser, Timer
from resolver.services import disputes, evidence
from resolver.workflow.engine import dispute_engine

from .conftest import START
from .dispute_checks import snapshot

WORKFLOW = dispute_engine.definition
# The team's and the letter's verbs join the random walk as soon as they exist.
try:
    from resolver.services import panel
except ImportError:  # pragma: no cover - while the panel verbs are being written
    panel = None
try:
    from resolver.services import outcome
except ImportError:  # pragma: no cover
    outcome = None
HAS_PANEL = hasattr(panel, "seat_panel")
HAS_OUTCOME = hasattr(outcome, "draft_outcome")

STAFF = ("manager", "supervisor")
PEOPLE = ("manager", "supervisor", "resident", "neighbour", "outsider")
people = st.sampled_from(PEOPLE)
_numbers = itertools.count(1)


class DisputeLife(RuleBasedStateMachine):
    """One dispute, from draft to wherever the steps take it."""

    outsider_id: int  # a manager of another company, made once per run

    def __init__(self):
        super().__init__()
        self.dispute_id: int | None = None
        self.seen_terminal: str | None = None
        self.last_history = 0

    # Setting up one example -----------------------------------------------------------------

    @initialize(
        business_days=st.booleans(),
        zone=st.sampled_from(["America/Denver", "America/New_York", "Pacific/Auckland", "UTC"]),
        evidence_days=st.integers(min_value=1, max_value=7),
        holidays=st.lists(st.integers(min_value=0, max_value=20), max_size=3),
    )
    def new_dispute(self, business_days, zone, evidence_days, holidays):
        clock.freeze(START)
        n = next(_numbers)
        company = Company(
            name=f"Stateful Co {n}", slug=f"stateful-{n}", time_zone=zone, is_business_days=business_days,
            holidays=[(START.date() + timedelta(days=d)).isoformat() for d in holidays],
            evidence_window_days=evidence_days, supervisor_name="Sam Supervisor",
            supervisor_email=f"boss{n}@stateful.test",
        )
        db.session.add(company)
        db.session.flush()
        self.company_id = company.id
        manager = StaffUser(company_id=company.id, email=f"m{n}@stateful.test", name="Morgan Manager", role="manager")
        boss = StaffUser(company_id=company.id, email=f"s{n}@stateful.test", name="Sam Supervisor", role="supervisor")
        resident = Resident(company_id=company.id, name="Tammy Rivera", email=f"r{n}@mail.test")
        neighbour = Resident(company_id=company.id, name="Nina Neighbour", email=f"n{n}@mail.test")
        db.session.add_all([manager, boss, resident, neighbour])
        db.session.flush()
        self.actors = {
            "manager": Actor.staff(manager), "supervisor": Actor.staff(boss),
            "resident": Actor.resident(resident), "neighbour": Actor.resident(neighbour),
            "outsider": Actor.staff(db.session.get(StaffUser, self.outsider_id)),
        }
        dispute = disputes.create_dispute(self.actors["manager"], resident=resident, issue="The cleaning charge.",
                                          items=[{"description": "Carpet cleaning", "amount_cents": 15000}])
        db.session.commit()
        self.dispute_id = dispute.id
        self.seats: list[int] = []

    def teardown(self):
        # The next example must not fire this one's timers: cancel what is left (harness only).
        if self.dispute_id is not None:
            db.session.rollback()
            db.session.execute(update(Timer).where(Timer.dispute_id == self.dispute_id, Timer.status == "pending")
                               .values(status="cancelled", outcome="end of example"))
            db.session.commit()

    # Doing one step as a request would --------------------------------------------------------

    @property
    def dispute(self) -> Dispute:
        return db.session.get(Dispute, self.dispute_id)

    def attempt(self, call, *, trigger: str | None = None, who: str | None = None, may: tuple[str, ...] = ()):
        """Run one verb as a request would: commit, or roll back on a refusal. ``may`` names who may
        do it; a refusal must be the right one and must leave everything as it was."""
        before = snapshot(self.dispute_id)
        state = before["state"]
        try:
            result = call()
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            assert snapshot(self.dispute_id) == before, f"refused ({error.message}) yet something changed"
            assert error.message.strip(), "a refusal must say why"
            if isinstance(error, (NotAllowed, NotFound)):
                assert who not in may, f"{who} may do this, yet: {error.message}"
            if isinstance(error, WrongState) and trigger and error.message.startswith("A dispute that is"):
                assert state not in WORKFLOW.transitions[trigger].sources
                assert error.allowed == WORKFLOW.allowed_triggers(state)
            return None
        if may:
            assert who in may, f"{who} was allowed to do what only {may} may"
        after = self.dispute
        if trigger and after.state != state:
            assert state in WORKFLOW.transitions[trigger].sources and after.state == WORKFLOW.transitions[trigger].dest
        if after.state != state:
            assert after.version > before["version"], "a state change must bump the version"
            event(f"reached {after.state}")
        return result

    # Staff steps ------------------------------------------------------------------------------

    @rule(who=people)
    def open(self, who):
        self.attempt(lambda: disputes.open_dispute(self.actors[who], self.dispute), trigger="open", who=who,
                     may=STAFF)

    @rule(who=people, reason=st.sampled_from(["Settled with the owner.", "  "]))
    def withdraw(self, who, reason):
        self.attempt(lambda: disputes.withdraw_dispute(self.actors[who], self.dispute, reason=reason),
                     trigger="withdraw", who=who, may=STAFF)

    @rule(who=people)
    def close(self, who):
        self.attempt(lambda: disputes.close_dispute(self.actors[who], self.dispute, reason="Done."),
                     trigger="close", who=who, may=STAFF)

    @rule(who=people, window=st.sampled_from(["evidence", "reply", "panel"]), hours=st.integers(-24, 120))
    def extend(self, who, window, hours):
        def call():
            d = self.dispute
            current = getattr(d, WORKFLOW.windows[window].due_column) or clock.now_utc()
            return disputes.extend_window(self.actors[who], d, window=window, new_due=current + timedelta(hours=hours),
                                          reason="Asked nicely.")

        self.attempt(call, who=who, may=STAFF)

    @rule()
    def act_on_a_stale_page(self):
        d = self.dispute
        with pytest.raises(StaleDispute):
            disputes.withdraw_dispute(self.actors["manager"], d, reason="Old page.", expected_version=d.version - 1)
        db.session.rollback()

    # The resident -----------------------------------------------------------------------------

    @rule(who=st.sampled_from(["resident", "neighbour", "manager"]), key=st.sampled_from(["a", "b", "c"]))
    def submit(self, who, key):
        now = clock.now_utc()
        submission = self.attempt(lambda: evidence.submit_evidence(
            self.actors[who], self.dispute, form_key=f"{self.dispute_id}-{key}", details="Photos of the carpet.",
            suggested_resolution="Refund the charge."), trigger="submit_evidence", who=who, may=("resident",))
        if submission is not None and submission.received_dt == now:
            assert now <= self.dispute.evidence_due_dt, "evidence accepted after its deadline"

    @rule(who=st.sampled_from(["resident", "neighbour"]), days=st.integers(0, 15))
    def ask_more_time(self, who, days):
        self.attempt(lambda: evidence.request_more_time(self.actors[who], self.dispute, days=days, reason="Away."),
                     who=who, may=("resident",))

    @rule(who=people, grant=st.booleans())
    def answer_more_time(self, who, grant):
        request = db.session.scalars(select(ExtensionRequest).where(
            ExtensionRequest.dispute_id == self.dispute_id).order_by(ExtensionRequest.id.desc())).first()
        if request is None:
            return
        self.attempt(lambda: evidence.answer_more_time(self.actors[who], self.dispute, request, grant=grant),
                     who=who, may=STAFF)

    # Time -------------------------------------------------------------------------------------

    @rule(hours=st.integers(min_value=1, max_value=80))
    def time_passes(self, hours):
        clock.advance(timedelta(hours=hours))

    @rule(which=st.sampled_from(["next", "due"]), offset=st.sampled_from([-1, 0, 0, 1]), and_sweep=st.booleans())
    def until_a_deadline(self, which, offset, and_sweep):
        """Land a second before, on, or a second after this dispute's next timer or next deadline, and
        perhaps sweep there: the edges are where a deadline fires twice or not at all."""
        query = select(Timer.due_dt).where(Timer.dispute_id == self.dispute_id, Timer.status == "pending")
        if which == "due":
            query = query.where(Timer.kind.like("%:due"))
        due = db.session.scalar(query.order_by(Timer.due_dt))
        if due is not None and due + timedelta(seconds=offset) > clock.now_utc():
            clock.advance(due + timedelta(seconds=offset) - clock.now_utc())
        if and_sweep:
            self.sweep()

    @rule()
    def sweep(self):
        sweep_deadlines()
        overdue = db.session.scalars(select(Timer).where(Timer.status == "pending",
                                                         Timer.due_dt <= clock.now_utc())).all()
        assert overdue == [], f"left unfired: {[(t.kind, t.outcome) for t in overdue]}"

    @rule()
    def the_system_lapses_it_directly(self):
        self.attempt(lambda: disputes.lapse_dispute(Actor.system(), self.dispute), trigger="lapse")

    # The team and the letter, once those verbs exist --------------------------------------------

    if HAS_PANEL:

        @rule(who=people)
        def seat_team(self, who):
            members = [PanelMember(company_id=self.company_id, name=f"Peer {i}", email=f"p{next(_numbers)}@peers.test")
                       for i in range(3)]
            db.session.add_all(members)
            db.session.flush()
            seats = self.attempt(lambda: panel.seat_panel(self.actors[who], self.dispute, [m.id for m in members]),
                                 who=who, may=STAFF)
            if seats is not None:
                self.seats = [seat.id for seat in seats]

        @rule(who=people)
        def send_to_team(self, who):
            self.attempt(lambda: panel.send_to_panel(self.actors[who], self.dispute), trigger="send_to_panel",
                         who=who, may=STAFF)

        @rule(index=st.integers(0, 2), choice=st.sampled_from(["uphold", "resident", "compromise"]))
        def vote(self, index, choice):
            if index >= len(self.seats):
                return
            from resolver.models import PanelSeat

            seat = db.session.get(PanelSeat, self.seats[index])
            self.attempt(lambda: panel.record_vote(Actor.panel(seat.member), seat, choice=choice,
                                                   reason="The photos show it."))

        @rule()
        def close_team(self):
            self.attempt(lambda: panel.close_panel(Actor.system(), self.dispute))

        @rule(who=people, decision=st.sampled_from(["uphold", "resident", "compromise"]))
        def manager_decides(self, who, decision):
            self.attempt(lambda: panel.decide_deadlock(self.actors[who], self.dispute, decision=decision,
                                                       note="Split it."), trigger="manager_decides", who=who,
                         may=STAFF)

    if HAS_OUTCOME:

        @rule(who=people)
        def draft_and_approve_letter(self, who):
            letter = self.attempt(lambda: outcome.draft_outcome(self.actors[who], self.dispute),
                                  trigger="draft_outcome", who=who, may=STAFF)
            if letter is not None:
                self.attempt(lambda: outcome.approve_letter(self.actors[who], outcome.current_letter(self.dispute)),
                             who=who, may=STAFF)

        @rule(who=people)
        def send_letter(self, who):
            self.attempt(lambda: outcome.send_outcome(self.actors[who], self.dispute), trigger="send_outcome",
                         who=who, may=STAFF)

        @rule()
        def resident_confirms(self):
            self.attempt(lambda: outcome.acknowledge_outcome(self.actors["resident"], self.dispute),
                         trigger="acknowledge")

        @rule(who=people)
        def refer_out(self, who):
            self.attempt(lambda: outcome.refer_out(self.actors[who], self.dispute, reason="Asked for mediation."),
                         trigger="refer_out", who=who, may=STAFF)

    # What always holds ------------------------------------------------------------------------

    @invariant()
    def state_and_columns_agree(self):
        if self.dispute_id is None:
            return
        d = self.dispute
        for column in WORKFLOW.states[d.state].requires:
            assert getattr(d, column) is not None, f"{d.state} without {column}"
        waiting = db.session.scalars(select(Timer).where(Timer.dispute_id == d.id, Timer.status == "pending")).all()
        for timer in waiting:
            window = WORKFLOW.windows[timer.window]
            assert d.state in window.active_in, f"{timer.kind} waits while the dispute is {d.state}"
            if timer.kind.endswith(":due"):
                assert timer.due_dt == getattr(d, window.due_column), f"{timer.kind} disagrees with its column"
        kinds = [t.kind for t in waiting]
        assert len(kinds) == len(set(kinds)), f"a timer is scheduled twice: {kinds}"
        # Every running window has its deadline still to come, or already met by what it does.
        for window in WORKFLOW.windows.values():
            if d.state in window.active_in:
                dues = db.session.scalars(select(Timer).where(Timer.dispute_id == d.id,
                                                              Timer.kind == f"{window.name}:due")).all()
                assert any(t.status == "pending" or t.outcome.startswith("done") for t in dues), (
                    f"the {window.name} window runs with no deadline: {[(t.status, t.outcome) for t in dues]}")

    @invariant()
    def history_is_one_chain_ending_at_the_state(self):
        if self.dispute_id is None:
            return
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.dispute_id == self.dispute_id)
                                    .order_by(AuditEvent.id)).all()
        current = None
        for event in events:
            assert event.from_state == current, f"{event.action}: from {event.from_state}, but it was {current}"
            current = event.to_state
        assert current == self.dispute.state
        assert len(events) >= self.last_history, "the history lost a line"
        self.last_history = len(events)

    @invariant()
    def no_deadline_fires_twice(self):
        if self.dispute_id is None:
            return
        events = db.session.scalars(select(AuditEvent.action).where(AuditEvent.dispute_id == self.dispute_id)).all()
        for once in ("lapse", "reply_breached", "follow_up"):
            assert events.count(once) <= 1, f"{once} happened {events.count(once)} times"
        fired = db.session.scalars(select(Timer).where(Timer.dispute_id == self.dispute_id,
                                                       Timer.status == "fired")).all()
        for timer in fired:
            assert timer.fired_dt >= timer.due_dt, f"{timer.kind} fired early"
            assert not timer.outcome.startswith("failed"), timer.outcome
        reminders = [t for t in fired if t.outcome.startswith("reminded")]
        sent = db.session.scalars(select(OutboxEmail.template).where(OutboxEmail.dispute_id == self.dispute_id)).all()
        for window in WORKFLOW.windows.values():
            for index, reminder in enumerate(window.reminders):
                expected = sum(int(t.outcome.split()[1]) for t in reminders if t.kind == f"{window.name}:remind:{index}")
                assert sent.count(reminder.email) == expected, f"{reminder.email}: {sent.count(reminder.email)} sent"

    @invariant()
    def a_finished_dispute_never_moves(self):
        if self.dispute_id is None:
            return
        d = self.dispute
        if self.seen_terminal is not None:
            assert d.state == self.seen_terminal, f"moved on from {self.seen_terminal} to {d.state}"
        if d.is_terminal:
            self.seen_terminal = d.state
            assert dispute_engine.allowed(d) == []
            pending = db.session.scalars(select(Timer.kind).where(Timer.dispute_id == d.id,
                                                                  Timer.status == "pending")).all()
            assert pending == [], f"a finished dispute still has {pending}"

    @invariant()
    def every_email_belongs_to_a_committed_change(self):
        if self.dispute_id is None:
            return
        moments = set(db.session.scalars(select(AuditEvent.occurred_dt).where(AuditEvent.dispute_id == self.dispute_id)))
        moments |= set(db.session.scalars(select(Timer.fired_dt).where(Timer.dispute_id == self.dispute_id,
                                                                      Timer.fired_dt.is_not(None))))
        for email in db.session.scalars(select(OutboxEmail).where(OutboxEmail.dispute_id == self.dispute_id)):
            assert email.created_dt in moments, f"{email.template} queued with no change behind it"
        assert dispute_engine.machine.models == []


DisputeLife.TestCase.settings = settings(
    max_examples=200, stateful_step_count=15, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def test_random_lives_keep_every_promise(app, make_company, make_staff):
    """At least 200 random lives; each step checked against the invariants above."""
    outsider = make_staff(make_company(), "manager", name="Oscar Outsider")
    db.session.commit()
    DisputeLife.outsider_id = outsider.id
    try:
        run_state_machine_as_test(DisputeLife, settings=DisputeLife.TestCase.settings)
    finally:
        clock.freeze(START)
