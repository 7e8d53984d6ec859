"""The written reply is owed within the company's reply window of receiving the resident's side, always:
a manager may move the working date (with a reason, the resident and the supervisor told), but the
breach and the reports count from the date first promised. Reports also show how soon staff first
act on a resident's side, and what the company learned from the disputes it closed."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

from resolver import clock
from resolver.actors import Actor
from resolver.deadlines import sweep_deadlines
from resolver.extensions import db
from resolver.mail import send_pending
from resolver.models import Dispute
from resolver.services import disputes, outcome, panel
from resolver.services.categories import phrases_of
from resolver.workdays import format_moment

from .conftest import START
from .dispute_checks import actions, emails, history, move_to, pending, plain, snapshot, version_in

# A side received at START (Monday 9 March 2026) is owed its written reply by Monday 16 March.
PROMISED = "11:59 PM on Monday 16 March 2026 (America/Denver)"
MOVED = "11:59 PM on Thursday 26 March 2026 (America/Denver)"


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def send_the_letter(manager, dispute: Dispute) -> None:
    staff = Actor.staff(manager)
    letter = outcome.draft_outcome(staff, dispute)
    outcome.approve_letter(staff, letter, override_reason="")
    outcome.send_outcome(staff, dispute)


# Moving the reply date ---------------------------------------------------------------------------


def test_a_moved_reply_date_still_breaches_at_the_date_first_promised(
    app, make_dispute, signed_in_client, manager, resident, company, smtp
):
    dispute = make_dispute("decided")  # the side arrived at START; the team has decided
    db.session.commit()
    send_pending()
    smtp.clear()  # the emails of the way here
    promised = dispute.reply_due_dt
    assert format_moment(promised, company) == PROMISED and dispute.reply_promised_dt == promised
    staff = signed_in_client(manager)
    version = version_in(staff.get(f"/disputes/{dispute.id}").get_data(as_text=True))

    # Without a reason, nothing moves and nobody is told.
    before = snapshot(dispute.id)
    refused = staff.post(f"/disputes/{dispute.id}/actions/extend",
                         {"expected_version": version, "window": "reply", "new_due": "2026-03-26", "reason": " "})
    assert refused.status_code == 422 and "Say why the deadline moves" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert snapshot(dispute.id) == before

    # Ten days later, with a reason: the working date moves, the promise stays.
    moved = staff.post(f"/disputes/{dispute.id}/actions/extend", {
        "expected_version": version, "window": "reply", "new_due": "2026-03-26",
        "reason": "The owner wants to review the deposit figures first.",
    })
    assert moved.status_code == 303
    db.session.expire_all()
    assert format_moment(dispute.reply_due_dt, company) == MOVED
    assert dispute.reply_promised_dt == promised
    page = staff.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert "11:59 PM on Thursday 26 March 2026" in page
    assert "First promised for 11:59 PM on Monday 16 March 2026" in page

    # The resident hears the new date from us, with an apology; the supervisor hears too.
    send_pending()
    [to_resident] = smtp.to(resident.email)
    assert " ".join(to_resident["Subject"].split()) == (
        "I'm sorry: our written answer will come by Thursday 26 March 2026, later than promised")
    for body in (smtp.text_of(to_resident), plain(smtp.html_of(to_resident))):
        body = " ".join(body.split())
        assert f"We said you would have it by {PROMISED}" in body
        assert MOVED in body
        assert "The owner wants to review the deposit figures first." in body
        assert "The delay is ours, not yours." in body
    [to_supervisor] = smtp.to(company.supervisor_email)
    assert " ".join(to_supervisor["Subject"].split()) == (
        f"Reply date moved: {resident.name} now by Thursday 26 March 2026 (dispute #{dispute.id})")
    assert f"We promised it by {PROMISED}" in " ".join(smtp.text_of(to_supervisor).split())
    smtp.clear()

    # Two days past the original seven: the breach is recorded against the promise.
    move_to(promised + timedelta(days=2))
    sweep_deadlines()
    db.session.expire_all()
    assert dispute.reply_breached_dt == promised + timedelta(days=2)
    assert actions(dispute).count("reply_breached") == 1
    [breach] = [e for e in history(dispute) if e.action == "reply_breached"]
    assert breach.data == {"reply_due": promised.isoformat(), "moved_to": dispute.reply_due_dt.isoformat()}
    assert format_moment(dispute.reply_due_dt, company) == MOVED  # still the working date staff see
    send_pending()
    [overdue] = smtp.to(company.supervisor_email)
    assert " ".join(overdue["Subject"].split()) == (
        f"Overdue: the reply to {resident.name} was due Monday 16 March 2026 (dispute #{dispute.id})")
    text = " ".join(smtp.text_of(overdue).split())
    assert f"was due by {PROMISED} and has not gone out" in text and f"Its date was moved to {MOVED}" in text

    # The letter goes out before the moved date, but after the promise: the report counts it late,
    # among the replies whose date was moved.
    clock.advance(timedelta(days=1))
    send_the_letter(manager, dispute)
    db.session.commit()
    staff = signed_in_client(manager)  # days later: a fresh sign-in
    html = staff.get("/reports").get_data(as_text=True)
    assert "0% of 1 written reply went inside the reply window (7 days); 1 had their date moved." in html
    assert "counted against the date first promised the resident" in html
    replies = rows_of(staff.get("/reports/replies-in-time.csv"))
    assert replies[0] == ["month evidence arrived", "in time", "late", "share in time %", "date moved"]
    assert next(row for row in replies if row[0] == "2026-03")[1:] == ["0", "1", "0", "1"]


def test_the_reminders_follow_the_moved_date_and_the_breach_stays_at_the_promise(make_dispute, manager, company):
    dispute = make_dispute("evidence_received")
    db.session.commit()
    promised = dispute.reply_due_dt
    new_due = promised + timedelta(days=10)
    disputes.extend_window(Actor.staff(manager), dispute, window="reply", new_due=new_due, reason="Owner away.")
    db.session.commit()
    assert pending(dispute) == {"reply:due": promised, "reply:remind:0": new_due - timedelta(days=3),
                       "reply:remind:1": new_due - timedelta(days=1), "reply:remind:2": new_due - timedelta(days=1)}
    # A second move keeps the same promise, and the resident is told the date they were first given.
    disputes.extend_window(Actor.staff(manager), dispute, window="reply", new_due=new_due + timedelta(days=2),
                           reason="Still waiting for the owner.")
    assert dispute.reply_promised_dt == promised
    latest = emails(dispute, "reply_moved")[-1]
    assert format_moment(promised, company) in " ".join(latest.body_text.split())
    assert "The last date we gave you was" in latest.body_text


def test_a_reply_sent_inside_the_promise_counts_in_time_even_when_moved(
    app, make_dispute, signed_in_client, manager
):
    dispute = make_dispute("decided")
    db.session.commit()
    disputes.extend_window(Actor.staff(manager), dispute, window="reply",
                           new_due=dispute.reply_due_dt + timedelta(days=3), reason="Waiting for a quote.")
    send_the_letter(manager, dispute)
    db.session.commit()
    replies = rows_of(signed_in_client(manager).get("/reports/replies-in-time.csv"))
    assert next(row for row in replies if row[0] == "2026-03")[1:] == ["1", "0", "100", "1"]


# Time to first response --------------------------------------------------------------------------


def test_time_to_first_response_runs_from_the_residents_side_to_the_first_staff_step(
    app, make_dispute, make_panel, signed_in_client, manager, company
):
    quick, slow, waiting = (make_dispute("evidence_received") for _ in range(3))  # each side arrived at START
    assert {d.evidence_received_dt for d in (quick, slow, waiting)} == {START}
    staff = Actor.staff(manager)
    clock.advance(timedelta(hours=2))
    panel.seat_panel(staff, quick, [m.id for m in make_panel(company, size=3)])
    clock.advance(timedelta(hours=8))  # ten hours after the side arrived
    disputes.extend_window(staff, slow, window="reply", new_due=slow.reply_due_dt + timedelta(days=1),
                           reason="Owner away.")
    clock.advance(timedelta(hours=5))
    panel.seat_panel(staff, slow, [m.id for m in make_panel(company, size=3)])  # only the first step counts
    db.session.commit()

    client = signed_in_client(manager)
    html = client.get("/reports").get_data(as_text=True)
    assert ("Median 6.0 hours from the resident&#39;s side arriving to the first response "
            "(90% within 9.2 hours), over 2 disputes. 1 side still without a response.") in html
    assert "to the next step a staff member recorded in the dispute&#39;s history" in html
    rows = rows_of(client.get("/reports/first-response.csv"))
    assert rows[0] == ["month side arrived", "sides received", "responded", "median hours", "90th percentile hours"]
    assert next(row for row in rows if row[0] == "2026-03")[1:] == ["3", "2", "6.0", "9.2"]


# Lessons learned ---------------------------------------------------------------------------------


def test_lessons_learned_on_closing_are_kept_and_listed_by_category_for_training(
    app, make_dispute, signed_in_client, manager
):
    deposit = make_dispute("acknowledged")
    noise = make_dispute("acknowledged", category="noise")
    quiet = make_dispute("acknowledged", category="noise")
    db.session.commit()
    client = signed_in_client(manager)

    def close(dispute, **fields):
        version = version_in(client.get(f"/disputes/{dispute.id}").get_data(as_text=True))
        return client.post(f"/disputes/{dispute.id}/actions/close", {"expected_version": version, **fields})

    page = client.get(f"/disputes/{deposit.id}").get_data(as_text=True)
    assert 'name="lessons_learned"' in page
    too_long = close(deposit, reason="Resolved.", lessons_learned="x" * 5001)
    assert too_long.status_code == 422
    db.session.expire_all()
    assert deposit.state == "acknowledged" and deposit.lessons_learned == ""

    assert close(deposit, reason="Resolved.",
                 lessons_learned="Photograph the carpet at move-in as well as move-out.").status_code == 303
    clock.advance(timedelta(minutes=20))  # apart, to be listed in order; within the idle time that signs staff out
    assert close(noise, lessons_learned="Ask the neighbour for their side the same week.").status_code == 303
    clock.advance(timedelta(minutes=20))
    assert close(quiet, lessons_learned="=Quiet hours belong in the welcome letter.").status_code == 303
    silent = make_dispute("acknowledged")
    db.session.commit()
    assert close(silent, reason="Resolved.").status_code == 303  # optional: nothing to list

    db.session.expire_all()
    assert deposit.state == "closed"
    assert deposit.lessons_learned == "Photograph the carpet at move-in as well as move-out."
    [closing] = [e for e in history(deposit) if e.action == "close"]
    assert closing.data == {"lessons_learned": "Photograph the carpet at move-in as well as move-out."}
    page = client.get(f"/disputes/{deposit.id}").get_data(as_text=True)
    assert "What we learned: Photograph the carpet at move-in as well as move-out." in page
    assert silent.lessons_learned == "" and [e.data for e in history(silent) if e.action == "close"] == [{}]

    html = client.get("/reports").get_data(as_text=True)
    assert "3 lessons recorded on closing, in 2 categories." in html
    training = html[html.index('id="training"'):]
    assert f'<a href="/disputes/{quiet.id}">#{quiet.id}</a>' in training
    assert training.index("Ask the neighbour") > training.index("Quiet hours")  # newest first
    rows = rows_of(client.get("/reports/training.csv"))
    assert rows[0] == ["category", "closed on", "dispute", "what we learned"]
    deposit_label, noise_label = phrases_of(deposit).label, phrases_of(noise).label
    by_label = sorted([(deposit_label, deposit), (noise_label, quiet), (noise_label, noise)],
                      key=lambda pair: pair[0].casefold())  # by category; the newest first in each
    assert [(row[0], row[2]) for row in rows[1:]] == [(label, f"http://localhost/disputes/{d.id}")
                                                      for label, d in by_label]
    lessons = {row[2].rsplit("/", 1)[1]: row for row in rows[1:]}
    quiet_row = lessons[str(quiet.id)]
    assert (quiet_row[1], quiet_row[3]) == ("2026-03-09", "'=Quiet hours belong in the welcome letter.")  # not a formula


def test_a_letter_after_the_promise_but_before_the_moved_date_apologises_and_counts_as_late(
    make_dispute, manager
):
    dispute = make_dispute("decided")
    db.session.commit()
    promised = dispute.reply_due_dt
    disputes.extend_window(Actor.staff(manager), dispute, window="reply", new_due=promised + timedelta(days=10),
                           reason="Waiting for the owner.")
    move_to(promised + timedelta(days=1))  # no sweep has run: the letter itself must see it is late
    staff = Actor.staff(manager)
    letter = outcome.draft_outcome(staff, dispute)
    assert "I'm also sorry this reply comes later than" in letter.body_text
    outcome.approve_letter(staff, letter)
    outcome.send_outcome(staff, dispute)
    assert dispute.reply_breached_dt == clock.now_utc()
    assert actions(dispute).count("reply_breached") == 1
