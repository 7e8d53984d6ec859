"""Settings: supervisors change the company's rules, roster, staff and API keys; managers read them."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from resolver.actors import Actor
from resolver.extensions import db
from resolver.models import ApiKey, Company, CompanyEvent, PanelMember, Property, StaffUser
from resolver.services import disputes

from .fixtures_manager import sign_in

RULES = {
    "evidence_window_days": "3", "reply_window_days": "10", "panel_window_days": "2", "follow_up_days": "5",
    "offer_valid_days": "14", "time_zone": "America/Chicago", "is_business_days": "on",
    "holidays": "2026-03-11\n2026-12-25", "panel_size": "5", "token_cap": "25", "concession_cap": "$1,000.00",
    "supervisor_name": "Sam Ortiz", "supervisor_email": "sam@aspen.test", "supervisor_phone": "303-555-0100",
    "home_office_phone": "303-555-0199", "contact_email": "office@aspen.test", "contact_phone": "303-555-0123",
    "mediation_service_name": "Front Range Mediation", "mediation_service_contact": "mediation.test",
    "max_file_mb": "8", "max_dispute_mb": "40", "max_files": "12",
}


def test_a_supervisor_changes_the_rules_and_new_deadlines_follow_them(
    app, signed_in_client, supervisor, manager, company, resident, make_panel
):
    make_panel(company, size=2)  # the roster seats the team of five the rules ask for
    staff = signed_in_client(supervisor)
    response = staff.post("/settings/company", RULES)
    assert response.status_code == 303
    db.session.expire_all()
    company = db.session.get(Company, company.id)
    assert (company.evidence_window_days, company.reply_window_days, company.panel_size) == (3, 10, 5)
    assert company.is_business_days and company.holidays == ["2026-03-11", "2026-12-25"]
    assert (company.token_cap_cents, company.concession_cap_cents) == (2500, 100000)
    assert company.time_zone == "America/Chicago" and company.mediation_service_name == "Front Range Mediation"
    assert (company.max_file_bytes, company.max_dispute_bytes, company.max_files) == (8 << 20, 40 << 20, 12)
    assert "Saved." in staff.get("/settings").get_data(as_text=True)

    # Monday 9 March + 3 business days, skipping the Wednesday 11 holiday: the end of Friday 13 March, in Chicago.
    dispute = disputes.create_dispute(Actor.staff(manager), resident=resident, issue="x")
    disputes.open_dispute(Actor.staff(manager), dispute)
    assert dispute.evidence_due_dt.astimezone(company_zone(company)).strftime("%a %d %b %H:%M") == "Fri 13 Mar 23:59"


def company_zone(company):
    from zoneinfo import ZoneInfo

    return ZoneInfo(company.time_zone)


def test_bad_settings_are_refused_and_nothing_changes(app, signed_in_client, supervisor, company):
    staff = signed_in_client(supervisor)
    before = {c.key: getattr(company, c.key) for c in Company.__table__.columns}
    cases = [
        ({"panel_size": "4"}, "odd number"),
        ({"evidence_window_days": "0"}, "from 1 to 90"),
        ({"reply_window_days": "seven"}, "from 1 to 90"),
        ({"time_zone": "Mars/Olympus"}, "is not a time zone"),
        ({"holidays": "2026-02-30"}, "is not a date"),
        ({"token_cap": "-5"}, "cannot be negative"),
        ({"concession_cap": "lots"}, "should be written like"),
        ({"supervisor_email": "sam at aspen"}, "not an email address"),
        ({"max_file_mb": "0"}, "The largest file (MB): a whole number from 1 to 50"),
        ({"max_file_mb": "20", "max_dispute_mb": "10"}, "at least the limit for one file"),
    ]
    for change, message in cases:
        response = staff.post("/settings/company", {**RULES, **change})
        assert response.status_code == 422, change
        assert message in response.get_data(as_text=True), change
        db.session.expire_all()
        after = db.session.get(Company, company.id)
        assert {c.key: getattr(after, c.key) for c in Company.__table__.columns} == before, change


def test_a_refused_rules_form_shows_what_was_typed_beside_the_problem(app, signed_in_client, supervisor, company):
    staff = signed_in_client(supervisor)
    response = staff.post("/settings/company", {**RULES, "token_cap": "12,34x", "supervisor_name": "Pat Lee",
                                                "holidays": "2026-12-25", "is_business_days": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The token cap should be written like 150 or 150.00 (dollars and cents)." in html
    # What was typed is there to correct, the wrong amount included; nothing was saved.
    assert 'name="token_cap" value="12,34x"' in html and 'name="supervisor_name" value="Pat Lee"' in html
    assert 'name="evidence_window_days" value="3"' in html and ">2026-12-25</textarea>" in html
    assert 'name="is_business_days" >' in html
    db.session.expire_all()
    assert db.session.get(Company, company.id).supervisor_name != "Pat Lee"


def test_a_manager_reads_the_settings_but_cannot_change_them(app, signed_in_client, manager, company):
    staff = signed_in_client(manager)
    html = staff.get("/settings").get_data(as_text=True)
    assert "only a supervisor can change them" in html and "<fieldset disabled>" in html
    response = staff.post("/settings/company", RULES)
    assert response.status_code == 403 and "Only a supervisor can change this" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Company, company.id).evidence_window_days == 5


def test_the_panel_roster(app, signed_in_client, supervisor, company):
    staff = signed_in_client(supervisor)
    assert staff.post("/settings/roster", {"name": "Pat Peer", "email": "Pat@Peers.test", "organisation": "Peer Co",
                                           "is_reserve": "on"}).status_code == 303
    member = db.session.scalars(select(PanelMember).where(PanelMember.email == "pat@peers.test")).one()
    assert (member.email, member.is_reserve, member.company_id) == ("pat@peers.test", True, company.id)
    response = staff.post("/settings/roster", {"name": "Pat Again", "email": "pat@peers.test"})
    assert response.status_code == 422 and "already on the roster" in response.get_data(as_text=True)
    assert staff.post(f"/settings/roster/{member.id}", {"change": "deactivate"}).status_code == 303
    db.session.expire_all()
    assert not db.session.get(PanelMember, member.id).is_active
    assert "off the roster" in staff.get("/settings").get_data(as_text=True)


def test_staff_accounts(app, signed_in_client, supervisor, manager, company):
    staff = signed_in_client(supervisor)
    response = staff.post("/settings/staff", {"name": "Riley New", "email": "riley@", "role": "manager"})
    assert response.status_code == 422 and "not an email address" in response.get_data(as_text=True)
    # No password is typed: the person is invited, and chooses one from the email (tests/test_accounts.py).
    assert staff.post("/settings/staff", {"name": "Riley New", "email": "riley@aspen.test", "role": "manager",
                                          "password": "ignored"}).status_code == 303
    riley = db.session.scalars(select(StaffUser).where(StaffUser.email == "riley@aspen.test")).one()
    assert riley.password_hash == "" and riley.role == "manager"
    assert sign_in(app.test_client(), riley.email, "ignored").status_code == 401

    # Switching someone off signs them out at once.
    manager_client = signed_in_client(manager)
    assert staff.post(f"/settings/staff/{manager.id}", {"change": "deactivate"}).status_code == 303
    assert manager_client.get("/").status_code == 302
    # Nobody switches themselves off.
    response = staff.post(f"/settings/staff/{supervisor.id}", {"change": "deactivate"})
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(StaffUser, supervisor.id).is_active


def test_api_keys_are_shown_once_and_can_be_revoked(app, signed_in_client, supervisor, manager):
    staff = signed_in_client(supervisor)
    response = staff.post("/settings/api-keys", {"name": "AppFolio sync", "acting_user_id": str(manager.id)})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    key = re.search(r'data-testid="new-key">(rsv_[^<]+)<', response.get_data(as_text=True)).group(1)
    assert key not in staff.get("/settings").get_data(as_text=True)
    api = app.test_client()
    assert api.get("/api/v1/disputes", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    row = db.session.scalars(select(ApiKey)).one()
    assert staff.post(f"/settings/api-keys/{row.id}/revoke").status_code == 303
    assert api.get("/api/v1/disputes", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    response = staff.post("/settings/api-keys", {"name": "", "acting_user_id": str(manager.id)})
    assert response.status_code == 422 and db.session.query(ApiKey).count() == 1


def test_settings_apply_to_later_disputes_only(app, signed_in_client, supervisor, make_dispute, frozen_clock):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    due = dispute.evidence_due_dt
    frozen_clock.advance(timedelta(hours=1))
    signed_in_client(supervisor).post("/settings/company", RULES)
    db.session.expire_all()
    assert db.session.get(type(dispute), dispute.id).evidence_due_dt == due


def test_a_supervisor_sets_a_new_password_and_the_old_sessions_end(app, signed_in_client, supervisor, manager):
    staff = signed_in_client(supervisor)
    old_session = signed_in_client(manager)
    assert "New password for Morgan Manager" in staff.get("/settings").get_data(as_text=True)
    response = staff.post(f"/settings/staff/{manager.id}", {"change": "password", "password": "short"})
    assert response.status_code == 422 and old_session.get("/").status_code == 200
    assert staff.post(f"/settings/staff/{manager.id}", {"change": "password",
                                                        "password": "a fresh long password"}).status_code == 303
    assert old_session.get("/").status_code == 302
    assert sign_in(app.test_client(), manager.email, "a fresh long password").status_code == 302


# The company's history ------------------------------------------------------------------------------

def company_history(company) -> list[tuple[str, str]]:
    db.session.expire_all()
    return [(e.action, e.subject_label) for e in db.session.scalars(
        select(CompanyEvent).where(CompanyEvent.company_id == company.id).order_by(CompanyEvent.id))]


def test_every_roster_change_leaves_a_row_in_the_companys_history(app, signed_in_client, supervisor, company):
    near = Property(company_id=company.id, name="Aspen Court")
    db.session.add(near)
    db.session.commit()
    staff = signed_in_client(supervisor)
    assert staff.post("/settings/roster", {"name": "Pat Peer", "email": "pat@peers.test"}).status_code == 303
    member = db.session.scalars(select(PanelMember).where(PanelMember.email == "pat@peers.test")).one()
    for change in ({"change": "reserve"}, {"change": "deactivate"}, {"change": "activate"},
                   {"change": "exclusions", "excluded_property_ids": str(near.id)}):
        assert staff.post(f"/settings/roster/{member.id}", change).status_code == 303, change
    db.session.expire_all()
    assert db.session.get(PanelMember, member.id).excluded_property_ids == [near.id]
    assert company_history(company) == [
        ("panel_member_added", "Pat Peer"), ("panel_member_reserve_changed", "Pat Peer"),
        ("panel_member_deactivated", "Pat Peer"), ("panel_member_activated", "Pat Peer"),
        ("panel_member_exclusions_changed", "Pat Peer"),
    ]
    [event] = db.session.scalars(select(CompanyEvent).where(CompanyEvent.action == "panel_member_added")).all()
    assert (event.actor_kind, event.actor_id, event.subject_id) == ("staff", supervisor.id, member.id)
    html = staff.get("/settings").get_data(as_text=True)
    assert "added Pat Peer to the roster" in html and "took Pat Peer off the roster" in html


def test_a_refused_roster_or_staff_change_leaves_no_history(app, signed_in_client, supervisor, manager, company):
    staff = signed_in_client(supervisor)
    assert staff.post("/settings/roster", {"name": "Pat Peer", "email": "not an address"}).status_code == 422
    assert staff.post("/settings/roster", {"name": "Pat Peer", "email": "pat@peers.test",
                                           "excluded_property_ids": "424242"}).status_code == 422
    assert staff.post(f"/settings/staff/{supervisor.id}", {"change": "role", "role": "manager"}).status_code == 403
    assert staff.post(f"/settings/staff/{manager.id}", {"change": "password", "password": "short"}).status_code == 422
    assert company_history(company) == []
    assert db.session.scalars(select(PanelMember).where(PanelMember.email == "pat@peers.test")).all() == []


def test_staff_changes_and_settings_leave_history_without_the_password(app, signed_in_client, supervisor, manager,
                                                                      company):
    staff = signed_in_client(supervisor)
    assert staff.post("/settings/staff", {"name": "Riley New", "email": "riley@aspen.test",
                                          "role": "manager"}).status_code == 303
    assert staff.post(f"/settings/staff/{manager.id}", {"change": "role", "role": "supervisor"}).status_code == 303
    assert staff.post(f"/settings/staff/{manager.id}", {"change": "password",
                                                        "password": "another long one"}).status_code == 303
    assert staff.post("/settings/company", RULES).status_code == 303
    assert company_history(company) == [
        ("staff_invited", "Riley New"), ("staff_role_changed", "Morgan Manager"),
        ("staff_password_changed", "Morgan Manager"), ("rules_changed", company.name),
    ]
    events = db.session.scalars(select(CompanyEvent).order_by(CompanyEvent.id)).all()
    assert events[1].data == {"before": "manager", "after": "supervisor"}
    assert "another long one" not in str([e.data for e in events])
    assert events[3].data["changed"]["panel_size"] == [3, 5]


def test_the_company_history_is_append_only(app, signed_in_client, supervisor, company):
    signed_in_client(supervisor).post("/settings/roster", {"name": "Pat Peer", "email": "pat@peers.test"})
    event = db.session.scalars(select(CompanyEvent)).one()
    event.reason = "rewritten"
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()


def test_the_roster_and_staff_verbs_check_who_may_change_them(app, supervisor, manager, company, make_company,
                                                             make_staff):
    from resolver.errors import NotAllowed
    from resolver.services import roster, staff

    member = roster.add_panel_member(Actor.staff(supervisor), name="Pat Peer", email="pat@peers.test")
    elsewhere = make_staff(make_company(), "supervisor")
    for actor in (Actor.staff(manager), Actor.staff(elsewhere)):
        with pytest.raises(NotAllowed):
            roster.set_panel_member_active(actor, member, is_active=False)
        with pytest.raises(NotAllowed):
            staff.set_staff_role(actor, manager, "supervisor")
    with pytest.raises(NotAllowed, match="Only a supervisor"):
        roster.add_panel_member(Actor.staff(manager), name="Sam Peer", email="sam@peers.test")
    assert member.is_active and manager.role == "manager"
