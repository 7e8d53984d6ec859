"""Nobody is left out: a resident whose window lapsed is told kindly how to ask to reopen it, and the
manager can reopen it with a reason; a split team reaches the supervisor as well as the manager; the
supervisor's dashboard lists what waits for them up the ladder."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest

from resolver import clock
from resolver.actors import Actor
from resolver.deadlines import sweep_deadlines
from resolver.extensions import db
from resolver.links import current_link, link_url
from resolver.mail import send_pending
from resolver.models import Dispute
from resolver.errors import InvalidInput, StaleDispute, WrongState
from resolver.services import disputes, evidence
from resolver.workdays import format_moment

from .dispute_checks import actions, emails, history, move_to, plain, refused, version_in


def subject(message) -> str:
    return " ".join(message["Subject"].split())


@pytest.fixture
def lapsed(make_dispute):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    move_to(dispute.evidence_due_dt + timedelta(minutes=1))
    sweep_deadlines()
    db.session.expire_all()
    return dispute


# The lapse -------------------------------------------------------------------------------------

def test_a_resident_whose_window_lapsed_is_told_kindly_and_how_to_ask_to_reopen(
    lapsed, resident, manager, company, smtp
):
    due = format_moment(lapsed.evidence_due_dt, company)
    send_pending()
    [message] = [m for m in smtp.to(resident.email) if "reopen" in m["Subject"]]
    assert subject(message) == "We did not get your side in time: you can ask us to reopen it"
    for body in (smtp.text_of(message), plain(smtp.html_of(message))):
        body = " ".join(body.split())
        assert f"Hello {resident.name}," in body
        assert "I'm sorry we did not hear from you in time." in body
        assert f"by {due}, and nothing reached us" in body
        assert lapsed.issue in body
        # The way back: whom to write to or call, and what reopening gives them.
        assert (f"please ask me to reopen it: write to me at {manager.email} or call the office on "
                f"{company.contact_phone}. I can reopen it and give you a fresh 5 days") in body
        assert f"contact {company.supervisor_name} on {company.supervisor_phone}" in body  # up the ladder too
        assert "sorry you feel" not in body
    # The manager is still told, and learns that the resident was told they can ask.
    [to_manager] = [m for m in smtp.to(manager.email) if m["Subject"].startswith("Nothing arrived")]
    assert "reopen it there instead, with a reason" in smtp.text_of(to_manager)


def test_the_manager_reopens_a_lapsed_dispute_with_a_reason_and_the_resident_gets_a_fresh_window(
    app, lapsed, resident, manager, company, signed_in_client, smtp
):
    # The resident's own link says the same as the email: they may ask for it to be reopened.
    invitation = link_url(current_link(lapsed.id, "evidence", resident_id=resident.id))
    closed = app.test_client().get("/" + invitation.split("/", 3)[3]).get_data(as_text=True)
    assert "Ask us to reopen it" in closed and 'name="details"' not in closed

    clock.advance(timedelta(days=2))  # the resident rang two days later: the invitation had gone to spam
    staff = signed_in_client(manager)
    page = staff.get(f"/disputes/{lapsed.id}").get_data(as_text=True)
    assert f'action="/disputes/{lapsed.id}/actions/reopen"' in page
    version = version_in(page)

    refused = staff.post(f"/disputes/{lapsed.id}/actions/reopen", {"expected_version": version, "reason": " "})
    assert refused.status_code == 422
    assert "Say why the dispute is reopened" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert lapsed.state == "lapsed" and "reopen" not in actions(lapsed)

    response = staff.post(f"/disputes/{lapsed.id}/actions/reopen",
                          {"expected_version": version, "reason": "Ms Rivera called: the invitation was in spam."})
    assert response.status_code == 303
    db.session.expire_all()
    now = clock.now_utc()
    assert lapsed.state == "awaiting_evidence" and lapsed.lapsed_dt is None
    assert lapsed.evidence_due_dt > now + timedelta(days=4)
    event = history(lapsed)[-1]
    assert (event.action, event.reason) == ("reopen", "Ms Rivera called: the invitation was in spam.")
    page = staff.get(f"/disputes/{lapsed.id}").get_data(as_text=True)
    assert "Morgan Manager reopened the dispute" in page

    send_pending()
    [message] = [m for m in smtp.to(resident.email) if subject(m).startswith("Your dispute is open again")]
    text = smtp.text_of(message)
    assert f"Please send us your side by {format_moment(lapsed.evidence_due_dt, company)}." in text
    assert "Ms Rivera called: the invitation was in spam." in text
    link = re.search(r"(https?://\S+/r/e/\S+)", text).group(1)
    form = app.test_client().get("/" + link.split("/", 3)[3]).get_data(as_text=True)
    assert 'name="details"' in form  # the form again, not "the time has ended"

    # The fresh window is real: the resident's side is accepted now.
    evidence.submit_evidence(Actor.resident(resident), lapsed, form_key=uuid.uuid4().hex,
                             details="Here are my photos.", suggested_resolution="Refund the charge.")
    db.session.commit()
    assert lapsed.state == "evidence_received"


def test_only_a_lapsed_dispute_reopens_and_a_stale_form_changes_nothing(make_dispute, manager, lapsed):
    staff = Actor.staff(manager)
    waiting = make_dispute("awaiting_evidence")
    error = refused(WrongState, waiting, lambda: disputes.reopen_dispute(staff, waiting, reason="Asked."))
    assert "cannot reopen" in error.message
    refused(StaleDispute, lapsed, lambda: disputes.reopen_dispute(staff, lapsed, reason="Asked.",
                                                                 expected_version=lapsed.version - 1))
    refused(InvalidInput, lapsed, lambda: disputes.reopen_dispute(staff, lapsed, reason="  "))


def test_a_dispute_reopened_after_its_link_expired_gets_a_fresh_link(app, lapsed, manager, resident):
    old = current_link(lapsed.id, "evidence", resident_id=resident.id)
    move_to(old.expires_dt + timedelta(days=1))
    disputes.reopen_dispute(Actor.staff(manager), lapsed, reason="She moved and has only now heard of it.")
    db.session.commit()
    [reopened] = emails(lapsed, "dispute_reopened")
    fresh = current_link(lapsed.id, "evidence", resident_id=resident.id)
    assert fresh.id != old.id and fresh.expires_dt > lapsed.evidence_due_dt
    assert link_url(fresh).split("/")[-1] in reopened.body_text
    page = app.test_client().get("/" + link_url(fresh).split("/", 3)[3]).get_data(as_text=True)
    assert 'name="details"' in page


# A split team ----------------------------------------------------------------------------------

def test_a_deadlock_reaches_the_supervisor_as_well_as_the_manager(make_dispute, manager, company, smtp):
    dispute = make_dispute("deadlocked", votes=("uphold", "resident", "compromise"))
    db.session.commit()
    assert sorted(e.to_addr for e in emails(dispute, "panel_deadlocked")) == [company.supervisor_email]
    send_pending()
    [to_manager] = [m for m in smtp.to(manager.email) if "please decide" in m["Subject"]]
    assert f"#{dispute.id}" in to_manager["Subject"]
    [to_supervisor] = smtp.to(company.supervisor_email)
    assert subject(to_supervisor) == (f"Up the ladder: the team on dispute #{dispute.id} is split, "
                                        f"and {manager.name} decides")
    text = " ".join(smtp.text_of(to_supervisor).split())
    assert f"Hello {company.supervisor_name}," in text
    assert f"must go by {format_moment(dispute.reply_due_dt, company)}" in text
    assert f"/disputes/{dispute.id}" in text
    html = plain(smtp.html_of(to_supervisor))
    assert f"review of dispute #{dispute.id} closed without a decision" in html and "Votes 3 of 3 members" in html
    assert f"{manager.name} now decides" in text and f"{manager.name} now decides" in html


# The supervisor's dashboard ----------------------------------------------------------------------

def escalated(html: str) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for kind, dispute_id in re.findall(r'data-escalation="([a-z_]+)" data-escalated-dispute="(\d+)"', html):
        found.setdefault(kind, set()).add(int(dispute_id))
    return found


def test_the_supervisor_sees_escalations_and_a_manager_does_not(
    app, make_dispute, manager, supervisor, signed_in_client
):
    late = make_dispute("evidence_received")
    db.session.commit()
    move_to(late.reply_due_dt + timedelta(hours=1))
    sweep_deadlines()
    close = make_dispute("decided")
    split = make_dispute("deadlocked", votes=("uphold", "resident", "compromise"))
    calm = make_dispute("awaiting_evidence")
    db.session.commit()
    move_to(close.reply_due_dt - timedelta(hours=12))  # inside the supervisor's warning time

    html = signed_in_client(supervisor).get("/").get_data(as_text=True)
    assert 'data-section="escalations"' in html and "Waiting for you as supervisor" in html
    found = escalated(html)
    assert late.id in found["breached"] and split.id in found["deadlocked"] and close.id in found["at_risk"]
    assert calm.id not in set().union(*found.values())
    section = html.split('data-section="escalations"')[1].split("</section>")[0]
    assert "The team is split (1)" in section and "The written reply is late (1)" in section
    assert "The written reply is at risk (1)" in section  # the split team is listed once, as split
    assert f"{manager.name} is looking after it" in section

    mine = signed_in_client(manager).get("/").get_data(as_text=True)
    assert 'data-section="escalations"' not in mine and escalated(mine) == {}
    assert db.session.get(Dispute, late.id).reply_breached_dt is not None


def test_a_supervisor_with_nothing_escalated_is_told_so(app, make_dispute, supervisor, signed_in_client):
    make_dispute("awaiting_evidence")
    db.session.commit()
    html = signed_in_client(supervisor).get("/").get_data(as_text=True)
    assert "Nothing is escalated to you now" in html and escalated(html) == {}
