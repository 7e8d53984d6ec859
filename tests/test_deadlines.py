"""The deadline sweep: each timer fires once, at its moment, whatever the sweeps around it do; days
are counted the company's way, in its time zone."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from resolver import clock, deadlines
from resolver.actors import Actor
from resolver.deadlines import sweep_deadlines
from resolver.errors import GuardFailed
from resolver.extensions import db
from resolver.links import PUBLIC_ADDRESS
from resolver.models import Dispute
from resolver.services import disputes
from resolver.workdays import add_days, format_moment
from resolver.workflow.engine import dispute_engine

from .conftest import START
from .dispute_checks import actions, emails, history, pending, templates, timers

DENVER = ZoneInfo("America/Denver")


def local_midnight(y, m, d, zone=DENVER):
    """The last second of a day in a zone, as UTC: where every window ends."""
    return datetime(y, m, d, 23, 59, 59, tzinfo=zone).astimezone(timezone.utc)


def move_to(moment: datetime) -> None:
    clock.advance(moment - clock.now_utc())


def sweep() -> int:
    """What the worker does: sweep at the clock's now and commit."""
    return sweep_deadlines()


@pytest.fixture
def opened(make_dispute):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    return dispute


# Firing once -----------------------------------------------------------------------------------

def test_nothing_fires_before_its_moment(opened):
    move_to(opened.evidence_due_dt - timedelta(days=2, seconds=1))
    assert sweep() == 0
    assert templates(opened) == ["evidence_invitation"]


def test_the_evidence_reminder_goes_two_days_before_and_only_once(opened, resident):
    move_to(opened.evidence_due_dt - timedelta(days=2))
    assert sweep() == 1
    assert sweep() == 0
    clock.advance(timedelta(hours=1))
    assert sweep() == 0
    [reminder] = emails(opened, "evidence_reminder")
    assert reminder.to_addr == resident.email
    assert f"{PUBLIC_ADDRESS}/r/e/" in reminder.body_text  # filled in with the public address as it is sent
    [fired] = timers(opened, "fired")
    assert (fired.kind, fired.fired_dt, fired.outcome) == ("evidence:remind:0", clock.now_utc() - timedelta(hours=1),
                                                            "reminded 1")


def test_the_window_lapses_after_its_last_second_once(opened, manager):
    move_to(opened.evidence_due_dt + timedelta(seconds=1))
    assert sweep() == 2  # the reminder and the lapse; a reminder after the deadline is not sent
    assert sweep() == 0
    assert "evidence_reminder" not in templates(opened)
    assert [t.outcome for t in timers(opened, "fired")] == ["skipped: the deadline has already passed", "done: lapse"]
    db.session.expire_all()
    assert opened.state == "lapsed" and opened.lapsed_dt == clock.now_utc()
    assert actions(opened).count("lapse") == 1
    assert [e.to_addr for e in emails(opened, "evidence_lapsed")] == [manager.email]
    lapse = history(opened)[-1]
    assert (lapse.actor_kind, lapse.actor_label) == ("system", "Resolver (deadline)")


def test_a_sweep_at_the_exact_due_moment_lapses_the_dispute(opened):
    move_to(opened.evidence_due_dt - timedelta(days=2))
    sweep()
    move_to(opened.evidence_due_dt)
    assert sweep() == 1
    db.session.expire_all()
    assert opened.state == "lapsed"
    assert timers(opened, "fired")[-1].outcome == "done: lapse"


def test_a_timer_for_a_dispute_that_moved_on_does_nothing(opened, resident):
    from resolver.services import evidence

    evidence.submit_evidence(Actor.resident(resident), opened, form_key="k", details="Photos.", suggested_resolution="")
    db.session.commit()
    # The evidence timers were cancelled when the window closed; none of them ever fires.
    move_to(opened.evidence_due_dt + timedelta(days=1))
    sweep()
    assert {t.kind for t in timers(opened, "cancelled")} == {"evidence:due", "evidence:remind:0"}
    assert "evidence_reminder" not in templates(opened) and opened.state == "evidence_received"


def test_a_refused_due_step_leaves_no_half_change(opened, monkeypatch):
    def refusing_lapse(actor, dispute):
        dispute.lapsed_dt = clock.now_utc()
        raise GuardFailed("The resident still has time.")

    monkeypatch.setattr(disputes, "lapse_dispute", refusing_lapse)
    move_to(opened.evidence_due_dt + timedelta(minutes=1))
    sweep()
    db.session.expire_all()
    assert (opened.state, opened.lapsed_dt) == ("awaiting_evidence", None)
    due = [t for t in timers(opened) if t.kind == "evidence:due"][0]
    assert (due.status, due.outcome) == ("fired", "not done: The resident still has time.")


