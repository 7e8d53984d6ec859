"""A company is never made to promise a resident what it cannot do: the set-up checklist on the dashboard,
and opening a dispute refused (on the page and through the API, nothing written, nothing sent) while the
company cannot seat a team or names no supervisor to turn to."""
from __future__ import annotations

import itertools
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from resolver.actors import Actor
from resolver.extensions import db
from resolver.models import AuditEvent, Company, Dispute, OutboxEmail, PanelMember, Property, Resident, Unit
from resolver.services import disputes
from resolver.services.readiness import NotReady, checklist, is_ready
from resolver.web.api.keys import create_api_key

ARCHIVED = datetime(2026, 1, 5, tzinfo=timezone.utc)


def item(company, key):
    db.session.expire_all()
    return next(i for i in checklist(db.session.get(Company, company.id)) if i.key == key)


def counts():
    return tuple(db.session.scalar(select(func.count(model.id))) for model in (Dispute, Resident, OutboxEmail,
                                                                                AuditEvent))


@pytest.fixture
def bare(make_company):
    """A company just made: nobody on its roster, no property, no ladder contact, mediation not chosen."""
    return make_company(is_ready=False, supervisor_name="", supervisor_email="", mediation_service_name="",
                        mediation_service_contact="")


_peers = itertools.count(1)


def add_members(company, count, **fields):
    members = [PanelMember(company_id=company.id, name=f"Peer {n}", email=f"peer{n}@peers.test", **fields)
               for n in itertools.islice(_peers, count)]
    db.session.add_all(members)
    db.session.flush()
    return members


# The checklist, item by item --------------------------------------------------------------------------

def test_the_time_zone_item(bare):
    assert item(bare, "time_zone").is_done and "America/Denver" in item(bare, "time_zone").sentence
    bare.time_zone = "Mars/Olympus"
    db.session.flush()
    assert not item(bare, "time_zone").is_done


def test_the_ladder_item_wants_a_supervisors_name_and_email(bare, make_staff):
    ladder = item(bare, "ladder")
    assert not ladder.is_done and ladder.is_needed_to_open
    assert "resolver create-user --role supervisor" in ladder.sentence  # nobody here can change the settings
    make_staff(bare, "supervisor")
    assert "create-user" not in item(bare, "ladder").sentence
    bare.supervisor_name = "Sam Ortiz"
    db.session.flush()
    assert not item(bare, "ladder").is_done  # a name without an email reaches nobody
    bare.supervisor_email = "sam@aspen.test"
    db.session.flush()
    assert item(bare, "ladder").is_done and "Sam Ortiz (sam@aspen.test)" in item(bare, "ladder").sentence


def test_the_mediation_item_is_done_by_a_name_or_by_choosing_none(bare):
    assert not item(bare, "mediation").is_done and not item(bare, "mediation").is_needed_to_open
    bare.is_without_mediation = True
    db.session.flush()
    assert item(bare, "mediation").is_done and "no outside mediation" in item(bare, "mediation").sentence
    bare.is_without_mediation, bare.mediation_service_name = False, "Front Range Mediation"
    db.session.flush()
    assert item(bare, "mediation").is_done and "Front Range Mediation" in item(bare, "mediation").sentence


def test_the_roster_item_counts_active_regular_members_against_the_team_size(bare):
    add_members(bare, 2)
    add_members(bare, 2, is_reserve=True)
    add_members(bare, 1, is_active=False)
    roster = item(bare, "roster")
    assert not roster.is_done and roster.is_needed_to_open
    assert "needs 3 members and your roster has 2 active regular members: add at least 1" in roster.sentence
    add_members(bare, 1)
    assert item(bare, "roster").is_done
    bare.panel_size = 5
    db.session.flush()
    assert not item(bare, "roster").is_done and "add at least 2" in item(bare, "roster").sentence


def test_the_property_item_wants_one_not_archived(bare):
    assert not item(bare, "properties").is_done
    db.session.add(Property(company_id=bare.id, name="Old Mill", archived_dt=ARCHIVED))
    db.session.flush()
    assert not item(bare, "properties").is_done
    db.session.add(Property(company_id=bare.id, name="Aspen Court"))
    db.session.flush()
    assert item(bare, "properties").is_done and item(bare, "properties").sentence == "1 property to choose from."


def test_the_test_companies_and_the_factory_ones_are_ready(company):
    assert is_ready(company)


# The dashboard ---------------------------------------------------------------------------------------

def test_the_dashboard_shows_the_checklist_until_everything_is_done(app, signed_in_client, bare, make_staff):
    boss = make_staff(bare, "supervisor")
    db.session.commit()
    staff = signed_in_client(boss)
    html = staff.get("/").get_data(as_text=True)
    assert "Setting up" in html and "1 of 5 done" in html
    assert 'href="/settings#roster"' in html and 'href="/settings#ladder"' in html
    assert 'href="/settings#mediation"' in html and "(needed to open a dispute)" in html

    bare.supervisor_name, bare.supervisor_email, bare.is_without_mediation = "Sam Ortiz", "sam@aspen.test", True
    add_members(bare, 3)
    db.session.add(Property(company_id=bare.id, name="Aspen Court"))
    db.session.commit()
    html = staff.get("/").get_data(as_text=True)
    assert "Setting up" not in html and "What needs you now" in html


