"""Two people (or a person and the deadline sweep) move the same dispute at once: exactly one
wins, the other is told the dispute changed, and nothing is done twice."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy.orm.exc import StaleDataError

from resolver import clock
from resolver.actors import Actor
from resolver.deadlines import sweep_deadlines
from resolver.errors import DomainError, StaleDispute
from resolver.extensions import db
from resolver.models import Dispute, ExtensionRequest, StaffUser
from resolver.services import disputes, evidence
from resolver.web.unit_of_work import is_version_conflict

from .dispute_checks import actions, templates


@contextmanager
def another_request(app):
    """A second app context: its own database session, as another request or worker would have."""
    with app.app_context():
        yield db.session
        db.session.rollback()


def load(dispute_id: int) -> Dispute:
    return db.session.get(Dispute, dispute_id)


def test_two_managers_withdraw_at_once_one_wins(app, make_dispute, manager):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    staff = Actor.staff(manager)
    with another_request(app):
        mine = load(dispute.id)  # both pages were drawn from the same version
        with another_request(app):
            disputes.withdraw_dispute(staff, load(dispute.id), reason="Settled on the phone.")
            db.session.commit()
        with pytest.raises(StaleDataError):
            disputes.withdraw_dispute(staff, mine, reason="Settled by email.")
            db.session.commit()
    db.session.expire_all()
    assert load(dispute.id).close_reason == "Settled on the phone."
    assert actions(dispute).count("withdraw") == 1
    assert templates(dispute).count("dispute_withdrawn") == 1


def test_a_form_drawn_from_an_old_version_is_refused_before_anything_moves(make_dispute, manager):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    drawn_from = dispute.version
    disputes.extend_window(Actor.staff(manager), dispute, window="evidence",
                           new_due=dispute.evidence_due_dt + timedelta(days=2), reason="Travelling.")
    db.session.commit()
    with pytest.raises(StaleDispute, match="changed while you were looking at it"):
        disputes.withdraw_dispute(Actor.staff(manager), dispute, reason="Settled.", expected_version=drawn_from)


def test_a_manager_extending_as_the_sweep_lapses_is_told_it_changed(app, make_dispute, manager):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    clock.advance(dispute.evidence_due_dt - clock.now_utc() + timedelta(minutes=1))
    with another_request(app):
        page = load(dispute.id)
        with another_request(app):
            assert sweep_deadlines() == 2
        with pytest.raises(StaleDataError):
            disputes.extend_window(Actor.staff(manager), page, window="evidence",
                                   new_due=clock.now_utc() + timedelta(days=2), reason="Late, but fair.")
            db.session.flush()
    db.session.expire_all()
    assert load(dispute.id).state == "lapsed"
    assert "extend" not in actions(dispute)
    assert "window_extended" not in templates(dispute)


def test_a_resident_submitting_at_the_last_second_as_the_sweep_lapses(app, make_dispute, resident):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    clock.advance(dispute.evidence_due_dt - clock.now_utc())  # the very moment both are possible
    with another_request(app):
        form = load(dispute.id)
        with another_request(app):
            sweep_deadlines()
        with pytest.raises(StaleDataError):
            evidence.submit_evidence(Actor.resident(resident), form, form_key="last-second",
                                     details="Photos of the carpet.", suggested_resolution="Refund.")
            db.session.commit()
    db.session.expire_all()
    assert load(dispute.id).state == "lapsed"
    assert actions(dispute).count("submit_evidence") == 0 and actions(dispute).count("lapse") == 1


def test_racing_threads_exactly_one_succeeds(app, make_dispute, manager):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    both_loaded = threading.Barrier(2)
    outcomes = []

    def withdraw(reason):
        with app.app_context():
            try:
                mine = load(dispute.id)
                staff = Actor.staff(db.session.get(StaffUser, manager.id))
                both_loaded.wait(timeout=30)
                disputes.withdraw_dispute(staff, mine, reason=reason)
                db.session.commit()
                outcomes.append("won")
            except (StaleDataError, DomainError) as error:
                db.session.rollback()
                outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=withdraw, args=(f"Reason {i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["StaleDataError", "won"]
    db.session.expire_all()
    assert actions(dispute).count("withdraw") == 1
    assert templates(dispute).count("dispute_withdrawn") == 1


def test_a_stale_write_in_a_request_reads_as_the_clear_message(app, make_dispute, manager):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()

    def withdraw_from_stale_page(dispute_id):
        page = load(dispute_id)
        with another_request(app):  # someone else acts while this request is under way
            disputes.withdraw_dispute(Actor.staff(db.session.get(StaffUser, manager.id)), load(dispute_id),
                                      reason="Settled.")
            db.session.commit()
        disputes.withdraw_dispute(Actor.staff(manager), page, reason="Settled too.")
        db.session.commit()
        return "withdrawn"

    app.add_url_rule("/test-only/withdraw/<int:dispute_id>", "test_withdraw", withdraw_from_stale_page,
                     methods=["POST"])
    app.config["WTF_CSRF_ENABLED"] = False
    response = app.test_client().post(f"/test-only/withdraw/{dispute.id}")
    assert response.status_code == 409
    assert "This dispute changed while you were looking at it." in response.text
    assert "Reload the page" in response.text
    db.session.expire_all()
    assert actions(dispute).count("withdraw") == 1 and load(dispute.id).close_reason == "Settled."


def test_two_requests_for_more_time_at_once_make_one(app, make_dispute, resident):
    """Asking for more time moves no state, yet two at once (two tabs) must not make two requests."""
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    both_ready = threading.Barrier(2)
    outcomes = []

    def ask(days):
        with app.app_context():
            try:
                mine = load(dispute.id)
                who = Actor.resident(mine.resident)
                both_ready.wait(timeout=30)
                evidence.request_more_time(who, mine, days=days, reason="Away.")
                db.session.commit()
                outcomes.append("asked")
            except Exception as error:  # a request's unit of work retries a conflict: the page then says so
                db.session.rollback()
                if not (isinstance(error, DomainError) or is_version_conflict(error)):
                    raise
                outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=ask, args=(days,)) for days in (3, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes)[-1] == "asked" and outcomes.count("asked") == 1, outcomes
    requests = db.session.scalars(db.select(ExtensionRequest).where(ExtensionRequest.dispute_id == dispute.id)).all()
    assert len(requests) == 1


def test_two_managers_answering_one_request_at_once_make_one_answer(app, make_dispute, resident, manager):
    dispute = make_dispute("awaiting_evidence")
    request = evidence.request_more_time(Actor.resident(resident), dispute, days=3, reason="Away.")
    db.session.commit()
    with another_request(app):
        first_page = load(dispute.id)
        first_request = db.session.get(ExtensionRequest, request.id)
        with another_request(app):
            evidence.answer_more_time(Actor.staff(db.session.get(StaffUser, manager.id)), load(dispute.id),
                                      db.session.get(ExtensionRequest, request.id), grant=False, note="Booked.")
            db.session.commit()
        with pytest.raises(StaleDataError):
            evidence.answer_more_time(Actor.staff(db.session.get(StaffUser, manager.id)), first_page, first_request,
                                      grant=True)
            db.session.commit()
    db.session.expire_all()
    assert db.session.get(ExtensionRequest, request.id).status == "refused"
    assert "extend" not in actions(dispute)


def test_a_member_stepping_aside_from_two_tabs_at_once_is_recorded_once(app, make_dispute, make_panel, manager):
    from resolver.models import OutboxEmail, PanelSeat
    from resolver.services import panel

    dispute = make_dispute("evidence_received")
    members = make_panel(dispute.company, size=3)
    seats = panel.seat_panel(Actor.staff(manager), dispute, [m.id for m in members])
    panel.send_to_panel(Actor.staff(manager), dispute)
    db.session.commit()
    with another_request(app):
        first_tab = db.session.get(PanelSeat, seats[0].id)
        first_tab.member  # the page was drawn before the other tab's step aside
        with another_request(app):
            seat = db.session.get(PanelSeat, seats[0].id)
            panel.recuse(Actor.panel(seat.member), seat, reason="I know the resident.")
            db.session.commit()
        assert panel.recuse(Actor.panel(first_tab.member), first_tab, reason="I know them, sorry.") is None
        db.session.commit()
    db.session.expire_all()
    assert actions(dispute).count("recuse") == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxEmail)
                             .where(OutboxEmail.template == "panel_recusal")) == 1
    assert db.session.get(PanelSeat, seats[0].id).recusal_reason == "I know the resident."
