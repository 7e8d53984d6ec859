"""The resident's form through the real HTTP stack: what the page says, what a send records, the
receipt, sending more than once, the double-click, the deadline, and the one-time key."""
from __future__ import annotations

import hashlib
import re
import threading
from datetime import timedelta

import pytest
from markupsafe import escape

from resolver import clock
from resolver.extensions import db
from resolver.files import file_exists, read_bytes
from resolver.models import AuditEvent, EvidenceFile, OutboxEmail, Submission

from .test_resident_support import ResidentForm, counts, dispute_snapshot, evidence_path, hidden, pdf, photo


@pytest.fixture
def waiting(make_dispute, company, manager, resident):
    dispute = make_dispute("awaiting_evidence", items=[
        {"description": "Carpet cleaning", "amount_cents": 15000, "company_reason": "Pet stains in the bedroom."},
        {"description": "Wall repair", "amount_cents": 4000, "company_reason": "Nail holes in the living room."},
    ])
    db.session.commit()
    return dispute


def test_the_page_says_whose_it_is_what_it_is_about_and_the_deadline(client, waiting):
    page = ResidentForm(client, waiting).open()
    html = page.get_data(as_text=True)
    assert f"This page is for <strong>Tammy Rivera</strong>, unit {waiting.unit.label}" in html
    assert "carpet-cleaning charge on the deposit is unfair" in html  # the issue as recorded
    assert "Send your side by 11:59 PM on Saturday 14 March 2026" in html
    assert "That is in 5 days (America/Denver time)." in html
    for label in ("What happened, in your own words", "What would put this right for you?",
                  "Amount you are asking for, if any (optional)", "Photos and documents (optional)",
                  "Your response about “Carpet cleaning”", "Your response about “Wall repair”"):
        assert label in html
    # every field has a label pointing at it
    for field_id in re.findall(r'<(?:textarea|input|select)[^>]* id="([^"]+)"', html):
        assert f'for="{field_id}"' in html, field_id
    assert 'enctype="multipart/form-data"' in html and 'name="csrf_token"' in html
    assert "Morgan Manager" in html and "303-555-0123" in html  # a person to talk to


def test_a_send_records_everything_and_gives_a_receipt_with_the_reply_date(client, waiting, smtp):
    form = ResidentForm(client, waiting)
    items = {f"item-{item.id}": f"Not fair: {item.description}" for item in waiting.items}
    sent = form.send(details="I cleaned the carpet myself.", amount="$150.00",
                     files=[("bedroom.jpg", photo()), ("receipt.pdf", pdf())], extra=items)
    assert sent.status_code == 303
    receipt = client.get(sent.headers["Location"])
    html = receipt.get_data(as_text=True)
    assert receipt.status_code == 200
    submission = db.session.scalars(db.select(Submission)).one()
    assert submission.details == "I cleaned the carpet myself."
    assert submission.suggested_amount_cents == 15000
    assert submission.item_responses == {str(i.id): f"Not fair: {i.description}" for i in waiting.items}
    assert [f.original_name for f in submission.files] == ["bedroom.jpg", "receipt.pdf"]
    for f in submission.files:
        assert f.original_name in html and f.sha256 in html
        assert read_bytes(f.sha256)  # stored under its hash
    # received Monday 9 March, 10:00 AM in Denver: the written answer is due 7 days later, at the end of the day
    assert "We will answer you in writing by 11:59 PM on Monday 16 March 2026" in html
    assert dispute_snapshot(waiting.id)[0] == "evidence_received"
    emails = db.session.scalars(db.select(OutboxEmail).order_by(OutboxEmail.id)).all()
    assert {(e.template, e.to_addr) for e in emails} >= {
        ("evidence_receipt", waiting.resident.email), ("evidence_arrived", waiting.manager.email)}


def test_the_resident_may_send_more_than_once_and_each_send_is_kept(client, waiting):
    first = ResidentForm(client, waiting)
    assert first.send(details="First part.", files=[("one.jpg", photo(color=(1, 2, 3)))]).status_code == 303
    clock.advance(timedelta(days=1))
    second = ResidentForm(client, waiting)
    html = second.open().get_data(as_text=True)
    assert "We already have what you sent" in html and "You have already sent 1 file" in html
    assert second.send(details="Something I remembered.", files=[("two.pdf", pdf())]).status_code == 303
    assert [s.details for s in db.session.scalars(db.select(Submission).order_by(Submission.id))] == [
        "First part.", "Something I remembered."]
    status = client.get(evidence_path(waiting, "/status")).get_data(as_text=True)
    assert status.count(">receipt</a>") == 2


