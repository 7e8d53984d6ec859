"""The status page behind the same link: where things stand, the dates that matter, asking for more
time (and being told the answer), and the polite page once the window has closed."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from resolver import clock
from resolver.actors import Actor
from resolver.deadlines import sweep_deadlines
from resolver.extensions import db
from resolver.models import AuditEvent, ExtensionRequest, OutboxEmail
from resolver.services.evidence import answer_more_time

from .conftest import Inbox
from .test_resident_support import ResidentForm, counts, dispute_snapshot, evidence_path, hidden, photo


def ask(client, dispute, *, days="3", reason="My photos are on my sister's phone.", csrf=True):
    page = client.get(evidence_path(dispute, "/status")).get_data(as_text=True)
    data = {"days": days, "reason": reason}
    if csrf:
        data["csrf_token"] = hidden(page, "csrf_token")
    return client.post(evidence_path(dispute, "/more-time"), data=data)


def emails(template: str) -> list[OutboxEmail]:
    return db.session.scalars(db.select(OutboxEmail).where(OutboxEmail.template == template)).all()


def test_the_status_page_says_where_things_stand_and_the_dates(client, waiting):
    html = client.get(evidence_path(waiting, "/status")).get_data(as_text=True)
    assert "We are waiting for your side" in html
    assert "We asked for your side</dt><dd>10:00 AM on Monday 9 March 2026" in html
    assert "Send your side by</dt><dd>11:59 PM on Saturday 14 March 2026" in html
    assert "How many more days do you need?" in html

    ResidentForm(client, waiting).send(files=[("a.jpg", photo())])
    html = client.get(evidence_path(waiting, "/status")).get_data(as_text=True)
    assert "We have your side" in html
    assert "We will answer you in writing by 11:59 PM on Monday 16 March 2026" in html
    assert "How many more days do you need?" not in html  # nothing left to extend


def test_asking_for_more_time_tells_the_manager_and_the_page_shows_it(client, waiting):
    before = counts()
    asked = ask(client, waiting)
    assert asked.status_code == 303
    request = db.session.scalars(db.select(ExtensionRequest)).one()
    assert (request.days_asked, request.status, request.reason) == (3, "pending", "My photos are on my sister's phone.")
    assert [e.to_addr for e in emails("more_time_requested")] == [waiting.manager.email]
    assert db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "ask_more_time")).one().actor_kind == "resident"
    html = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert "Your request for 3 more days was sent to Morgan Manager" in html
    assert "you asked for 3 more days" in html and "will answer soon" in html
    assert "How many more days do you need?" not in html
    assert counts()["ExtensionRequest"] == before["ExtensionRequest"] + 1


def test_a_granted_request_moves_the_date_and_the_resident_is_told(client, waiting, manager):
    ask(client, waiting)
    request = db.session.scalars(db.select(ExtensionRequest)).one()
    answer_more_time(Actor.staff(manager), waiting, request, grant=True, note="Of course.")
    db.session.commit()
    html = client.get(evidence_path(waiting, "/status")).get_data(as_text=True)
    assert "That was agreed" in html
    assert "Send your side by</dt><dd>11:59 PM on Tuesday 17 March 2026" in html
    assert "Send your side by 11:59 PM on Tuesday 17 March 2026" in client.get(evidence_path(waiting)).get_data(as_text=True)
    assert [e.to_addr for e in emails("window_extended")] == [waiting.resident.email]


def test_a_refused_request_is_shown_with_the_reason_and_the_resident_is_told(client, waiting, manager):
    ask(client, waiting)
    request = db.session.scalars(db.select(ExtensionRequest)).one()
    answer_more_time(Actor.staff(manager), waiting, request, grant=False, note="The owner needs an answer this week.")
    db.session.commit()
    html = client.get(evidence_path(waiting, "/status")).get_data(as_text=True)
    assert "We could not agree to it" in html and "The owner needs an answer this week." in html
    assert [e.to_addr for e in emails("more_time_refused")] == [waiting.resident.email]


@pytest.mark.parametrize("days, says", [("abc", "Choose how many more days"), ("30", "between 1 and 14")])
def test_a_bad_number_of_days_is_explained(client, waiting, days, says):
    before = counts()
    response = ask(client, waiting, days=days)
    assert response.status_code == 422
    assert says in response.get_data(as_text=True) and "Nothing was changed" in response.get_data(as_text=True)
    assert counts() == before


@pytest.mark.parametrize("days, says", [("", "Choose how many more days you need."),
                                        ("0", "Ask for between 1 and 14 more days.")])
def test_a_refused_request_marks_the_days_and_keeps_the_reason(client, waiting, days, says):
    before = counts()
    response = ask(client, waiting, days=days, reason="The photos are at my sister's house.")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'<p id="problem-text">{says}</p>' in html
    assert '<select id="days" name="days" aria-invalid="true" aria-describedby="problem-text">' in html
    assert "The photos are at my sister&#39;s house." in html
    assert counts() == before


def test_asking_twice_is_explained(client, waiting):
    """The page hides the form once asked; a second tab still showing it gets a clear answer."""
    page = client.get(evidence_path(waiting, "/status")).get_data(as_text=True)
    data = {"days": "2", "reason": "", "csrf_token": hidden(page, "csrf_token")}
    assert client.post(evidence_path(waiting, "/more-time"), data=data).status_code == 303
    again = client.post(evidence_path(waiting, "/more-time"), data=data)
    assert again.status_code == 422
    assert "You have already asked for more time" in again.get_data(as_text=True)
    assert db.session.query(ExtensionRequest).count() == 1


def test_asking_as_the_manager_moves_the_date_still_goes_through(app, client, waiting, manager, monkeypatch):
    """The dispute changes between the page loading and the request saving: it is looked at again
    (not an error page), and the resident's request is recorded once."""
    from resolver.models import Dispute, StaffUser
    from resolver.services.disputes import extend_window
    from resolver.web.resident import views

    real_request = views.request_more_time
    page = client.get(evidence_path(waiting, "/status")).get_data(as_text=True)

    def the_manager_extends_first(*args, **kwargs):
        monkeypatch.setattr(views, "request_more_time", real_request)
        with app.app_context():
            dispute = db.session.get(Dispute, waiting.id)
            extend_window(Actor.staff(db.session.get(StaffUser, manager.id)), dispute, window="evidence",
                          new_due=dispute.evidence_due_dt + timedelta(days=2), reason="Called: away this week.")
            db.session.commit()
        return real_request(*args, **kwargs)

    monkeypatch.setattr(views, "request_more_time", the_manager_extends_first)
    response = client.post(evidence_path(waiting, "/more-time"),
                           data={"days": "3", "reason": "Away.", "csrf_token": hidden(page, "csrf_token")})
    assert response.status_code == 303
    db.session.expire_all()
    assert [r.days_asked for r in db.session.scalars(db.select(ExtensionRequest))] == [3]
    assert [e.action for e in db.session.scalars(db.select(AuditEvent).where(
        AuditEvent.action.in_(("extend", "ask_more_time"))).order_by(AuditEvent.id))] == ["extend", "ask_more_time"]


