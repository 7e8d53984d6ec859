"""The workflow engine: the definition is consistent, the one shared machine keeps no rows, a step
that may not happen says what may, and a step that fails halfway leaves nothing behind."""
from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy.exc import IntegrityError

from resolver.actors import Actor
from resolver.errors import GuardFailed, WrongState
from resolver.extensions import db
from resolver.models import Company, Dispute
from resolver.resources import resource_dir
from resolver.services import disputes, notify
from resolver.workflow import engine as engine_module
from resolver.workflow.definition import build_definition, load_definition, parse_duration
from resolver.workflow.engine import Engine, dispute_engine
from resolver.workflow.guards import GUARDS

from .dispute_checks import history, rolled_back, snapshot

WORKFLOW = load_definition("dispute")
DISPUTE_COLUMNS = set(Dispute.__table__.columns.keys())
RAW = yaml.safe_load((resource_dir("workflows") / "dispute.yaml").read_text(encoding="utf-8"))


# The definition ------------------------------------------------------------------------------

def test_the_definition_names_only_columns_the_dispute_has():
    for state in WORKFLOW.states.values():
        assert set(state.requires) <= DISPUTE_COLUMNS, state.name
    for window in WORKFLOW.windows.values():
        assert window.due_column in DISPUTE_COLUMNS, window.name
        assert window.setting is None or hasattr(Company, window.setting), window.setting


def test_every_guard_and_every_deadline_action_exists():
    from resolver import deadlines

    named = {g for t in WORKFLOW.transitions.values() for g in t.guards}
    assert named <= set(GUARDS)
    source = Path(deadlines.__file__).read_text()
    for window in WORKFLOW.windows.values():
        assert f'"{window.on_due}":' in source, f"the sweep does not know {window.on_due!r}"
        for reminder in window.reminders:
            assert f'to == "{reminder.to}"' in source, f"the sweep cannot remind {reminder.to!r}"


def test_every_email_the_workflow_sends_has_its_template_pair():
    emails = resource_dir("templates") / "emails"
    for window in WORKFLOW.windows.values():
        for reminder in window.reminders:
            for suffix in (".txt", ".html"):
                assert (emails / f"{reminder.email}{suffix}").is_file(), f"emails/{reminder.email}{suffix}"


def test_every_state_is_reachable_and_only_terminal_states_are_final():
    reached, frontier = {WORKFLOW.initial}, [WORKFLOW.initial]
    while frontier:
        state = frontier.pop()
        for t in WORKFLOW.transitions.values():
            if state in t.sources and t.dest not in reached:
                reached.add(t.dest)
                frontier.append(t.dest)
    assert reached == set(WORKFLOW.states)
    for state in WORKFLOW.states:
        assert (WORKFLOW.allowed_triggers(state) == []) == (state in WORKFLOW.terminal), state


def test_a_window_is_active_only_in_states_that_keep_its_due_column():
    # Entering a window sets its column; the state's check constraint must not demand it elsewhere.
    for window in WORKFLOW.windows.values():
        for state in window.active_in:
            assert state not in WORKFLOW.terminal


def test_the_panel_window_ends_before_the_reply_window():
    panel = WORKFLOW.windows["panel"]
    assert panel.ends_before == ("reply", timedelta(days=2))
    assert panel.active_in <= WORKFLOW.windows["reply"].active_in


def _changed(mutate) -> dict:
    raw = copy.deepcopy(RAW)
    mutate(raw)
    return raw