def test_a_manager_sees_the_checklist_and_is_told_to_ask_a_supervisor(app, signed_in_client, bare, make_staff):
    html = signed_in_client(make_staff(bare, "manager")).get("/").get_data(as_text=True)
    assert "Only a supervisor can change the settings" in html


# The gate ---------------------------------------------------------------------------------------------

NEW_DISPUTE = {"resident_choice": "new", "new_name": "Dana Okafor", "new_email": "dana@mail.test",
               "issue": "The carpet cleaning charge is unfair.", "intent": "open",
               "category": "deposit"}


@pytest.fixture
def short_company(make_company, make_staff):
    """Ready but for its roster: two people, for a team of three."""
    company = make_company(is_ready=False)
    db.session.add(Property(company_id=company.id, name="Aspen Court", portfolio="North"))
    add_members(company, 2)
    return company


def test_the_new_dispute_page_says_up_front_why_disputes_cannot_be_opened(app, signed_in_client, short_company,
                                                                        make_staff):
    html = signed_in_client(make_staff(short_company, "manager")).get("/disputes/new").get_data(as_text=True)
    assert "Disputes cannot be opened yet" in html
    assert "your roster has 2 active regular members" in html and 'href="/settings#roster"' in html


def test_opening_is_refused_on_the_page_with_nothing_written_and_no_email(app, signed_in_client, short_company,
                                                                        make_staff, smtp):
    prop = db.session.scalars(select(Property).where(Property.company_id == short_company.id)).one()
    staff = signed_in_client(make_staff(short_company, "manager"))
    before = counts()
    response = staff.post("/disputes/new", {**NEW_DISPUTE, "property_id": str(prop.id), "unit_label": "7C"})
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "This dispute cannot be opened yet" in html
    assert "A resolution team needs 3 members and your roster has 2" in html and "Nothing was saved" in html
    assert 'href="/settings#roster"' in html
    assert counts() == before and db.session.scalar(select(func.count(Unit.id)).where(Unit.label == "7C")) == 0
    assert "Dana Okafor" in html  # the form keeps what was typed, so it can be saved as a draft instead
    assert staff.post("/disputes/new", {**NEW_DISPUTE, "intent": "draft"}).status_code == 303
    assert db.session.scalars(select(Dispute)).one().state == "draft"
    assert db.session.scalar(select(func.count(OutboxEmail.id))) == 0


def test_opening_is_refused_through_the_api_with_nothing_written_and_no_email(app, short_company, make_staff):
    manager = make_staff(short_company, "manager")
    _, key = create_api_key(make_staff(short_company, "supervisor"), name="AppFolio sync", acting_user=manager)
    db.session.commit()
    before = counts()
    response = app.test_client().post("/api/v1/disputes", headers={"Authorization": f"Bearer {key}"}, json={
        "resident": {"name": "Dana Okafor", "email": "dana@mail.test"}, "issue": "The carpet cleaning charge."})
    body = response.get_json()
    assert response.status_code == 403 and body["error"] == "NotReady"
    assert "your roster has 2 active regular members" in body["message"]
    assert "Settings → The panel roster" in body["message"]
    assert counts() == before


def test_no_ladder_contact_refuses_opening_a_draft(app, signed_in_client, company, manager, resident):
    dispute = disputes.create_dispute(Actor.staff(manager), resident=resident, issue="The charge.")
    company.supervisor_email = ""
    db.session.commit()
    before = counts()
    with pytest.raises(NotReady, match="Give the supervisor's name and email in Settings → The way up the ladder"):
        disputes.open_dispute(Actor.staff(manager), dispute)
    db.session.rollback()
    assert counts() == before
    page = signed_in_client(manager).post(f"/disputes/{dispute.id}/actions/open",
                                          {"expected_version": str(dispute.version)})
    assert page.status_code == 403 and 'href="/settings#ladder"' in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).state == "draft" and counts() == before


def test_exclusions_that_leave_too_few_for_this_property_refuse_it(app, company, manager, make_resident):
    """The company-wide count is rough; the dispute's own property is checked when it opens."""
    resident = make_resident(company)  # at a North property
    regulars = db.session.scalars(select(PanelMember).where(PanelMember.company_id == company.id)).all()
    regulars[0].excluded_portfolios = ["North"]
    dispute = disputes.create_dispute(Actor.staff(manager), resident=resident, issue="The charge.")
    with pytest.raises(NotReady, match=r"Only 2 of your active roster members may sit on a dispute at Willow Court"):
        disputes.open_dispute(Actor.staff(manager), dispute)
    assert dispute.state == "draft"
    add_members(company, 1, is_reserve=True)  # a reserve can fill the seat
    disputes.open_dispute(Actor.staff(manager), dispute)
    assert dispute.state == "awaiting_evidence"


def test_a_resident_told_to_let_us_know_is_told_how_even_without_an_office_contact(client, company, make_dispute):
    from .test_resident_support import evidence_path

    company.contact_phone = company.contact_email = ""
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    html = client.get(evidence_path(dispute, "/status")).get_data(as_text=True)
    assert (f'please close it and let us know at <a href="mailto:{dispute.manager.email}">'
            f'{dispute.manager.email}</a>.') in html


def test_the_demo_company_is_ready(app):
    from resolver.demo import build_demo

    assert is_ready(build_demo(password="a demo password").company)
