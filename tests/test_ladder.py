"""Up the ladder after the letter: the resident asks the supervisor to look again from their outcome
page, once per letter (the database keeps it once); the supervisor gets it with a due date, the manager
is told, the resident is told who will look and by when; nothing else about the dispute changes. The
supervisor's dashboard lists what waits for them, only their company's, and their answer reaches the
resident."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from resolver import clock
from resolver.actors import Actor
from resolver.deadlines import sweep_deadlines
from resolver.errors import AlreadyRecorded, InvalidInput, NotAllowed, NotFound, WrongState
from resolver.extensions import db
from resolver.letters.tone import check_tone
from resolver.links import PUBLIC_ADDRESS, current_link, link_url
from resolver.mail import send_pending
from resolver.models import Dispute, LadderRequest, Task
from resolver.services import outcome
from resolver.walkthrough import Story, walk_dispute
from resolver.workdays import format_moment

from .dispute_checks import actions, emails, history, refused, snapshot

MESSAGE = "The team did not look at my move-out photos of the bedroom carpet."
ASKED_ON = "Monday 9 March 2026"
DUE_ON = "Thursday 12 March 2026"  # three of the company's (calendar) days later


@pytest.fixture
def sent(make_dispute, supervisor):
    dispute = make_dispute("outcome_sent", votes=("uphold", "compromise", "compromise"))
    db.session.commit()
    return dispute


def path_of(dispute) -> str:
    return link_url(current_link(dispute.id, "outcome", resident_id=dispute.resident_id)).removeprefix(PUBLIC_ADDRESS)


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def ask(client, dispute, message: str = MESSAGE):
    page = client.get(path_of(dispute)).get_data(as_text=True)
    return client.post(path_of(dispute) + "/supervisor", data={"csrf_token": csrf_from(page), "message": message})


def plain(html: str) -> str:
    text = re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'").replace("&#34;", '"').replace("&amp;", "&")
    return " ".join(text.split())


def words(text: str) -> str:
    return " ".join(text.split())


def subject(message) -> str:
    return words(message["Subject"])


def requests_of(dispute) -> list[LadderRequest]:
    return list(db.session.scalars(select(LadderRequest).where(LadderRequest.dispute_id == dispute.id)))


def review_tasks(dispute) -> list[Task]:
    return list(db.session.scalars(select(Task).where(Task.dispute_id == dispute.id, Task.kind == "review")))


# The resident asks ---------------------------------------------------------------------------

def test_the_outcome_page_lists_each_choice_separately(client, sent, supervisor):
    page = plain(client.get(path_of(sent)).get_data(as_text=True))
    choices = page.split("Your choices", 1)[1].split("Did this letter reach you?", 1)[0]
    assert "Each of these is separate, and each is up to you." in choices
    for choice in ("Tell us the letter arrived", "Accept our offer", "Say no, thank you, to the offer "
                   "(our decision stands as the letter says)", "Ask the supervisor to look again",
                   "Take it to outside mediation (Front Range Tenant-Landlord Mediation)"):
        assert choice in choices
    assert "Sam Supervisor , who is above Morgan Manager, will look at our decision again" in page
    assert "within 3 days" in page and "What would you like looked at again? (optional)" in page


def test_a_resident_asks_the_supervisor_from_their_outcome_link(
    client, sent, supervisor, manager, resident, company, smtp
):
    response = ask(client, sent)
    assert response.status_code == 303
    page = plain(client.get(response.headers["Location"]).get_data(as_text=True))
    assert f"Thank you. Sam Supervisor will look at it again and write to you by {DUE_ON}." in page
    assert f"You asked on {ASKED_ON} for our decision to be looked at again. Sam Supervisor will write to you by {DUE_ON}." in page
    assert MESSAGE in page

    db.session.expire_all()
    [asked] = requests_of(sent)
    [task] = review_tasks(sent)
    assert (asked.message, asked.task_id, task.assignee_id) == (MESSAGE, task.id, supervisor.id)
    assert asked.due_dt == task.due_dt and format_moment(task.due_dt, company).endswith(f"on {DUE_ON} (America/Denver)")
    event = history(sent)[-1]
    # Their message is kept on the request (which erasure can clear), not in the history kept for good.
    assert (event.action, event.reason, event.actor_kind) == ("ladder_requested", "", "resident")
    assert event.data["task_id"] == task.id

    send_pending()
    due = format_moment(task.due_dt, company)
    [to_contact] = smtp.to(company.supervisor_email)
    [to_account] = smtp.to(supervisor.email)  # the account whose task it is hears too
    assert subject(to_contact) == (f"Up the ladder: {resident.name} asks you to look again at dispute #{sent.id}, "
                                   f"by {DUE_ON}")
    for body in (words(smtp.text_of(to_contact)), plain(smtp.html_of(to_contact))):
        assert f"Please answer {resident.name} by {due}" in body or f"answer {resident.name} by {due}" in body
        assert MESSAGE in body and f"/disputes/{sent.id}" in smtp.text_of(to_contact)
    assert subject(to_account) == subject(to_contact)
    [to_manager] = [m for m in smtp.to(manager.email) if "look again" in m["Subject"]]
    assert subject(to_manager) == f"{resident.name} asked Sam Supervisor to look again (dispute #{sent.id})"
    assert f"will answer them by {DUE_ON}" in words(smtp.text_of(to_manager))
    [to_resident] = [m for m in smtp.to(resident.email) if "look at it again" in m["Subject"]]
    assert subject(to_resident) == f"We have your request: Sam Supervisor will look at it again by {DUE_ON}"
    text = words(smtp.text_of(to_resident))
    assert f"Sam Supervisor, who is above {manager.name}, will go through it and write to you by {DUE_ON}." in text
    assert MESSAGE in text and path_of(sent) in text
    assert re.search(r"open your dashboard in Resolver \(https?://[^/\s]+/\)", words(smtp.text_of(to_contact)))
    warnings = {"sorry_you_feel", "calm_down", "already_told", "lecturing", "blaming"}
    for template in ("ladder_request_resident",):
        [email] = emails(sent, template)
        assert not [flag for flag in check_tone(email.body_text) if flag.code in warnings]


def test_asking_changes_neither_receipt_nor_mediation_nor_the_offer(client, sent):
    assert ask(client, sent).status_code == 303
    db.session.expire_all()
    dispute = db.session.get(Dispute, sent.id)
    assert dispute.state == "outcome_sent"
    assert dispute.acknowledged_dt is None and dispute.referred_dt is None
    assert outcome.sent_letter(dispute).offer_response is None
    assert not {"acknowledge", "receipt_confirmed", "refer_out", "offer_accepted", "offer_declined"} & set(actions(dispute))
    page = client.get(path_of(sent)).get_data(as_text=True)
    assert "Yes, I received this letter" in page and "Accept the offer" in page and "I have contacted" in page
    assert "Ask the supervisor to look again</button>" not in page  # asked once, the button goes


def test_asking_twice_records_one_request_and_says_when_it_was_asked(client, sent):
    assert ask(client, sent).status_code == 303
    db.session.expire_all()
    before = snapshot(sent.id)
    clock.advance(timedelta(days=1))
    again = ask(client, sent, "Please, again.")
    assert again.status_code == 200
    page = plain(again.get_data(as_text=True))
    assert (f"You asked for this to be looked at again on {ASKED_ON}. Nothing was changed. "
            f"You will hear back by {DUE_ON}.") in page
    db.session.expire_all()
    assert snapshot(sent.id) == before and len(requests_of(sent)) == 1 and len(review_tasks(sent)) == 1
    # The verb says the same, and changes nothing.
    error = refused(AlreadyRecorded, sent, lambda: outcome.ask_supervisor(Actor.resident(sent.resident), sent))
    assert "Nothing was changed." in error.message


def test_one_request_per_letter_is_kept_by_the_database(client, sent):
    ask(client, sent)
    db.session.expire_all()
    [first] = requests_of(sent)
    db.session.add(LadderRequest(letter_id=first.letter_id, dispute_id=sent.id, task_id=first.task_id,
                                 due_dt=first.due_dt))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_message_too_long_is_refused_kept_on_the_page_and_nothing_changes(client, sent):
    before = snapshot(sent.id)
    response = ask(client, sent, "My photos. " * 200)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Please keep this to 2,000 characters" in html and "My photos. My photos." in html
    db.session.expire_all()
    assert snapshot(sent.id) == before and requests_of(sent) == []


def test_before_the_letter_and_after_closing_there_is_nothing_to_ask(make_dispute, sent, manager):
    drafted = make_dispute("decided")
    refused(WrongState, drafted, lambda: outcome.ask_supervisor(Actor.resident(drafted.resident), drafted))
    closed = make_dispute("closed")
    error = refused(WrongState, closed, lambda: outcome.ask_supervisor(Actor.resident(closed.resident), closed))
    assert "Sam Supervisor on 303-555-0100" in error.message


def test_with_nobody_above_the_manager_the_manager_looks_again(client, sent, supervisor, manager, company, smtp):
    company.supervisor_email = company.supervisor_name = company.supervisor_phone = ""
    supervisor.is_active = False
    db.session.commit()
    page = plain(client.get(path_of(sent)).get_data(as_text=True))
    assert "Ask us to look again" in page and f"{manager.name} will go through our decision again" in page
    assert ask(client, sent).status_code == 303
    db.session.expire_all()
    [task] = review_tasks(sent)
    assert task.assignee_id == manager.id
    assert sorted(e.template for e in emails(sent) if e.template.startswith("ladder")) == [
        "ladder_request_resident", "ladder_request_supervisor"]
    [to_manager] = emails(sent, "ladder_request_supervisor")
    assert to_manager.to_addr == manager.email


# The supervisor's dashboard ------------------------------------------------------------------

def escalated(html: str) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for kind, dispute_id in re.findall(r'data-escalation="([a-z_]+)" data-escalated-dispute="(\d+)"', html):
        found.setdefault(kind, set()).add(int(dispute_id))
    return found


def another_company_dispute(make_company, make_staff, make_resident, make_panel, state: str) -> Dispute:
    other = make_company()
    story = Story(issue="Noise from the flat above.", what_was_fixed="We spoke to the neighbour.",
                  company_position="The noise is within the lease's hours.", category="noise",
                  details="It goes on past midnight.", suggestion="Move me to another flat.",
                  votes=("uphold", "resident", "compromise"))
    return walk_dispute(state, manager=make_staff(other, "manager"), resident=make_resident(other), story=story,
                        team=lambda dispute: make_panel(dispute.company, size=3))


def test_the_supervisor_sees_ladder_requests_split_teams_and_replies_at_risk_or_late_of_their_company_only(
    app, client, sent, make_dispute, supervisor, manager, signed_in_client, company,
    make_company, make_staff, make_resident, make_panel,
):
    ask(client, sent)
    theirs = another_company_dispute(make_company, make_staff, make_resident, make_panel, "outcome_sent")
    outcome.ask_supervisor(Actor.resident(theirs.resident), theirs, message="Another company's resident.")
    their_split = another_company_dispute(make_company, make_staff, make_resident, make_panel, "deadlocked")
    late = make_dispute("evidence_received")
    db.session.commit()
    clock.advance(late.reply_due_dt + timedelta(hours=1) - clock.now_utc())
    sweep_deadlines()
    close = make_dispute("decided")
    split = make_dispute("deadlocked", votes=("uphold", "resident", "compromise"))
    db.session.commit()
    clock.advance(close.reply_due_dt - timedelta(hours=12) - clock.now_utc())  # within a day, not sent

    html = signed_in_client(supervisor).get("/").get_data(as_text=True)
    found = escalated(html)
    assert found["ladder"] == {sent.id} and found["deadlocked"] == {split.id}
    assert found["breached"] == {late.id} and found["at_risk"] == {close.id}
    section = html.split('data-section="escalations"')[1].split("</section>")[0]
    for dispute_id in (sent.id, split.id, late.id, close.id):
        assert f'href="/disputes/{dispute_id}"' in section
    assert theirs.id not in set().union(*found.values()) and their_split.id not in set().union(*found.values())
    assert "Another company" not in section
    text = plain(section)
    assert "Asked to look again (1)" in text and MESSAGE in text
    # The request was due days ago by now: it says so, and is marked overdue.
    [ladder_item] = re.findall(r'<li data-escalation="ladder".*?</li>', section, re.S)
    assert 'class="overdue"' in ladder_item and "answer overdue: it was due" in plain(ladder_item)

    # A manager sees none of it.
    assert escalated(signed_in_client(manager).get("/").get_data(as_text=True)) == {}


def test_a_request_not_yet_due_is_shown_with_its_date_not_as_overdue(client, sent, supervisor, signed_in_client, company):
    ask(client, sent)
    html = signed_in_client(supervisor).get("/").get_data(as_text=True)
    [ladder_item] = re.findall(r'<li data-escalation="ladder".*?</li>', html, re.S)
    assert 'class="overdue"' not in ladder_item and f"answer due by 11:59 PM on {DUE_ON}" in plain(ladder_item)


# The supervisor answers ----------------------------------------------------------------------

def test_the_supervisor_answers_and_the_resident_is_told(client, sent, supervisor, manager, resident, signed_in_client, smtp):
    ask(client, sent)
    db.session.expire_all()
    [asked] = requests_of(sent)
    staff = signed_in_client(supervisor)
    answer = "I looked at your photos. We will refund the whole $150 cleaning charge."

    before = snapshot(sent.id)
    empty = staff.post(f"/ladder-requests/{asked.id}/answer", {"note": "  "})
    assert empty.status_code == 303
    assert "Write what you decided" in staff.get("/").get_data(as_text=True)
    db.session.expire_all()
    assert snapshot(sent.id) == before and not asked.is_answered

    response = staff.post(f"/ladder-requests/{asked.id}/answer", {"note": answer})
    assert response.status_code == 303
    html = staff.get("/").get_data(as_text=True)
    assert f"Your answer is on its way to {resident.name}, and the request is done." in html
    assert "ladder" not in escalated(html)
    db.session.expire_all()
    assert asked.is_answered and asked.answer_note == answer and asked.answered_by_id == supervisor.id
    task = db.session.get(Task, asked.task_id)
    assert task.is_done and task.done_by_id == supervisor.id
    assert history(sent)[-1].action == "ladder_answered" and history(sent)[-1].reason == answer
    assert db.session.get(Dispute, sent.id).state == "outcome_sent"

    send_pending()
    [told] = [m for m in smtp.to(resident.email) if "looked at your dispute again" in m["Subject"]]
    assert subject(told) == "Sam Supervisor has looked at your dispute again"
    assert answer in words(smtp.text_of(told)) and answer in plain(smtp.html_of(told))
    assert f"On {ASKED_ON} you asked us to look again" in words(smtp.text_of(told))
    [email] = emails(sent, "ladder_answered")
    assert not [flag for flag in check_tone(email.body_text)
                if flag.code in {"sorry_you_feel", "calm_down", "already_told", "lecturing", "blaming"}]
    [to_manager] = [m for m in smtp.to(manager.email) if "answered" in m["Subject"]]
    assert answer in words(smtp.text_of(to_manager))
    page = plain(client.get(path_of(sent)).get_data(as_text=True))
    assert f"Sam Supervisor answered on {ASKED_ON}: {answer}" in page

    # A second answer changes nothing and says when the first went.
    again = staff.post(f"/ladder-requests/{asked.id}/answer", {"note": "Something else."})
    assert again.status_code == 303
    assert f"already answered on {ASKED_ON}" in staff.get("/").get_data(as_text=True)
    db.session.expire_all()
    assert asked.answer_note == answer


def test_only_staff_above_the_manager_answer_and_another_company_cannot_see_it(
    client, sent, manager, supervisor, signed_in_client, make_company, make_staff
):
    ask(client, sent)
    db.session.expire_all()
    [asked] = requests_of(sent)
    error = refused(NotAllowed, sent, lambda: outcome.answer_ladder_request(Actor.staff(manager), asked.id, note="No."))
    assert "Only a supervisor" in error.message
    refused(InvalidInput, sent, lambda: outcome.answer_ladder_request(Actor.staff(supervisor), asked.id, note=" "))
    refused(NotFound, sent, lambda: outcome.answer_ladder_request(Actor.staff(supervisor), 10**6, note="Hello"))
    stranger = make_staff(make_company(), "supervisor")
    db.session.commit()
    assert signed_in_client(stranger).post(f"/ladder-requests/{asked.id}/answer", {"note": "Hello"}).status_code == 404
    refused(NotFound, sent, lambda: outcome.answer_ladder_request(Actor.staff(stranger), asked.id, note="Hello"))
    db.session.expire_all()
    assert not asked.is_answered


def test_the_review_task_is_not_ticked_off_without_an_answer(client, sent, supervisor):
    ask(client, sent)
    db.session.expire_all()
    [task] = review_tasks(sent)
    error = refused(WrongState, sent, lambda: outcome.complete_task(Actor.staff(supervisor), task))
    assert "answered from the dashboard" in error.message


def test_a_company_counting_working_days_promises_working_days(client, sent, company):
    company.is_business_days = True
    db.session.commit()
    clock.advance(timedelta(days=3))  # Thursday: three working days on is Tuesday
    assert "write to you within 3 working days" in plain(client.get(path_of(sent)).get_data(as_text=True))
    response = ask(client, sent)
    page = plain(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "write to you by Tuesday 17 March 2026" in page


def test_a_choice_made_leaves_the_list_and_the_others_stay(client, sent):
    resident = Actor.resident(sent.resident)
    outcome.acknowledge_outcome(resident, sent)
    outcome.respond_to_offer(resident, sent, accept=False)
    db.session.commit()
    page = plain(client.get(path_of(sent)).get_data(as_text=True))
    choices = page.split("Your choices", 1)[1].split("Did this letter reach you?", 1)[0]
    assert "Tell us the letter arrived" not in choices and "Accept our offer" not in choices
    assert "Ask the supervisor to look again" in choices and "Take it to outside mediation" in choices
    ask(client, sent)
    outcome.refer_out(resident, sent, reason="The resident told us they have gone to mediation.")
    db.session.commit()
    assert "Your choices" not in client.get(path_of(sent)).get_data(as_text=True)
