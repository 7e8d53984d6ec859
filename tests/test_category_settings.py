"""Settings → dispute categories: a supervisor words the company's categories, adds and archives its
own, and every change is in the company's history; the rules form sets the step tokens are rounded to."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from resolver.extensions import db
from resolver.models import Company, CompanyEvent, DisputeCategory
from resolver.services.categories import categories_of, category_named, phrases_of

from .test_manager_settings import RULES

NOISE = {"label": "Noise or neighbour", "matter": "the noise from next door",
         "concession": "off your next month's rent", "task": "Take {amount} off the resident's next rent",
         "token": "cinema voucher"}


def saved(client, key, phrases, change="save"):
    return client.post(f"/settings/categories/{key}", {**phrases, "change": change})


def events(company, action):
    """In the order they were recorded (PostgreSQL returns rows in whatever order its pages hold them)."""
    return db.session.scalars(select(CompanyEvent).where(
        CompanyEvent.company_id == company.id, CompanyEvent.action == action).order_by(CompanyEvent.id)).all()


def test_a_company_words_a_category_and_its_disputes_speak_so(
    app, signed_in_client, supervisor, company, make_dispute, make_company
):
    dispute = make_dispute("draft", category="noise")
    db.session.commit()
    staff = signed_in_client(supervisor)

    response = saved(staff, "noise", NOISE)
    assert response.status_code == 303 and response.headers["Location"].endswith("/settings#categories")
    db.session.expire_all()
    phrases = phrases_of(dispute)
    assert phrases.matter == "the noise from next door" and phrases.token == "cinema voucher"
    assert phrases.concession_line("$50") == "$50 off your next month's rent"
    assert phrases.concession_task("$50") == "Take $50 off the resident's next rent"
    # Free text typed before categories were keys still finds it, in the company's words.
    assert category_named(company, "neighbours").matter == "the noise from next door"
    # Another company still reads Resolver's wording.
    assert category_named(make_company(), "noise").matter == "the noise and your neighbours"

    page = staff.get("/settings").get_data(as_text=True)
    assert "I&#39;m sorry you have had this trouble with the noise from next door." in page
    assert "$50 off your next month&#39;s rent" in page
    assert "Task: Take $50 off the resident&#39;s next rent" in page
    assert "changed the wording of the category “Noise or neighbour”: matter, concession, task, token" in page


def test_the_history_keeps_each_phrase_before_and_after(app, signed_in_client, supervisor, company):
    db.session.commit()
    staff = signed_in_client(supervisor)
    saved(staff, "noise", NOISE)
    saved(staff, "noise", {**NOISE, "label": "Noise"})
    saved(staff, "noise", {}, change="reset")
    db.session.expire_all()
    first, second = events(company, "category_changed")
    assert first.data["category"] == "noise" and first.subject_label == "Noise or neighbour"
    assert first.data["changed"]["matter"] == ["the noise and your neighbours", "the noise from next door"]
    assert second.data["changed"] == {"label": ["Noise or neighbour", "Noise"]}
    [reset] = events(company, "category_reset")
    assert reset.data["changed"]["label"] == ["Noise", "Noise or neighbour"]
    assert category_named(company, "noise").matter == "the noise and your neighbours"
    page = staff.get("/settings").get_data(as_text=True)
    assert "set the category “Noise or neighbour” back to Resolver&#39;s wording" in page


@pytest.mark.parametrize("change, message", [
    ({"matter": "   "}, "How a letter names the matter cannot be empty."),
    ({"label": "x" * 81}, "Please keep this under 80 characters."),
    ({"task": "Credit the resident's next rent"}, "The manager&#39;s task must say where the amount goes"),
    ({"task": "Credit {amount} on {date}"}, "and use no other braces"),
    ({"task": "Credit {amount} on the next rent}"}, "and use no other braces"),
    ({"label": "pests"}, "Another category is already called “pests”."),
])
def test_bad_wording_is_refused_and_nothing_changes(app, signed_in_client, supervisor, company, change, message):
    db.session.commit()
    response = saved(signed_in_client(supervisor), "noise", {**NOISE, **change})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html and "Nothing was changed." in html
    db.session.expire_all()
    assert db.session.scalar(select(func.count(DisputeCategory.id))) == 0
    assert events(company, "category_changed") == []
    assert category_named(company, "noise").matter == "the noise and your neighbours"


def test_only_a_supervisor_changes_the_categories(app, signed_in_client, manager, company):
    db.session.commit()
    staff = signed_in_client(manager)
    assert saved(staff, "noise", NOISE).status_code == 403
    assert staff.post("/settings/categories", {**NOISE, "label": "Parking"}).status_code == 403
    db.session.expire_all()
    assert db.session.scalar(select(func.count(DisputeCategory.id))) == 0


def test_a_company_adds_a_category_and_archives_it_later(
    app, signed_in_client, supervisor, company, make_dispute
):
    db.session.commit()
    staff = signed_in_client(supervisor)
    parking = {"label": "Parking permits", "matter": "your parking permit", "concession": "off your next permit",
               "task": "Take {amount} off the resident's next permit", "token": "car wash voucher"}
    assert staff.post("/settings/categories", parking).status_code == 303
    refused = staff.post("/settings/categories", {**parking, "label": "PARKING PERMITS"})
    assert refused.status_code == 422 and "already called" in refused.get_data(as_text=True)
    db.session.expire_all()
    company = db.session.get(Company, company.id)
    assert [c.key for c in categories_of(company)] == [
        "deposit", "rent_or_fee", "repair", "noise", "pest", "parking_permits", "other"]
    dispute = make_dispute("draft", category="parking_permits")
    db.session.commit()
    assert phrases_of(dispute).concession_line("$20") == "$20 off your next permit"

    assert saved(staff, "parking_permits", {}, change="archive").status_code == 303
    db.session.expire_all()
    assert "parking_permits" not in [c.key for c in categories_of(company)]
    assert phrases_of(dispute).label == "Parking permits"  # its dispute still speaks of it
    page = staff.get("/settings").get_data(as_text=True)
    assert "archived the category “Parking permits”" in page and "added the category “Parking permits”" in page
    assert 'value="parking_permits"' not in staff.get("/disputes/new").get_data(as_text=True)

    assert saved(staff, "parking_permits", {}, change="restore").status_code == 303
    db.session.expire_all()
    assert "parking_permits" in [c.key for c in categories_of(company)]
    [added] = events(company, "category_added")
    assert added.data["after"]["token"] == "car wash voucher"


def test_something_else_cannot_be_archived(app, signed_in_client, supervisor, company):
    db.session.commit()
    response = saved(signed_in_client(supervisor), "other", {}, change="archive")
    assert response.status_code == 422
    assert "“Something else” is where every other matter goes" in response.get_data(as_text=True)
    assert saved(signed_in_client(supervisor), "nothing", {}, change="archive").status_code == 404


def test_the_token_step_is_a_company_rule(app, signed_in_client, supervisor, company):
    db.session.commit()
    staff = signed_in_client(supervisor)
    assert staff.post("/settings/company", {**RULES, "token_step": "$10"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Company, company.id).token_step_cents == 1000
    page = staff.get("/settings").get_data(as_text=True)
    assert 'id="token_step" name="token_step" value="10.00"' in page
    assert "the step tokens are rounded to" in page
    [event] = events(company, "rules_changed")
    assert event.data["changed"]["token_step_cents"] == [500, 1000]

    for bad, message in (("0.50", "at least $1.00"), ("", "at least $1.00"), ("ten", "should be written like")):
        response = staff.post("/settings/company", {**RULES, "token_step": bad})
        assert response.status_code == 422 and message in response.get_data(as_text=True), bad
        db.session.expire_all()
        assert db.session.get(Company, company.id).token_step_cents == 1000