def test_a_double_clicked_send_is_saved_once(client, waiting):
    form = ResidentForm(client, waiting)
    form.open()
    key = hidden(form.html, "form_key")
    one = form.send(form_key=key, files=[("a.jpg", photo())])
    two = form.send(form_key=key, files=[("a.jpg", photo())])
    assert one.status_code == two.status_code == 303
    assert one.headers["Location"] == two.headers["Location"]
    assert "were not saved" not in client.get(two.headers["Location"]).get_data(as_text=True)
    assert db.session.query(Submission).count() == 1
    assert db.session.query(EvidenceFile).count() == 1
    assert db.session.query(OutboxEmail).filter_by(template="evidence_receipt").count() == 1


def test_a_form_sent_again_with_changes_says_the_changes_were_not_saved(client, waiting):
    form = ResidentForm(client, waiting)
    first = form.send(details="The first words.")
    again = form.send(details="The first words, and more.")  # the Back button, an edit, Send
    assert again.headers["Location"] == first.headers["Location"]
    html = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "the changes made to it since were not saved" in html and "add more" in html
    assert [s.details for s in db.session.scalars(db.select(Submission))] == ["The first words."]


def test_the_pages_are_not_kept_in_caches(client, waiting):
    form = ResidentForm(client, waiting)
    assert "no-store" in form.open().headers["Cache-Control"]
    assert "no-store" in client.get(evidence_path(waiting, "/status")).headers["Cache-Control"]


def test_two_clicks_arriving_together_are_saved_once(app, client, waiting, monkeypatch):
    """Both requests are past their checks before either commits; the unique key settles it."""
    from resolver.web.resident import views

    form = ResidentForm(client, waiting)
    form.open()
    key, csrf, path = hidden(form.html, "form_key"), hidden(form.html, "csrf_token"), form.path
    together = threading.Barrier(2, timeout=10)
    real_verb = views.submit_evidence
    retrying = threading.local()  # the click that loses is tried once more, without waiting again

    def verb_after_both_arrive(*args, **kwargs):
        if not getattr(retrying, "is_set", False):
            retrying.is_set = True
            together.wait()
        return real_verb(*args, **kwargs)

    monkeypatch.setattr(views, "submit_evidence", verb_after_both_arrive)
    cookie = client.get_cookie("session")
    results = []

    def click():
        with app.app_context():
            other = app.test_client()
            other.set_cookie("session", cookie.value)
            results.append(other.post(path, data={"csrf_token": csrf, "form_key": key, "details": "Clicked twice."}))

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert [r.status_code for r in results] == [303, 303]
    assert results[0].headers["Location"] == results[1].headers["Location"]
    db.session.expire_all()
    assert db.session.query(Submission).count() == 1
    assert db.session.query(OutboxEmail).filter_by(template="evidence_arrived").count() == 1


def test_a_send_without_the_one_time_key_is_refused(client, waiting):
    form = ResidentForm(client, waiting)
    form.open()
    before = counts()
    sent = form.send(form_key="x")
    assert sent.status_code == 422
    assert "Please reload the page" in sent.get_data(as_text=True)
    assert counts() == before


def test_a_send_without_the_csrf_token_changes_nothing_and_keeps_the_text(client, waiting):
    form = ResidentForm(client, waiting)
    form.open()
    before, snapshot = counts(), dispute_snapshot(waiting.id)
    sent = form.send(details="My words, typed on the bus.", csrf=False, files=[("a.jpg", photo())])
    html = sent.get_data(as_text=True)
    assert sent.status_code == 400
    assert "needs to be sent again" in html and "My words, typed on the bus." in html
    assert "attach them again" in html
    assert counts() == before and dispute_snapshot(waiting.id) == snapshot


def test_a_send_racing_the_deadline_is_refused_and_nothing_is_kept(client, waiting):
    form = ResidentForm(client, waiting)
    clock.advance(waiting.evidence_due_dt - clock.now_utc() - timedelta(minutes=2))
    form.open()  # 11:57 PM on the last day: the form is still there
    clock.advance(timedelta(minutes=3))  # ... and the send arrives at 12:00 AM
    before, snapshot = counts(), dispute_snapshot(waiting.id)
    late_photo = photo(color=(9, 9, 9))
    sent = form.send(files=[("late.jpg", late_photo)])
    html = sent.get_data(as_text=True)
    assert sent.status_code == 409
    assert "Your form arrived after the deadline" in html and "nothing was saved" in html
    assert counts() == before and dispute_snapshot(waiting.id) == snapshot
    assert not file_exists(hashlib.sha256(late_photo).hexdigest())


