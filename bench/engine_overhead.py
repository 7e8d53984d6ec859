"""Transition overhead: the engine's cost per transition with no database, beside bare ``transitions``.

Both fire the same triggers of the same workflow definition, from the same states: steps that move
no deadline window and need no database guard, so the engine issues no SQL (checked) but the one read
of its history's last link a transaction makes (the first event; the next follow it in the session). The
engine's figure includes what it adds to every step: the checks that give a person a clear refusal,
the audit event it builds and adds to the session, and the windows it looks at. Bare ``transitions``
is one Machine with one plain model, fired the way its documentation shows.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from .common import make_app, median, row, timed

NAME = "engine_overhead"
# The history's last link, read once a transaction to chain the first new event (resolver.history).
CHAIN_READ = "SELECT audit_event.position, audit_event.hash"
# (state before, trigger): none opens or closes a window, none has a guard that reads the database.
STEPS = (
    ("decided", "draft_outcome"),
    ("outcome_draft", "draft_outcome"),
    ("acknowledged", "refer_out"),
    ("referred", "close"),
    ("acknowledged", "close"),
    ("lapsed", "close"),
    ("draft", "withdraw"),
)


def bare_machine():
    from transitions import Machine

    from resolver.workflow.definition import load_definition

    definition = load_definition("dispute")

    class Model:
        pass

    model = Model()
    Machine(
        model=model,
        states=list(definition.states),
        initial=definition.initial,
        transitions=[{"trigger": t.trigger, "source": list(t.sources), "dest": t.dest}
                     for t in definition.transitions.values()],
        auto_transitions=False,
    )
    return model


def run(quick: bool, workdir: Path) -> list[dict]:
    from sqlalchemy import event

    from resolver.actors import Actor
    from resolver.extensions import db
    from resolver.models import Company, Dispute, Resident
    from resolver.workflow.engine import dispute_engine

    rounds, repeats = (200, 3) if quick else (2000, 9)
    model = bare_machine()

    def bare_round():
        for _ in range(rounds):
            for state, trigger in STEPS:
                model.state = state
                model.trigger(trigger)

    app = make_app(workdir, f"sqlite:///{workdir / 'unused.db'}")
    with app.app_context():
        statements = []
        event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        company = Company(name="Aspen", slug="aspen", time_zone="America/Denver")
        dispute = Dispute(id=1, company=company, state="draft", resident=Resident(name="Tammy", email="t@mail.test"))
        actor = Actor.system()
        now = datetime(2026, 3, 9, 16, 0, tzinfo=timezone.utc)

        def engine_round():
            for _ in range(rounds):
                for state, trigger in STEPS:
                    dispute.state = state
                    dispute_engine.fire(dispute, trigger, actor=actor, now=now)
            db.session.expunge_all()  # the audit events are dropped, never written

        bare_round()
        engine_round()
        bare_times, engine_times = [], []
        for _ in range(repeats):  # alternate, so a busy moment on the machine hits both
            bare_times += timed(bare_round, 1)
            engine_times += timed(engine_round, 1)
        others = [sql for sql in statements if not sql.startswith(CHAIN_READ)]
        if others or len(statements) > 2 + repeats:  # one chain read a round
            raise RuntimeError(f"the engine issued SQL while measured: {(others or statements)[0]}")
    per = rounds * len(STEPS)
    bare_us, engine_us = median(bare_times) / per * 1e6, median(engine_times) / per * 1e6
    ratio = engine_us / bare_us
    return [
        row(NAME, "bare transitions", bare_us, "µs/transition", note=f"median of {repeats} runs of {per} transitions"),
        row(NAME, "Resolver engine", engine_us, "µs/transition",
            note="checks, the audit event built and added to the session, windows looked at; no SQL"),
        row(NAME, "engine / bare", ratio, "x", better="lower", note="watched, no target: a transition is a sliver of a request"),
    ]