@pytest.mark.parametrize(
    "mutate, complaint",
    [
        (lambda raw: raw.update(initial="limbo"), "initial state 'limbo'"),
        (lambda raw: raw["transitions"]["open"].update(dest="opened"), "open: unknown state 'opened'"),
        (lambda raw: raw["transitions"]["close"].update(source=["lapsed", "archived"]),
         "close: unknown state 'archived'"),
        (lambda raw: raw["windows"]["evidence"].update(active_in=["waiting"]), "window evidence: unknown state"),
        (lambda raw: raw["windows"]["panel"]["ends_before"].update(window="letter"), "ends before unknown window"),
        (lambda raw: raw["groups"].update(letter_sent=["outcome_sent", "posted"]), "group letter_sent: unknown state 'posted'"),
    ],
)
def test_an_inconsistent_definition_is_refused_saying_why(mutate, complaint):
    with pytest.raises(ValueError, match="workflow 'dispute' is inconsistent") as caught:
        build_definition(_changed(mutate))
    assert complaint in str(caught.value)


def test_a_definition_whose_decisions_resolver_does_not_know_is_refused():
    with pytest.raises(ValueError, match="lists decisions .*'split_the_difference'"):
        build_definition(_changed(lambda raw: raw.update(decisions=["uphold", "resident", "split_the_difference"])))


def test_code_asks_the_definition_which_states_meet_a_condition():
    assert WORKFLOW.states_where(window="reply", can="withdraw") == WORKFLOW.windows["reply"].active_in
    assert WORKFLOW.states_where(group="letter_sent", can="refer_out") == {"outcome_sent", "acknowledged"}
    assert WORKFLOW.states_where(terminal=True) == {"closed", "withdrawn"}
    assert WORKFLOW.can("decide", "panel_review") and not WORKFLOW.can("decide", "deadlocked")
    assert WORKFLOW.state_of("send_to_panel") == "panel_review"


def test_a_team_that_opens_late_still_gets_the_workflows_minimum_time(make_dispute):
    """The minimum is read from the workflow: a definition with another minimum gives another floor."""
    dispute = make_dispute("evidence_received")
    start = dispute.reply_due_dt - timedelta(hours=1)  # the reply deadline is an hour away
    panel = WORKFLOW.windows["panel"]
    assert Engine(WORKFLOW).window_due(dispute, panel, start) == dispute.reply_due_dt
    late = dispute.reply_due_dt + timedelta(hours=2)   # the reply deadline has passed
    assert Engine(WORKFLOW).window_due(dispute, panel, late) == late + timedelta(hours=24)
    longer = build_definition(_changed(lambda raw: raw["panel"].update(minimum_time="48 hours")))
    assert Engine(longer).window_due(dispute, panel, late) == late + timedelta(hours=48)


def test_a_definition_naming_an_unknown_guard_is_refused():
    raw = _changed(lambda raw: raw["transitions"]["open"].update(guards=["moon_is_full"]))
    with pytest.raises(ValueError, match="guards Resolver does not have: moon_is_full"):
        Engine(build_definition(raw))


@pytest.mark.parametrize("text, expected", [("5 days", timedelta(days=5)), ("1 day", timedelta(days=1)),
                                            (" 12 hours ", timedelta(hours=12))])
def test_durations_read_as_written(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["5", "two days", "3 weeks", "-1 days"])
def test_a_duration_that_does_not_read_is_refused(text):
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_star_sources_mean_every_state_that_is_not_terminal():
    raw = _changed(lambda raw: raw["transitions"]["withdraw"].update(source="*"))
    raw["transitions"]["withdraw"]["source"] = ["*"]
    withdraw = build_definition(raw).transitions["withdraw"]
    assert set(withdraw.sources) == set(WORKFLOW.states) - WORKFLOW.terminal


# The shared machine --------------------------------------------------------------------------

def test_one_machine_per_workflow_built_once_without_auto_transitions():
    assert engine_module.dispute_engine is dispute_engine
    machine = dispute_engine.machine
    assert machine.auto_transitions is False
    assert set(machine.events) == set(WORKFLOW.transitions)  # no to_<state> shortcuts


