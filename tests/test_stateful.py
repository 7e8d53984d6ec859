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
from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test,
)
from sqlalchemy import select, update

from resolver import clock
from resolver.actors import Actor
from resolver.deadlines import sweep_deadlines
from resolver.errors import DomainError, NotAllowed, NotFound, StaleDispute, WrongState
from resolver.extensions import db
from resolver.models import (
    AuditEvent, Company, Dispute, ExtensionRequest, OutboxEmail, PanelMember, Resident, StaffUser, Timer,
)
from resolver.services import disputes, evidence, outcome, panel
from resolver.workflow.engine import dispute_engine

from .conftest import START
from .dispute_checks import snapshot

WORKFLOW = dispute_engine.definition

STAFF = ("manager", "supervisor")
# Mostly the right person, sometimes the wrong one.
people = st.sampled_from(("manager", "manager", "manager", "supervisor", "resident", "neighbour", "outsider"))
LIVE = tuple(s for s in WORKFLOW.states if s not in WORKFLOW.terminal)
WINDOWED = tuple(sorted(set().union(*(w.active_in for w in WORKFLOW.windows.values()))))


def during(*states):
    """Offer a step mostly where it makes sense (``out_of_turn`` tries every step anywhere)."""
    return precondition(lambda self: self.state in states)


_numbers = itertools.count(1)
REACHED: Counter = Counter()  # states the walk got to, across the run