def test_asking_after_the_deadline_is_refused(client, waiting):
    page = client.get(evidence_path(waiting, "/status")).get_data(as_text=True)
    clock.advance(waiting.evidence_due_dt - clock.now_utc() + timedelta(seconds=1))
    before = counts()
    response = client.post(evidence_path(waiting, "/more-time"),
                           data={"days": "3", "reason": "", "csrf_token": hidden(page, "csrf_token")})
    assert response.status_code == 409
    assert "has already ended" in response.get_data(as_text=True)
    assert counts() == before


def test_asking_without_the_csrf_token_changes_nothing(client, waiting):
    before = counts()
    response = ask(client, waiting, csrf=False)
    assert response.status_code == 400
    assert "needs to be sent again" in response.get_data(as_text=True)
    assert counts() == before


def test_after_the_window_closes_without_a_send_the_link_says_so_politely(client, waiting):
    clock.advance(waiting.evidence_due_dt - clock.now_utc() + timedelta(minutes=1))
    snapshot = dispute_snapshot(waiting.id)
    response = client.get(evidence_path(waiting))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The time to send your side has ended" in html
    assert "We asked for your side by <strong>11:59 PM on Saturday 14 March 2026</strong>, and nothing reached us" in html
    assert "What you can still do" in html
    assert "303-555-0123" in html and "Sam Supervisor" in html and "Front Range Tenant-Landlord Mediation" in html
    assert 'name="details"' not in html  # no form to fill in
    assert dispute_snapshot(waiting.id) == snapshot  # reading the page lapses nothing

    assert sweep_deadlines() >= 1  # the deadline sweep lapses the dispute and tells the manager
    db.session.expire_all()
    assert dispute_snapshot(waiting.id)[0] == "lapsed"
    assert [e.to_addr for e in emails("evidence_lapsed")] == [waiting.manager.email]
    assert "The time to send your side has ended" in client.get(evidence_path(waiting)).get_data(as_text=True)
    assert "The time to send your side ended" in client.get(evidence_path(waiting, "/status")).get_data(as_text=True)