def test_the_machine_holds_no_models_after_a_request(app, make_dispute, manager):
    dispute = make_dispute("draft")
    db.session.commit()

    def open_it(dispute_id):
        staff = Actor.staff(manager)
        disputes.open_dispute(staff, db.session.get(Dispute, dispute_id))
        db.session.commit()
        return "opened"

    app.add_url_rule("/test-only/open/<int:dispute_id>", "test_open", open_it, methods=["POST"])
    app.config["WTF_CSRF_ENABLED"] = False
    response = app.test_client().post(f"/test-only/open/{dispute.id}")
    assert response.status_code == 200, response.text
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).state == "awaiting_evidence"
    assert dispute_engine.machine.models == []
    # Nothing was bolted onto the row either: no trigger methods, no may_ checks.
    assert not hasattr(dispute, "open") and not hasattr(dispute, "may_open") and not hasattr(dispute, "trigger")


def test_the_machine_keeps_no_model_after_a_refusal_either(make_dispute, manager):
    dispute = make_dispute("awaiting_evidence")
    with pytest.raises(WrongState):
        dispute_engine.fire(dispute, "close", actor=Actor.staff(manager))
    with pytest.raises(GuardFailed):
        dispute_engine.fire(dispute, "lapse", actor=Actor.system())
    assert dispute_engine.machine.models == []


# Wrong state, refused guards -----------------------------------------------------------------

STEPS_REFUSED = [(state, trigger) for state in WORKFLOW.states for trigger in WORKFLOW.transitions
                 if state not in WORKFLOW.transitions[trigger].sources]


@pytest.mark.parametrize("state, trigger", STEPS_REFUSED)
def test_a_step_from_the_wrong_state_names_the_state_and_what_is_allowed(state, trigger):
    dispute = Dispute(state=state)
    with pytest.raises(WrongState) as caught:
        dispute_engine.fire(dispute, trigger, actor=Actor.system())
    error = caught.value
    assert dispute.state == state
    assert error.message.startswith(f"A dispute that is {WORKFLOW.label(state)} cannot {trigger.replace('_', ' ')}.")
    allowed = WORKFLOW.allowed_triggers(state)
    assert error.allowed == allowed
    expected = ", ".join(t.replace("_", " ") for t in allowed) or "nothing (this dispute is finished)"
    assert error.message.endswith(f"Allowed now: {expected}.")


def test_an_unknown_step_is_named():
    with pytest.raises(WrongState, match="Resolver has no step called 'explode'"):
        dispute_engine.fire(Dispute(state="draft"), "explode", actor=Actor.system())


def test_a_refused_guard_keeps_the_state_and_adds_no_history(make_dispute, manager):
    dispute = make_dispute("evidence_received")
    db.session.commit()
    before = snapshot(dispute.id)
    with pytest.raises(GuardFailed) as caught:
        dispute_engine.fire(dispute, "send_to_panel", actor=Actor.staff(manager))
    assert caught.value.message == "Choose the resolution team before sending the case to it."
    assert "send_to_panel" in caught.value.allowed
    assert dispute.state == "evidence_received"
    db.session.flush()
    db.session.commit()  # even committed, a refusal leaves nothing behind
    assert snapshot(dispute.id) == before


def test_a_step_sets_its_columns_moves_windows_and_writes_one_history_line(make_dispute, manager):
    dispute = make_dispute("draft")
    dispute.opened_dt = dispute.created_dt
    event = dispute_engine.fire(dispute, "open", actor=Actor.staff(manager), reason="Still disputed.",
                                data={"channel": "phone"})
    db.session.commit()
    assert dispute.state == "awaiting_evidence" and dispute.evidence_due_dt is not None
    assert history(dispute)[-1] is event
    assert (event.action, event.from_state, event.to_state, event.reason, event.data) == (
        "open", "draft", "awaiting_evidence", "Still disputed.", {"channel": "phone"})


def test_the_schema_refuses_a_state_without_its_columns(make_dispute):
    dispute = make_dispute("draft")
    db.session.commit()
    dispute.state = "awaiting_evidence"  # moved by hand, without opened_dt and evidence_due_dt
    with pytest.raises(IntegrityError, match="awaiting_evidence_complete"):
        db.session.commit()
    db.session.rollback()