def test_a_failing_timer_is_retried_later_and_the_others_still_fire(make_dispute, make_resident, company, manager):
    good = make_dispute("awaiting_evidence")
    staff = Actor.staff(manager)
    bad = disputes.create_dispute(staff, resident=make_resident(company), issue="Noise.")
    disputes.open_dispute(staff, bad)
    bad.resident.email = ""  # since the invitation went, the address was lost: the reminder cannot go
    db.session.commit()
    move_to(good.evidence_due_dt - timedelta(days=2))
    assert sweep() == 1
    assert len(emails(good, "evidence_reminder")) == 1 and emails(bad, "evidence_reminder") == []
    [failing] = [t for t in timers(bad) if t.kind == "evidence:remind:0"]
    assert failing.status == "pending" and failing.outcome.startswith("failed, will retry")
    assert failing.due_dt == clock.now_utc() + deadlines.RETRY_AFTER
    bad.resident.email = "found.again@mail.test"
    db.session.commit()
    clock.advance(deadlines.RETRY_AFTER)
    assert sweep() == 1
    assert [e.to_addr for e in emails(bad, "evidence_reminder")] == ["found.again@mail.test"]


# Two sweeps ------------------------------------------------------------------------------------

def _many_due(make_dispute, how_many=6):
    made = [make_dispute("awaiting_evidence") for _ in range(how_many)]
    db.session.commit()
    move_to(made[0].evidence_due_dt + timedelta(minutes=1))
    return made


def _run_in_threads(app, *targets):
    results, errors = {}, []

    def run(name, target):
        try:
            with app.app_context():
                results[name] = target()
                db.session.remove()
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def _assert_each_fired_once(made):
    db.session.expire_all()
    for dispute in made:
        assert dispute.state == "lapsed"
        assert actions(dispute).count("lapse") == 1
        assert templates(dispute).count("evidence_lapsed") == 1
        assert templates(dispute).count("evidence_reminder") == 0  # its moment passed before any sweep
        assert all(t.status == "fired" for t in timers(dispute))


def test_two_sweeps_at_once_fire_each_timer_once(app, make_dispute):
    made = _many_due(make_dispute)
    start = threading.Barrier(2)

    def racing_sweep():
        start.wait()
        return sweep_deadlines()

    results = _run_in_threads(app, racing_sweep, racing_sweep)
    assert sum(results.values()) == 2 * len(made)
    _assert_each_fired_once(made)


def test_a_sweep_that_read_the_same_timers_as_another_claims_none_of_them(app, make_dispute, monkeypatch):
    made = _many_due(make_dispute, how_many=3)
    first_has_read, second_is_done = threading.Event(), threading.Event()

    def slowed(read):
        """The sweep's batch as it reads it (SQLite) or locks and marks it (PostgreSQL), then a pause."""
        def slow_read(now, limit):
            found = read(now, limit)
            if threading.current_thread().name == "slow":
                first_has_read.set()
                second_is_done.wait(timeout=30)
            return found
        return slow_read

    for name in ("due_timers", "claim_due_timers"):
        monkeypatch.setattr(deadlines, name, slowed(getattr(deadlines, name)))
    results = {}

    def slow():
        with app.app_context():
            results["slow"] = sweep_deadlines()
            db.session.remove()

    thread = threading.Thread(target=slow, name="slow")
    thread.start()
    assert first_has_read.wait(timeout=30)
    _run_in_threads(app, lambda: results.setdefault("fast", sweep_deadlines()))
    second_is_done.set()
    thread.join(timeout=60)
    # One sweep claimed everything and the other nothing. (On SQLite the slow one finds the timers
    # already fired; on PostgreSQL it holds them locked and the fast one skips them.)
    assert sorted([results["fast"], results["slow"]]) == [0, 2 * len(made)]
    _assert_each_fired_once(made)


# Reply window: reminders, risk and breach ------------------------------------------------------

