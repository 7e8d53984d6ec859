"""The histories are kept for good, so they hold nothing of a resident's own: no name, no email, none of
what they wrote. A resident who acts is "Resident" with their id; what they wrote stays on their request
(which erasure can clear); the pages still read the resident's name and words from those rows."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from resolver.actors import Actor
from resolver.extensions import db
from resolver.models import AuditEvent, CompanyEvent, Dispute, ExtensionRequest
from resolver.services import evidence, outcome, portfolio
from resolver.walkthrough import Pace, Story, walk_dispute

MORE_TIME = "I am in hospital until the 20th and cannot reach my photos."
LOOK_AGAIN = "The team did not look at my move-out photos of the bedroom carpet."
DETAILS = "The carpet was clean when I left; I have photos."


class AskingForMoreTime(Pace):
    """The walk as usual, but before sending their side the resident asks for more time (granted)."""

    def __init__(self, resident, manager):
        self.resident, self.manager, self.asked = resident, manager, False

    def later(self, **delta: float) -> None:
        dispute = db.session.scalars(select(Dispute).where(Dispute.resident_id == self.resident.id)).first()
        if self.asked or dispute is None or dispute.state != "awaiting_evidence":
            return
        self.asked = True
        request = evidence.request_more_time(Actor.resident(self.resident), dispute, days=5, reason=MORE_TIME)
        evidence.answer_more_time(Actor.staff(self.manager), dispute, request, grant=True)


@pytest.fixture
def walked(company, manager, supervisor, resident, make_panel):
    """A dispute whose resident asked for more time, sent their side and, after the letter, asked the
    supervisor to look again; and a resident added to the portfolio and then changed."""
    story = Story(issue="The carpet-cleaning charge on the deposit is unfair.", what_was_fixed="Nothing yet.",
                  company_position="The carpet needed professional cleaning.", category="security deposit",
                  items=None, details=DETAILS, suggestion="Refund the $150 cleaning charge.", suggested_cents=15000)
    dispute = walk_dispute("outcome_sent", manager=manager, resident=resident, story=story,
                           team=lambda d: make_panel(d.company, size=3), pace=AskingForMoreTime(resident, manager))
    outcome.ask_supervisor(Actor.resident(resident), dispute, message=LOOK_AGAIN)
    added = portfolio.add_resident(Actor.staff(manager), name="Priya Raman", email="priya@mail.test")
    portfolio.edit_resident(Actor.staff(manager), added, name="Priya Raman-Okafor", email="priya.ro@mail.test")
    db.session.commit()
    return dispute, added


def every_value(model) -> list[str]:
    """Every column of every row, as text (the JSON ``data`` included)."""
    columns = model.__table__.columns
    return [str(value) for row in db.session.execute(select(*columns)).all() for value in row]


def history_shown(staff_client, dispute) -> str:
    """The History card of the manager's dispute page."""
    page = staff_client.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    history = page[page.index('id="history-h"'):]
    return history[:history.index("</ol>")]


def test_no_history_row_holds_a_residents_name_email_or_words(walked, resident):
    dispute, added = walked
    kinds = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.actor_kind == "resident")))
    assert {"submit_evidence", "ask_more_time", "ladder_requested"} <= kinds  # the walk did what it says
    personal = [resident.name, resident.email, "Priya Raman", "priya@mail.test", "priya.ro@mail.test",
                MORE_TIME, LOOK_AGAIN, DETAILS]
    for model in (AuditEvent, CompanyEvent):
        leaks = [(value, said) for value in every_value(model) for said in personal if said in value]
        assert leaks == [], model.__tablename__
    assert set(db.session.scalars(select(AuditEvent.actor_label).where(AuditEvent.actor_kind == "resident"))) == {
        "Resident"}
    labels = db.session.scalars(select(CompanyEvent.subject_label).where(CompanyEvent.action.like("resident_%")))
    assert set(labels) == {f"Resident #{added.id}"}


def test_the_pages_still_name_the_resident_and_quote_them(walked, resident, manager, supervisor, signed_in_client):
    dispute, added = walked
    history = history_shown(signed_in_client(manager), dispute)
    assert f"{resident.name} asked for 5 more days." in history
    assert f"“{MORE_TIME}”" in history
    assert f"{resident.name} sent their side" in history
    assert f"{resident.name} asked the supervisor to look again at the decision." in history
    assert f"“{LOOK_AGAIN}”" in history
    settings = signed_in_client(supervisor).get("/settings").get_data(as_text=True)
    assert "added the resident Priya Raman-Okafor" in settings
    assert "changed Priya Raman-Okafor&#39;s details" in settings or "changed Priya Raman-Okafor's details" in settings


def test_a_resident_erased_is_shown_as_what_erasure_left(walked, resident, manager, signed_in_client):
    """The history follows the resident's row: once their name is gone from it, it is gone from the page."""
    dispute, _ = walked
    resident.name = "Erased resident"
    for request in db.session.scalars(select(ExtensionRequest).where(ExtensionRequest.dispute_id == dispute.id)):
        request.reason = ""
    db.session.commit()
    history = history_shown(signed_in_client(manager), dispute)
    assert "Tammy Rivera" not in history
    assert "Erased resident asked for 5 more days." in history
    assert MORE_TIME not in history



def test_a_task_that_names_the_resident_and_an_edited_subject_stay_out_of_the_history(
        make_dispute, manager, signed_in_client):
    """A fulfilment task's title says whom it is for, and a subject line may name the resident: the task
    and the letter keep them (erasure clears them), the history only says that they were there."""
    dispute = make_dispute("decided", votes=("uphold", "compromise", "compromise"))
    staff = Actor.staff(manager)
    letter = outcome.draft_outcome(staff, dispute)
    outcome.edit_letter(staff, letter, subject=f"Our answer to you, {dispute.resident.name}")
    outcome.approve_letter(staff, letter)
    outcome.send_outcome(staff, dispute)
    outcome.respond_to_offer(Actor.resident(dispute.resident), dispute, accept=True)
    (task,) = outcome.open_tasks(dispute, "fulfil_offer")
    outcome.complete_task(staff, task)
    db.session.commit()
    assert dispute.resident.name in task.title  # what the history must not copy
    leaks = [value for value in every_value(AuditEvent) if dispute.resident.name in value]
    assert leaks == []
    history = history_shown(signed_in_client(manager), dispute)
    assert f"finished a task: {task.title}" in history.replace("&#39;", "'")