def test_the_history_cannot_be_rewritten(make_dispute):
    dispute = make_dispute("draft")
    db.session.commit()
    created = history(dispute)[0]
    created.reason = "edited"
    with pytest.raises(PermissionError, match="append-only"):
        db.session.commit()
    db.session.rollback()


# A step that fails halfway -------------------------------------------------------------------

def test_a_failure_after_the_move_rolls_back_state_history_timers_links_and_emails(make_dispute, manager, monkeypatch):
    dispute = make_dispute("draft")

    def broken_queue(*args, **kwargs):
        raise RuntimeError("the invitation could not be rendered")

    monkeypatch.setattr(notify, "queue_email", broken_queue)  # the verbs queue their emails through notify.tell
    rolled_back(RuntimeError, dispute, lambda: disputes.open_dispute(Actor.staff(manager), dispute),
            "could not be rendered")
    assert db.session.get(Dispute, dispute.id).state == "draft"


def test_a_failing_request_rolls_back_the_whole_change(app, make_dispute, manager, monkeypatch):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    before = snapshot(dispute.id)

    def withdraw_then_fail(dispute_id):
        d = db.session.get(Dispute, dispute_id)
        disputes.withdraw_dispute(Actor.staff(manager), d, reason="Settled.")
        db.session.flush()  # the state, history, revoked links and email are written...
        disputes.close_dispute(Actor.staff(manager), d)  # ...then a later step is refused
        db.session.commit()
        return "done"

    app.add_url_rule("/test-only/withdraw/<int:dispute_id>", "test_withdraw", withdraw_then_fail, methods=["POST"])
    app.config["WTF_CSRF_ENABLED"] = False
    response = app.test_client().post(f"/test-only/withdraw/{dispute.id}")
    assert response.status_code == 409
    assert "cannot close" in response.text and "nothing (this dispute is finished)" in response.text
    assert snapshot(dispute.id) == before


def test_a_guard_that_raises_moves_nothing(make_dispute, manager, monkeypatch):
    dispute = make_dispute("draft")

    def exploding_guard(dispute, now):
        raise RuntimeError("the resident table is unreadable")

    opening = dispute_engine.machine.events["open"].transitions["draft"]
    guard_names = [c.func.__name__ for t in opening for c in t.conditions]
    assert guard_names == ["has_resident_email"]
    monkeypatch.setitem(GUARDS, "has_resident_email", exploding_guard)
    broken = Engine(WORKFLOW)
    with pytest.raises(RuntimeError):
        broken.fire(dispute, "open", actor=Actor.staff(manager))
    assert dispute.state == "draft" and broken.machine.models == []


def test_timers_scheduled_earlier_in_the_same_step_are_cancelled_with_the_rest(make_dispute, frozen_clock):
    """Inside a step nothing is flushed (the state and its columns must land together), so timers
    scheduled earlier in it are not rows yet; moving the deadline again must cancel them too, or a
    reminder would go out for a deadline that no longer holds."""
    from resolver.models import Timer

    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    first_due = dispute.evidence_due_dt
    now = frozen_clock.now_utc()
    with db.session.no_autoflush:  # as during fire()
        dispute_engine.move_window(dispute, "evidence", first_due + timedelta(days=2), now)
        dispute_engine.move_window(dispute, "evidence", first_due + timedelta(days=4), now)
    db.session.commit()
    pending = db.session.scalars(
        db.select(Timer).where(Timer.dispute_id == dispute.id, Timer.status == "pending")).all()
    kinds = [t.kind for t in pending]
    assert len(kinds) == len(set(kinds)), f"timers left from the first move: {sorted(kinds)}"
    assert [t.due_dt for t in pending if t.kind == "evidence:due"] == [first_due + timedelta(days=4)]
