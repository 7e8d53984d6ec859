"""One unit of work per request: a view's changes commit once when it returns, a refusal or a failure
leaves nothing, a collision is tried once more and then told "this dispute changed", and GET and
HEAD never commit."""
from __future__ import annotations

import re

import pytest
from flask import flash
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from resolver.errors import InvalidInput
from resolver.extensions import db
from resolver.models import AuditEvent, Company, Dispute
from resolver.web import unit_of_work as uow
from resolver.web.manager import actions

from .dispute_checks import actions as history


def version_in(html: str) -> str:
    return re.search(r'name="expected_version" value="(\d+)"', html).group(1)


def count_events() -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)))


def withdraw(staff, dispute):
    version = version_in(staff.get(f"/disputes/{dispute.id}").get_data(as_text=True))
    return staff.post(f"/disputes/{dispute.id}/actions/withdraw", {"expected_version": version, "reason": "Settled."})


def test_a_collision_is_tried_once_more_and_then_the_manager_is_told_the_dispute_changed(
    app, signed_in_client, manager, make_dispute, monkeypatch
):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    staff = signed_in_client(manager)
    before, real, tries = count_events(), actions.withdraw_dispute, []

    def always_beaten(*args, **kwargs):
        tries.append(1)
        real(*args, **kwargs)  # the change is made, then another request turns out to have won the row
        raise StaleDataError("UPDATE statement on table 'dispute' expected to update 1 row(s); 0 were matched.")

    monkeypatch.setattr(actions, "withdraw_dispute", always_beaten)
    response = withdraw(staff, dispute)

    assert len(tries) == 2  # the first try and one retry
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "This dispute changed while you were looking at it" in html and "Nothing was changed" in html
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).state == "awaiting_evidence" and count_events() == before
    assert "is withdrawn" not in staff.get(f"/disputes/{dispute.id}").get_data(as_text=True)  # no stale flash


def test_a_collision_that_clears_on_the_retry_is_done_once(app, signed_in_client, manager, make_dispute, monkeypatch):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    staff = signed_in_client(manager)
    real, tries = actions.withdraw_dispute, []

    def beaten_once(*args, **kwargs):
        tries.append(1)
        real(*args, **kwargs)
        if len(tries) == 1:
            raise StaleDataError("another request changed the dispute first")

    monkeypatch.setattr(actions, "withdraw_dispute", beaten_once)
    response = withdraw(staff, dispute)
    assert response.status_code == 303 and len(tries) == 2
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).state == "withdrawn"
    assert history(dispute).count("withdraw") == 1
    page = staff.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert page.count("The dispute is withdrawn. Its links no longer work.") == 1  # said once, not per try


@pytest.fixture
def probe(app):
    """A test-only page that adds a company and flashes, under ``@unit_of_work``; ``?then=`` says what
    happens after: nothing, a refusal, or a crash."""
    done = {"committed": 0, "abandoned": 0}

    @uow.unit_of_work(refused=lambda error: (f"refused: {error.message}", error.status_code))
    def page():
        from flask import request

        db.session.add(Company(name="Probe", slug="probe"))
        db.session.flush()
        flash("said by the probe")
        uow.after_commit(lambda: done.__setitem__("committed", done["committed"] + 1))
        uow.if_abandoned(lambda: done.__setitem__("abandoned", done["abandoned"] + 1))
        then = request.args.get("then", "")
        if then == "refuse":
            raise InvalidInput("Not today.")
        if then == "crash":
            raise RuntimeError("the disk is full")
        return "done"

    app.add_url_rule("/test-only/probe", "probe", page, methods=["GET", "HEAD", "POST"])
    app.config.update(WTF_CSRF_ENABLED=False, PROPAGATE_EXCEPTIONS=False)
    return done


def probes() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Company.id)).where(Company.slug == "probe"))


def test_get_and_head_never_commit_what_a_view_did(app, probe):
    client = app.test_client()
    for method in (client.get, client.head):
        assert method("/test-only/probe").status_code == 200
        db.session.rollback()  # the test shares the request's session; a real request's ends with the request
        assert probes() == 0 and probe == {"committed": 0, "abandoned": 0}


def test_a_post_commits_once_then_runs_what_waited_for_the_commit(app, probe):
    assert app.test_client().post("/test-only/probe").status_code == 200
    assert probes() == 1 and probe == {"committed": 1, "abandoned": 0}


@pytest.mark.parametrize("then, status", [("refuse", 422), ("crash", 500)])
def test_a_refused_or_failed_post_leaves_nothing_and_says_nothing(app, probe, then, status):
    client = app.test_client()
    response = client.post(f"/test-only/probe?then={then}")
    assert response.status_code == status
    if then == "refuse":
        assert response.get_data(as_text=True) == "refused: Not today."
    assert probes() == 0 and probe == {"committed": 0, "abandoned": 1}
    with client.session_transaction() as session:
        assert "_flashes" not in session


def test_every_page_that_takes_a_post_is_a_unit_of_work(app):
    # Signing out changes only the cookie; everything else that takes a POST commits through one place.
    needs_none = {"manager.logout"}
    posts = {rule.endpoint for rule in app.url_map.iter_rules()
             if "POST" in rule.methods and not rule.endpoint.startswith("test")}
    assert posts - needs_none, "no POST pages found"
    for endpoint in sorted(posts - needs_none):
        assert getattr(app.view_functions[endpoint], "is_unit_of_work", False), endpoint