def test_reply_reminders_go_to_the_manager_twice_and_to_the_supervisor_the_day_before(make_dispute, manager, company):
    dispute = make_dispute("evidence_received")
    db.session.commit()
    due = dispute.reply_due_dt
    move_to(due - timedelta(days=3, seconds=1))
    assert sweep() == 0
    move_to(due - timedelta(days=3))
    assert sweep() == 1
    assert [e.to_addr for e in emails(dispute, "reply_reminder")] == [manager.email]
    move_to(due - timedelta(days=1))
    assert sweep() == 2
    assert [e.to_addr for e in emails(dispute, "reply_at_risk")] == [company.supervisor_email]
    reminders = emails(dispute, "reply_reminder")
    assert [e.to_addr for e in reminders] == [manager.email, manager.email]
    assert "in 1 day" in reminders[-1].body_text or "in 24 hours" in reminders[-1].body_text, reminders[-1].body_text


def test_the_reply_breach_is_recorded_once_and_escalated(make_dispute, manager, company):
    dispute = make_dispute("evidence_received")
    db.session.commit()
    move_to(dispute.reply_due_dt + timedelta(minutes=5))
    sweep()
    sweep()
    clock.advance(timedelta(days=1))
    sweep()
    db.session.expire_all()
    assert dispute.reply_breached_dt == dispute.reply_due_dt + timedelta(minutes=5)
    assert dispute.state == "evidence_received"
    assert actions(dispute).count("reply_breached") == 1
    assert sorted(e.to_addr for e in emails(dispute, "reply_breached")) == sorted([manager.email,
                                                                                   company.supervisor_email])


# Extensions ------------------------------------------------------------------------------------

def test_an_extension_moves_the_lapse_and_keeps_a_reminder_already_sent(opened, manager):
    staff = Actor.staff(manager)
    old_due = opened.evidence_due_dt
    move_to(old_due - timedelta(days=2))
    sweep()
    new_due = old_due + timedelta(days=4)
    disputes.extend_window(staff, opened, window="evidence", new_due=new_due, reason="Travelling.")
    db.session.commit()
    assert pending(opened) == {"evidence:remind:0": new_due - timedelta(days=2), "evidence:due": new_due}
    assert [(t.kind, t.due_dt) for t in timers(opened, "fired")] == [("evidence:remind:0", old_due - timedelta(days=2))]

    move_to(old_due + timedelta(hours=1))
    assert sweep() == 0
    assert opened.state == "awaiting_evidence"
    move_to(new_due - timedelta(days=2))
    assert sweep() == 1
    assert len(emails(opened, "evidence_reminder")) == 2
    move_to(new_due + timedelta(seconds=1))
    assert sweep() == 1
    db.session.expire_all()
    assert opened.state == "lapsed"
    [extend] = [e for e in history(opened) if e.action == "extend"]
    assert (extend.data["old_due"], extend.data["new_due"]) == (old_due.isoformat(), new_due.isoformat())


def test_a_short_extension_skips_a_reminder_whose_moment_has_passed(opened, manager):
    move_to(opened.evidence_due_dt - timedelta(hours=12))
    new_due = opened.evidence_due_dt + timedelta(days=1)
    disputes.extend_window(Actor.staff(manager), opened, window="evidence", new_due=new_due, reason="One more day.")
    assert pending(opened) == {"evidence:due": new_due}


# Counting days ---------------------------------------------------------------------------------

def test_calendar_days_end_at_midnight_local_time(company):
    assert add_days(START, 5, company) == local_midnight(2026, 3, 14)
    assert format_moment(local_midnight(2026, 3, 14), company) == "11:59 PM on Saturday 14 March 2026 (America/Denver)"


def test_windows_follow_the_company_setting(make_company, make_staff, make_resident):
    company = make_company(evidence_window_days=10, reply_window_days=3)
    resident = make_resident(company)
    staff = Actor.staff(make_staff(company))
    dispute = disputes.create_dispute(staff, resident=resident, issue="Noise from upstairs.")
    disputes.open_dispute(staff, dispute)
    assert dispute.evidence_due_dt == local_midnight(2026, 3, 19)


def test_business_days_skip_weekends(make_company):
    company = make_company(is_business_days=True)
    thursday = datetime(2026, 3, 12, 17, 0, tzinfo=timezone.utc)
    assert add_days(thursday, 5, company) == local_midnight(2026, 3, 19)  # Fri, Mon, Tue, Wed, Thu
    saturday = datetime(2026, 3, 14, 17, 0, tzinfo=timezone.utc)
    assert add_days(saturday, 1, company) == local_midnight(2026, 3, 16)