def test_after_the_window_closes_with_a_send_the_link_shows_where_things_stand(client, waiting):
    ResidentForm(client, waiting).send()
    clock.advance(timedelta(days=6))
    html = client.get(evidence_path(waiting)).get_data(as_text=True)
    assert "Where things stand" in html and "We will answer you in writing by" in html
    assert 'name="details"' not in html


def test_the_reminder_before_the_deadline_carries_a_link_that_opens_the_form(client, waiting, smtp):
    from resolver.mail import send_pending

    send_pending()
    smtp.clear()
    clock.advance(waiting.evidence_due_dt - timedelta(days=2) - clock.now_utc() + timedelta(minutes=1))
    assert sweep_deadlines() == 1
    send_pending()
    [reminder] = smtp.to(waiting.resident.email)
    link = re.search(r"http://resolver\.test(/r/e/\S+)", Inbox.text_of(reminder)).group(1)
    html = client.get(link).get_data(as_text=True)
    assert "Send your side by 11:59 PM on Saturday 14 March 2026" in html and "That is tomorrow" in html


def test_a_late_written_answer_is_owned_up_to(client, waiting):
    ResidentForm(client, waiting).send()
    clock.advance(timedelta(days=8))
    html = client.get(evidence_path(waiting, "/status")).get_data(as_text=True)
    assert "is late. We are sorry" in html


@pytest.mark.parametrize("state, says", [
    ("evidence_received", "We have your side, and it is being prepared for the review team."),
    ("panel_review", "is reviewing both sides"),
    ("deadlocked", "The review is finished, and your written answer is being prepared."),
    ("decided", "The review is finished, and your written answer is being prepared."),
    ("outcome_draft", "The review is finished, and your written answer is being prepared."),
    ("outcome_sent", "We sent you our written answer on"),
    ("acknowledged", "You confirmed you received our written answer on"),
    ("referred", "This has been referred to outside mediation"),
    ("lapsed", "The time to send your side ended at"),
])
def test_the_status_page_says_where_things_stand_at_every_step(client, make_dispute, state, says):
    split = {"votes": ("uphold", "resident", "compromise")} if state == "deadlocked" else {}
    dispute = make_dispute(state, **split)
    db.session.commit()
    response = client.get(evidence_path(dispute, "/status"))
    stage = re.search(r'<p id="stage">(.*?)</p>', response.get_data(as_text=True), re.S).group(1)
    assert response.status_code == 200 and says in " ".join(stage.split())