@pytest.mark.parametrize("amount, cents", [("150", 15000), ("$1,200.50", 120050), ("", None), ("0", 0), ("12.5", 1250)])
def test_amounts_are_read_as_people_write_them(client, waiting, amount, cents):
    assert ResidentForm(client, waiting).send(amount=amount).status_code == 303
    assert db.session.scalars(db.select(Submission)).one().suggested_amount_cents == cents


WRITTEN_LIKE = "The amount you are asking for should be written like 150 or 150.00 (dollars and cents)."


@pytest.mark.parametrize("amount, message", [
    ("abc", WRITTEN_LIKE), ("-5", "The amount you are asking for cannot be negative."), ("12.345", WRITTEN_LIKE),
    ("1e3", WRITTEN_LIKE), ("1e9", WRITTEN_LIKE), ("1e999999", WRITTEN_LIKE), ("NaN", WRITTEN_LIKE),
    ("Infinity", WRITTEN_LIKE), ("99999999", "The amount you are asking for is too large; please check it."),
])
def test_a_bad_amount_is_explained_and_the_text_is_kept(client, waiting, amount, message):
    before, snapshot = counts(), dispute_snapshot(waiting.id)
    sent = ResidentForm(client, waiting).send(details="Kept words.", amount=amount, files=[("a.jpg", photo())])
    html = sent.get_data(as_text=True)
    assert sent.status_code == 422
    assert message in html and "Kept words." in html
    # The amount is shown back as typed, marked, and its message read out with it.
    assert re.search(r'<input[^>]*id="suggested_amount"[^>]*value="%s"[^>]*aria-describedby="amount-hint '
                     r'suggested_amount-error" aria-invalid="true"' % re.escape(escape(amount)), html)
    assert f'id="suggested_amount-error">{message}</p>' in html
    assert f'<a href="#suggested_amount">{message}</a>' in html  # the summary leads to the field
    assert counts() == before and dispute_snapshot(waiting.id) == snapshot
    assert not file_exists(hashlib.sha256(photo()).hexdigest())  # refused before any file was kept


def test_several_problems_are_all_listed_and_each_field_says_its_own(client, waiting):
    item = waiting.items[0]
    sent = ResidentForm(client, waiting).send(amount="-5", extra={f"item-{item.id}": "x" * 20_001})
    html = sent.get_data(as_text=True)
    assert sent.status_code == 422
    assert '<a href="#suggested_amount">The amount you are asking for cannot be negative.</a>' in html
    assert f'<a href="#item-{item.id}">Please keep each answer under 20,000 characters.</a>' in html
    assert f'id="item-{item.id}-error"' in html and 'id="details-error"' not in html
    assert db.session.query(Submission).count() == 0


def test_an_empty_send_is_explained(client, waiting):
    sent = ResidentForm(client, waiting).send(details="   ", suggestion="")
    assert sent.status_code == 422
    assert "Tell us what happened, or attach at least one file" in sent.get_data(as_text=True)
    assert db.session.query(Submission).count() == 0


def test_a_receipt_of_another_dispute_is_not_shown(client, waiting, make_dispute):
    other = make_dispute("evidence_received")
    db.session.commit()
    theirs = db.session.scalars(db.select(Submission).where(Submission.dispute_id == other.id)).one()
    assert client.get(evidence_path(waiting, f"/receipt/{theirs.id}")).status_code == 404


def test_each_send_is_in_the_history_as_the_resident(client, waiting):
    ResidentForm(client, waiting).send()
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "submit_evidence")).one()
    # Their role and id, not their name: the history is kept for good, the name only until it is erased.
    assert (event.actor_kind, event.actor_id, event.actor_label) == ("resident", waiting.resident_id, "Resident")


def test_an_answer_too_long_is_explained_and_kept(client, waiting):
    item = waiting.items[0]
    long_answer = "It was clean. " * 1500  # 21,000 characters
    sent = ResidentForm(client, waiting).send(extra={f"item-{item.id}": long_answer})
    assert sent.status_code == 422
    assert "Please keep each answer under 20,000 characters" in sent.get_data(as_text=True)
    assert long_answer.strip() in sent.get_data(as_text=True)
    assert db.session.query(Submission).count() == 0