def test_business_days_skip_the_company_holidays(make_company):
    company = make_company(is_business_days=True, holidays=["2026-03-16", "2026-03-19"])
    thursday = datetime(2026, 3, 12, 17, 0, tzinfo=timezone.utc)
    assert add_days(thursday, 5, company) == local_midnight(2026, 3, 23)  # Fri, Tue, Wed, Fri, Mon


def test_an_opened_dispute_counts_business_days(make_company, make_staff, make_resident):
    company = make_company(is_business_days=True, holidays=["2026-03-13"])
    staff = Actor.staff(make_staff(company))
    dispute = disputes.create_dispute(staff, resident=make_resident(company), issue="Parking.")
    disputes.open_dispute(staff, dispute)  # Monday 9 March: Tue, Wed, Thu, (Fri off), Mon, Tue
    assert dispute.evidence_due_dt == local_midnight(2026, 3, 17)
    assert pending(dispute)["evidence:remind:0"] == local_midnight(2026, 3, 15)


@pytest.mark.parametrize(
    "zone, due",
    [
        ("America/Denver", (2026, 3, 14)),
        ("Pacific/Auckland", (2026, 3, 15)),  # it is already Tuesday 10 March there at the start
        ("UTC", (2026, 3, 14)),
    ],
)
def test_the_day_count_starts_from_the_local_date(make_company, zone, due):
    company = make_company(time_zone=zone)
    assert add_days(START, 5, company) == local_midnight(*due, zone=ZoneInfo(zone))


def test_a_window_across_the_clock_change_still_ends_at_local_midnight(make_company):
    company = make_company()
    friday_before_dst = datetime(2026, 3, 6, 18, 0, tzinfo=timezone.utc)  # 11:00 MST
    due = add_days(friday_before_dst, 5, company)
    assert due == datetime(2026, 3, 12, 5, 59, 59, tzinfo=timezone.utc)  # 23:59:59 MDT, UTC-6
    assert due.astimezone(DENVER).utcoffset() == timedelta(hours=-6)
    assert friday_before_dst.astimezone(DENVER).utcoffset() == timedelta(hours=-7)


def test_every_stored_moment_is_aware_utc(opened):
    db.session.expire_all()
    fresh = db.session.get(Dispute, opened.id)
    for value in (fresh.opened_dt, fresh.evidence_due_dt, *(t.due_dt for t in timers(fresh))):
        assert value.tzinfo is not None and value.utcoffset() == timedelta(0)


# The panel window ends early enough to write the letter -----------------------------------------

def test_the_panel_window_ends_two_days_before_the_reply_deadline(make_dispute):
    dispute = make_dispute("evidence_received")
    panel = dispute_engine.definition.windows["panel"]
    reply_due = dispute.reply_due_dt
    # Opened at once: three days fit well before the reply deadline.
    assert dispute_engine.window_due(dispute, panel, START) == local_midnight(2026, 3, 12)
    # Opened late: cut to two days before the reply deadline.
    late = reply_due - timedelta(days=4)
    assert dispute_engine.window_due(dispute, panel, late) == reply_due - timedelta(days=2)
    # Opened very late: still a day for the team, but never past the reply deadline itself.
    later = reply_due - timedelta(days=2, hours=6)
    assert dispute_engine.window_due(dispute, panel, later) == later + timedelta(hours=24)
    last_minute = reply_due - timedelta(hours=3)
    assert dispute_engine.window_due(dispute, panel, last_minute) == reply_due
    # Sent after the reply deadline: the team still gets a day, not a deadline already gone.
    overdue = reply_due + timedelta(hours=5)
    assert dispute_engine.window_due(dispute, panel, overdue) == overdue + timedelta(hours=24)


def test_a_team_sent_the_case_after_the_reply_deadline_still_has_a_day_to_vote(make_dispute, make_panel, company,
                                                                               manager):
    from resolver.services import panel

    dispute = make_dispute("evidence_received")
    db.session.commit()
    move_to(dispute.reply_due_dt + timedelta(hours=2))
    sweep()  # the breach is recorded and escalated
    staff = Actor.staff(manager)
    seats = panel.seat_panel(staff, dispute, [m.id for m in make_panel(company, size=3)])
    panel.send_to_panel(staff, dispute)
    db.session.commit()
    assert dispute.panel_due_dt == clock.now_utc() + timedelta(hours=24)
    clock.advance(timedelta(hours=6))
    sweep()
    assert dispute.state == "panel_review"
    panel.record_vote(Actor.panel(seats[0].member), seats[0], choice="uphold", reason="The inspection report.")
    db.session.commit()