class DisputeLife(RuleBasedStateMachine):
    """One dispute, from draft to wherever the steps take it."""

    outsider_id: int  # a manager of another company, made once per run

    def __init__(self):
        super().__init__()
        self.dispute_id: int | None = None
        self.state = "draft"
        self.seen_terminal: str | None = None
        self.last_history = 0

    # Setting up one example -----------------------------------------------------------------

    @initialize(
        business_days=st.booleans(),
        zone=st.sampled_from(["America/Denver", "America/New_York", "Pacific/Auckland", "UTC"]),
        evidence_days=st.integers(min_value=1, max_value=7),
        holidays=st.lists(st.integers(min_value=0, max_value=20), max_size=3),
        # Some walks start further along (reached through the real verbs), so fifteen steps go deep.
        start_in=st.sampled_from(["draft", "awaiting_evidence", "evidence_received", "panel_review", "panel_review",
                                  "decided"]),
    )
    def new_dispute(self, business_days, zone, evidence_days, holidays, start_in):
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
        # A team can be seated, so the dispute can be opened (the set-up checklist's roster).
        members = [PanelMember(company_id=company.id, name=f"Peer {i}", email=f"p{next(_numbers)}@peers.test")
                   for i in range(3)]
        db.session.add_all([manager, boss, resident, neighbour, *members])
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
        path = ["draft", "awaiting_evidence", "evidence_received", "panel_review", "decided"]
        if path.index(start_in) >= 1:
            disputes.open_dispute(self.actors["manager"], dispute)
        if path.index(start_in) >= 2:
            evidence.submit_evidence(self.actors["resident"], dispute, form_key=f"{dispute.id}-first",
                                     details="Photos of the carpet.", suggested_resolution="Refund the charge.")
        if path.index(start_in) >= 3:
            seats = panel.seat_panel(self.actors["manager"], dispute, [m.id for m in members])
            self.seats = [seat.id for seat in seats]
            panel.send_to_panel(self.actors["manager"], dispute)
        if path.index(start_in) >= 4:
            from resolver.models import PanelSeat

            for seat_id in self.seats:
                seat = db.session.get(PanelSeat, seat_id)
                if dispute.state == "panel_review":
                    panel.record_vote(Actor.panel(seat.member), seat, choice="compromise", reason="Meet halfway.")
            if dispute.state == "panel_review":
                panel.close_panel(Actor.system(), dispute)
        db.session.commit()
        assert dispute.state == start_in
        REACHED[start_in] += 1
        self.state = dispute.state  # kept current after every step, for the preconditions

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
        try:
            return self._attempt(call, trigger=trigger, who=who, may=may)
        finally:
            self.state = self.dispute.state

    def _attempt(self, call, *, trigger, who, may):
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
            REACHED[after.state] += 1
        return result

    # Staff steps ------------------------------------------------------------------------------

    @during("draft")
    @rule(who=people)
    def open(self, who):
        self.attempt(lambda: disputes.open_dispute(self.actors[who], self.dispute), trigger="open", who=who,
                     may=STAFF)

    # Withdrawing ends the walk, so as a rule of its own it is offered late in the life only.
    @during("evidence_received", "panel_review", "deadlocked", "outcome_draft")
    @rule(who=people, reason=st.sampled_from(["Settled with the owner.", "  "]))
    def withdraw(self, who, reason):
        self.attempt(lambda: disputes.withdraw_dispute(self.actors[who], self.dispute, reason=reason),
                     trigger="withdraw", who=who, may=STAFF)

    @during(*WORKFLOW.transitions["close"].sources)
    @rule(who=people)
    def close(self, who):
        self.attempt(lambda: disputes.close_dispute(self.actors[who], self.dispute, reason="Done."),
                     trigger="close", who=who, may=STAFF)

    @during(*WINDOWED)
    @rule(who=people, window=st.sampled_from(["evidence", "reply", "panel"]), hours=st.integers(-24, 120))
    def extend(self, who, window, hours):
        def call():
            d = self.dispute
            current = getattr(d, WORKFLOW.windows[window].due_column) or clock.now_utc()
            return disputes.extend_window(self.actors[who], d, window=window, new_due=current + timedelta(hours=hours),
                                          reason="Asked nicely.")

        self.attempt(call, who=who, may=STAFF)

    def act_on_a_stale_page(self):
        d = self.dispute
        with pytest.raises(StaleDispute):
            disputes.withdraw_dispute(self.actors["manager"], d, reason="Old page.", expected_version=d.version - 1)
        db.session.rollback()

    # The resident -----------------------------------------------------------------------------

    @during("awaiting_evidence", "evidence_received")
    @rule(who=st.sampled_from(["resident", "neighbour", "manager"]), key=st.sampled_from(["a", "b", "c"]))
    def submit(self, who, key):
        now = clock.now_utc()
        submission = self.attempt(lambda: evidence.submit_evidence(
            self.actors[who], self.dispute, form_key=f"{self.dispute_id}-{key}", details="Photos of the carpet.",
            suggested_resolution="Refund the charge."), trigger="submit_evidence", who=who, may=("resident",))
        if submission is not None and submission.received_dt == now:
            assert now <= self.dispute.evidence_due_dt, "evidence accepted after its deadline"

    @during("awaiting_evidence")
    @rule(who=st.sampled_from(["resident", "resident", "neighbour"]), days=st.integers(0, 15),
          answer=st.sampled_from([None, "grant", "refuse", "refuse by the resident"]))
    def ask_more_time(self, who, days, answer):
        request = self.attempt(lambda: evidence.request_more_time(self.actors[who], self.dispute, days=days,
                                                                  reason="Away."), who=who, may=("resident",))
        if request is None or answer is None:
            return
        by = "resident" if answer.endswith("resident") else "manager"
        self.attempt(lambda: evidence.answer_more_time(self.actors[by], self.dispute,
                                                       db.session.get(ExtensionRequest, request.id),
                                                       grant=answer == "grant"), who=by, may=STAFF)

    # Time -------------------------------------------------------------------------------------

    @rule(hours=st.integers(min_value=1, max_value=80), and_sweep=st.booleans())
    def time_passes(self, hours, and_sweep):
        clock.advance(timedelta(hours=hours))
        if and_sweep:
            self.sweep()

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

    def sweep(self):
        sweep_deadlines()
        if self.dispute.state != self.state:
            REACHED[self.dispute.state] += 1
        self.state = self.dispute.state
        overdue = db.session.scalars(select(Timer).where(Timer.status == "pending",
                                                         Timer.due_dt <= clock.now_utc())).all()
        assert overdue == [], f"left unfired: {[(t.kind, t.outcome) for t in overdue]}"

    @during(*WORKFLOW.windows["reply"].active_in)
    @rule()
    def the_system_records_a_breach_directly(self):
        was = self.dispute.reply_breached_dt
        self.attempt(lambda: disputes.record_reply_breach(Actor.system(), self.dispute))
        if was is None and self.dispute.reply_breached_dt is not None:
            # Due at the date first promised, however far the working date moved.
            assert clock.now_utc() >= self.dispute.reply_promised_dt, "a breach recorded before the reply was due"

    @during("awaiting_evidence")
    @rule()
    def the_system_lapses_it_directly(self):
        self.attempt(lambda: disputes.lapse_dispute(Actor.system(), self.dispute), trigger="lapse")

    # The team and the letter -----------------------------------------------------------------

    def _seat(self, index):
        from resolver.models import PanelSeat

        return db.session.get(PanelSeat, self.seats[index]) if index < len(self.seats) else None

    @during("evidence_received")
    @rule(who=people, size=st.sampled_from([3, 3, 2]), and_send=st.booleans())
    def seat_team(self, who, size, and_send=False):
        members = [PanelMember(company_id=self.company_id, name=f"Peer {next(_numbers)}",
                               email=f"p{next(_numbers)}@peers.test") for _ in range(size)]
        db.session.add_all(members)
        db.session.commit()  # the roster exists before the manager chooses from it
        seats = self.attempt(lambda: panel.seat_panel(self.actors[who], self.dispute, [m.id for m in members]),
                             who=who, may=STAFF)
        if seats is not None:
            assert size % 2 == 1, "an even team was seated"
            self.seats = [seat.id for seat in seats]
            if and_send:
                self.send_to_team(who)

    @during("evidence_received")
    @rule(who=people)
    def send_to_team(self, who):
        self.attempt(lambda: panel.send_to_panel(self.actors[who], self.dispute), trigger="send_to_panel",
                     who=who, may=STAFF)

    @during("panel_review")
    @rule(index=st.integers(0, 2), choice=st.sampled_from(["uphold", "resident", "compromise"]),
          as_member=st.booleans())
    def vote(self, index, choice, as_member):
        seat = self._seat(index)
        if seat is None:
            return
        voter = Actor.panel(seat.member) if as_member else self.actors["resident"]
        who = ("member" if seat.recused_dt is None else "member who stepped aside") if as_member else "resident"
        vote = self.attempt(lambda: panel.record_vote(voter, seat, choice=choice, reason="The photos show it."),
                            who=who, may=("member",))
        if vote is not None:
            assert clock.now_utc() <= self.dispute.panel_due_dt or self.dispute.state != "panel_review"

    @during("panel_review")
    @rule(choices=st.lists(st.sampled_from(["uphold", "resident", "compromise"]), min_size=3, max_size=3))
    def everyone_votes(self, choices):
        for index, choice in enumerate(choices):
            self.vote(index, choice, True)

    @during("panel_review")
    @rule(index=st.integers(0, 2))
    def step_aside(self, index):
        seat = self._seat(index)
        if seat is not None:
            self.attempt(lambda: panel.recuse(Actor.panel(seat.member), seat, reason="I know the resident."))

    @during("panel_review")
    @rule(who=st.sampled_from(["manager", "resident"]))
    def close_team(self, who):
        self.attempt(lambda: panel.close_panel(self.actors[who], self.dispute), who=who, may=STAFF)

    @during("deadlocked")
    @rule(who=people, decision=st.sampled_from(["uphold", "resident", "compromise"]))
    def manager_decides(self, who, decision):
        self.attempt(lambda: panel.decide_deadlock(self.actors[who], self.dispute, decision=decision,
                                                   note="Split it."), trigger="manager_decides", who=who,
                     may=STAFF)


    @during("decided", "outcome_draft")
    @rule(who=people, and_send=st.booleans())
    def draft_and_approve_letter(self, who, and_send=False):
        letter = self.attempt(lambda: outcome.draft_outcome(self.actors[who], self.dispute),
                              trigger="draft_outcome", who=who, may=STAFF)
        if letter is not None:
            self.attempt(lambda: outcome.approve_letter(self.actors[who], outcome.current_letter(self.dispute),
                                                        override_reason="Read it twice."), who=who, may=STAFF)
            if and_send:
                self.send_letter(who)

    @during("outcome_draft")
    @rule(who=people)
    def send_letter(self, who):
        self.attempt(lambda: outcome.send_outcome(self.actors[who], self.dispute), trigger="send_outcome",
                     who=who, may=STAFF)

    @during("outcome_sent", "acknowledged")
    @rule()
    def resident_confirms(self):
        self.attempt(lambda: outcome.acknowledge_outcome(self.actors["resident"], self.dispute),
                     trigger="acknowledge")

    @during("outcome_sent", "acknowledged")
    @rule(accept=st.booleans())
    def resident_answers_the_offer(self, accept):
        self.attempt(lambda: outcome.respond_to_offer(self.actors["resident"], self.dispute, accept=accept))

    @during("outcome_sent", "acknowledged")
    @rule(who=people)
    def refer_out(self, who):
        # The resident may ask for outside mediation too, not only the staff.
        self.attempt(lambda: outcome.refer_out(self.actors[who], self.dispute, reason="Asked for mediation."),
                     trigger="refer_out", who=who, may=(*STAFF, "resident"))

    OUT_OF_TURN = {
        "open": lambda self: self.open("manager"),
        "withdraw": lambda self: self.withdraw("manager", "Settled."),
        "close": lambda self: self.close("manager"),
        "extend": lambda self: self.extend("manager", "evidence", 24),
        "submit": lambda self: self.submit("resident", "late"),
        "ask_more_time": lambda self: self.ask_more_time("resident", 2, "grant"),
        "lapse": lambda self: self.the_system_lapses_it_directly(),
        "sweep": lambda self: self.sweep(),
        "stale page": lambda self: self.act_on_a_stale_page(),
        "seat": lambda self: self.seat_team("manager", 3),
        "send_to_team": lambda self: self.send_to_team("manager"),
        "close_team": lambda self: self.close_team("manager"),
        "decide": lambda self: self.manager_decides("manager", "uphold"),
        "draft": lambda self: self.draft_and_approve_letter("manager"),
        "send_letter": lambda self: self.send_letter("manager"),
        "confirm": lambda self: self.resident_confirms(),
        "refer_out": lambda self: self.refer_out("manager"),
    }

    @rule(name=st.sampled_from(sorted(OUT_OF_TURN)))
    def out_of_turn(self, name):
        """Any step in any state, by the right person: refused where it does not belong, saying why."""
        self.OUT_OF_TURN[name](self)

    # What always holds ------------------------------------------------------------------------

    @invariant()
    def every_promise_holds(self):
        """Read straight from the database (one query per table) after every step."""
        if self.dispute_id is None:
            return
        table = Dispute.__table__
        d = db.session.execute(select(table).where(table.c.id == self.dispute_id)).mappings().one()
        timer_rows = db.session.execute(select(Timer.__table__).where(Timer.dispute_id == self.dispute_id)).all()
        events = db.session.execute(select(AuditEvent.__table__).where(AuditEvent.dispute_id == self.dispute_id)
                                    .order_by(AuditEvent.id)).all()
        sent = db.session.execute(select(OutboxEmail.template, OutboxEmail.created_dt)
                                  .where(OutboxEmail.dispute_id == self.dispute_id)).all()
        self.state_and_columns_agree(d, timer_rows)
        self.history_is_one_chain_ending_at_the_state(d, events)
        self.no_deadline_fires_twice(events, timer_rows, sent)
        self.a_finished_dispute_never_moves(d, timer_rows)
        self.every_email_belongs_to_a_committed_change(events, timer_rows, sent)
        assert dispute_engine.machine.models == []

    def state_and_columns_agree(self, d, timer_rows):
        state = d["state"]
        assert state == self.state
        for column in WORKFLOW.states[state].requires:
            assert d[column] is not None, f"{state} without {column}"
        waiting = [t for t in timer_rows if t.status == "pending"]
        for timer in waiting:
            window = WORKFLOW.windows[timer.window]
            assert state in window.active_in, f"{timer.kind} waits while the dispute is {state}"
            if timer.kind.endswith(":due"):  # at the date first promised, where the window keeps one
                assert timer.due_dt == d[window.promised_column or window.due_column], \
                    f"{timer.kind} disagrees with its column"
        if d["reply_promised_dt"] is not None:
            assert d["reply_due_dt"] >= d["reply_promised_dt"], "the reply's working date is before its promise"
        kinds = [t.kind for t in waiting]
        assert len(kinds) == len(set(kinds)), f"a timer is scheduled twice: {kinds}"
        # Every running window has its deadline still to come, or already met by what it does.
        for window in WORKFLOW.windows.values():
            if state in window.active_in:
                dues = [t for t in timer_rows if t.kind == f"{window.name}:due"]
                assert any(t.status == "pending" or t.outcome.startswith("done") for t in dues), (
                    f"the {window.name} window runs with no deadline: {[(t.status, t.outcome) for t in dues]}")

    def history_is_one_chain_ending_at_the_state(self, d, events):
        current = None
        for line in events:
            assert line.from_state == current, f"{line.action}: from {line.from_state}, but it was {current}"
            current = line.to_state
        assert current == d["state"], f"the history ends at {current}, the dispute is {d['state']}"
        assert len(events) >= self.last_history, "the history lost a line"
        self.last_history = len(events)

    def no_deadline_fires_twice(self, events, timer_rows, sent):
        done = [e.action for e in events]
        for once in ("lapse", "reply_breached", "followed_up"):
            assert done.count(once) <= 1, f"{once} happened {done.count(once)} times"
        fired = [t for t in timer_rows if t.status == "fired"]
        for timer in fired:
            assert timer.fired_dt >= timer.due_dt, f"{timer.kind} fired early"
            assert not timer.outcome.startswith("failed"), timer.outcome
        templates = [email.template for email in sent]
        expected = Counter()  # one template may serve several reminders (the manager is reminded twice)
        for window in WORKFLOW.windows.values():
            for index, reminder in enumerate(window.reminders):
                expected[reminder.email] += sum(
                    int(t.outcome.split()[1]) for t in fired
                    if t.kind == f"{window.name}:remind:{index}" and t.outcome.startswith("reminded"))
        for email, count in expected.items():
            assert templates.count(email) == count, f"{email}: {templates.count(email)} queued for {count} reminders"

    def a_finished_dispute_never_moves(self, d, timer_rows):
        if self.seen_terminal is not None:
            assert d["state"] == self.seen_terminal, f"moved on from {self.seen_terminal} to {d['state']}"
        if d["state"] in WORKFLOW.terminal:
            self.seen_terminal = d["state"]
            assert WORKFLOW.allowed_triggers(d["state"]) == []
            pending = [t.kind for t in timer_rows if t.status == "pending"]
            assert pending == [], f"a finished dispute still has {pending}"

    def every_email_belongs_to_a_committed_change(self, events, timer_rows, sent):
        moments = {e.occurred_dt for e in events} | {t.fired_dt for t in timer_rows if t.fired_dt is not None}
        for email in sent:
            assert email.created_dt in moments, f"{email.template} queued with no change behind it"


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
    # The walk must really have gone places, not been refused at every step.
    expected = {"awaiting_evidence", "evidence_received", "lapsed", "withdrawn", "closed", "panel_review", "decided",
                "deadlocked", "outcome_draft", "outcome_sent"}
    assert expected <= set(REACHED), f"never reached: {expected - set(REACHED)}"
