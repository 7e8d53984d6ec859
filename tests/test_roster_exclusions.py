"""Settings: whom each roster member is kept away from (properties and whole portfolios), changed at any
time with the lists before and after in the company's history; and outside mediation, named or none on
purpose."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import select, text

from resolver import create_app
from resolver.actors import Actor
from resolver.errors import InvalidInput
from resolver.extensions import db
from resolver.letters import render
from resolver.migrations import upgrade_database
from resolver.models import Company, CompanyEvent, OutboxEmail, PanelMember, Property
from resolver.services import disputes, panel
from resolver.services.readiness import checklist

from .test_manager_settings import RULES as FIVE

RULES = {**FIVE, "panel_size": "3"}  # the factory's roster seats a team of three

ARCHIVED = datetime(2026, 1, 5, tzinfo=timezone.utc)


@pytest.fixture
def places(company):
    """Three properties: two in use (North and South portfolios), one archived (its portfolio, West, too)."""
    rows = {name: Property(company_id=company.id, name=name, portfolio=portfolio, archived_dt=archived)
            for name, portfolio, archived in (("Aspen Court", "North", None), ("Cedar Rise", "South", None),
                                              ("Old Mill", "West", ARCHIVED))}
    db.session.add_all(rows.values())
    db.session.commit()
    return rows


def member_row(email="pat@peers.test") -> PanelMember:
    db.session.expire_all()
    return db.session.scalars(select(PanelMember).where(PanelMember.email == email)).one()


def exclusion_events(company) -> list[CompanyEvent]:
    return db.session.scalars(select(CompanyEvent).where(
        CompanyEvent.company_id == company.id, CompanyEvent.action == "panel_member_exclusions_changed")
        .order_by(CompanyEvent.id)).all()


def test_exclusions_are_set_when_adding_and_changed_later_with_history(app, signed_in_client, supervisor, company,
                                                                      places):
    staff = signed_in_client(supervisor)
    assert staff.post("/settings/roster", {
        "name": "Pat Peer", "email": "pat@peers.test",
        "excluded_property_ids": str(places["Aspen Court"].id), "excluded_portfolios": "south",
    }).status_code == 303
    pat = member_row()
    assert (pat.excluded_property_ids, pat.excluded_portfolios) == ([places["Aspen Court"].id], ["South"])

    # A month later: Cedar Rise instead of Aspen Court, and the North portfolio instead of the South one.
    response = staff.post(f"/settings/roster/{pat.id}", {
        "change": "exclusions", "excluded_property_ids": str(places["Cedar Rise"].id),
        "excluded_portfolios": "North"})
    assert response.status_code == 303
    pat = member_row()
    assert (pat.excluded_property_ids, pat.excluded_portfolios) == ([places["Cedar Rise"].id], ["North"])
    [event] = exclusion_events(company)
    assert (event.actor_id, event.subject_id, event.subject_label) == (supervisor.id, pat.id, "Pat Peer")
    assert event.data == {
        "before": {"property_ids": [places["Aspen Court"].id], "properties": ["Aspen Court"], "portfolios": ["South"]},
        "after": {"property_ids": [places["Cedar Rise"].id], "properties": ["Cedar Rise"], "portfolios": ["North"]},
    }
    html = staff.get("/settings").get_data(as_text=True)
    assert ("changed what Pat Peer never sits on: Aspen Court, the South portfolio → Cedar Rise, the North "
            "portfolio") in html
    assert "Cedar Rise, the North portfolio</td>" in html  # the roster table says it too

    # Clearing both is a change too; sending the same lists again is none.
    assert staff.post(f"/settings/roster/{pat.id}", {"change": "exclusions"}).status_code == 303
    assert staff.post(f"/settings/roster/{pat.id}", {"change": "exclusions"}).status_code == 303
    assert member_row().excluded_portfolios == [] and len(exclusion_events(company)) == 2
    assert "→ nothing" in staff.get("/settings").get_data(as_text=True)


def test_archived_properties_are_not_offered_but_an_existing_exclusion_stays(app, signed_in_client, supervisor,
                                                                            company, places):
    old_mill = places["Old Mill"]
    db.session.add(PanelMember(company_id=company.id, name="Pat Peer", email="pat@peers.test",
                               excluded_property_ids=[old_mill.id], excluded_portfolios=["West"]))
    db.session.add(PanelMember(company_id=company.id, name="Kim Peer", email="kim@peers.test"))
    db.session.commit()
    pat, kim = member_row(), member_row("kim@peers.test")
    staff = signed_in_client(supervisor)
    html = staff.get("/settings").get_data(as_text=True)
    pats_form = html.split(f'/settings/roster/{pat.id}"')[2].split("</form>")[0]
    kims_form = html.split(f'/settings/roster/{kim.id}"')[2].split("</form>")[0]
    assert f'value="{old_mill.id}" checked> Old Mill (archived)' in pats_form and 'value="West" checked' in pats_form
    assert "Old Mill" not in kims_form and "West" not in kims_form and "Aspen Court" in kims_form
    assert 'value="North"' in kims_form and 'value="South"' in kims_form

    for change, message in (({"excluded_property_ids": str(old_mill.id)}, "Old Mill is archived"),
                            ({"excluded_portfolios": "West"}, "&#39;West&#39; is not a portfolio of your properties"),
                            ({"excluded_portfolios": "Elsewhere"}, "is not a portfolio of your properties"),
                            ({"excluded_property_ids": "424242"}, "Choose your company&#39;s own properties")):
        response = staff.post(f"/settings/roster/{kim.id}", {"change": "exclusions", **change})
        assert response.status_code == 422 and message in response.get_data(as_text=True), change
    assert member_row("kim@peers.test").excluded_property_ids == [] and exclusion_events(company) == []

    # Pat keeps Old Mill and West while North is added.
    assert staff.post(f"/settings/roster/{pat.id}", {
        "change": "exclusions", "excluded_property_ids": str(old_mill.id),
        "excluded_portfolios": ["West", "North"]}).status_code == 303
    assert (member_row().excluded_property_ids, member_row().excluded_portfolios) == ([old_mill.id], ["North", "West"])


def test_a_portfolio_exclusion_keeps_a_member_off_a_team_there(app, signed_in_client, supervisor, manager, company,
                                                              make_dispute, make_panel):
    dispute = make_dispute("evidence_received")  # the factory's resident lives at a North property
    pat, *others = make_panel(company, size=3)
    db.session.commit()
    assert signed_in_client(supervisor).post(f"/settings/roster/{pat.id}", {
        "change": "exclusions", "excluded_portfolios": "North"}).status_code == 303
    db.session.expire_all()
    assert panel.conflicts_for(dispute, pat) == [f"{pat.name} must not judge the North portfolio"]
    assert pat not in panel.propose_panel(dispute, size=9)
    with pytest.raises(InvalidInput, match="must not judge the North portfolio"):
        panel.seat_panel(Actor.staff(manager), dispute, [pat.id] + [m.id for m in others],
                         conflict_note="We know, it's fine.")
    assert len(panel.seat_panel(Actor.staff(manager), dispute, [m.id for m in others[:1]])) == 1


# Outside mediation, chosen on purpose -----------------------------------------------------------------

def test_choosing_no_outside_mediation_on_purpose(app, signed_in_client, supervisor, company, make_dispute):
    staff = signed_in_client(supervisor)
    assert 'value="named" checked' in staff.get("/settings").get_data(as_text=True)
    response = staff.post("/settings/company", {**RULES, "mediation_service_name": "", "mediation_choice": "named"})
    assert response.status_code == 422
    assert "Give the outside mediation service&#39;s name, or choose none." in response.get_data(as_text=True)

    assert staff.post("/settings/company", {**RULES, "mediation_choice": "none"}).status_code == 303
    db.session.expire_all()
    company = db.session.get(Company, company.id)
    assert company.is_without_mediation and (company.mediation_service_name, company.mediation_service_contact) == (
        "", "")
    assert 'value="none" checked' in staff.get("/settings").get_data(as_text=True)
    mediation = next(i for i in checklist(company) if i.key == "mediation")
    assert mediation.is_done and "no outside mediation" in mediation.sentence
    assert render.mediation_of(company) is None

    # The letters that mention mediation still go out, offering the way up the ladder only; a resident
    # who still disagrees is told the manager will be in touch.
    dispute = make_dispute("referred")
    sent = {e.template: e for e in db.session.scalars(select(OutboxEmail).where(OutboxEmail.dispute_id == dispute.id))}
    assert "You can reach Sam Ortiz" in sent["outcome_letter"].body_text
    assert "outside mediation service" not in sent["outcome_letter"].body_text
    assert "will be in touch" in sent["referral_resident"].body_text
    assert "chose to name no outside mediation service" in sent["referral_manager"].body_text
    assert staff.post("/settings/company", {**RULES, "mediation_choice": "named"}).status_code == 303
    db.session.expire_all()
    assert not db.session.get(Company, company.id).is_without_mediation


def test_an_existing_company_that_names_a_service_has_chosen_after_the_upgrade(tmp_path, fresh_database):
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "test-secret",
                      "DATABASE_URL": fresh_database(f"mediation_{uuid.uuid4().hex[:8]}")})
    with app.app_context():
        upgrade_database("0002")
        with db.engine.begin() as connection:
            for slug, name in (("named", "Front Range Mediation"), ("unnamed", "")):
                connection.execute(text(
                    "INSERT INTO company (name, slug, time_zone, evidence_window_days, reply_window_days, "
                    "panel_window_days, follow_up_days, offer_valid_days, is_business_days, holidays, panel_size, "
                    "is_panel_anonymous, token_cap_cents, concession_cap_cents, supervisor_name, supervisor_email, "
                    "supervisor_phone, home_office_phone, contact_email, contact_phone, mediation_service_name, "
                    "mediation_service_contact, max_file_bytes, max_dispute_bytes, max_files, created_dt) VALUES "
                    "(:slug, :slug, 'America/Denver', 5, 7, 3, 7, 30, false, '[]', 3, true, 0, 0, '', '', '', '', "
                    "'', '', :name, '', 1, 1, 1, '2026-01-01 00:00:00')"), {"slug": slug, "name": name})
        upgrade_database()
        chosen = {company.slug: next(i for i in checklist(company) if i.key == "mediation").is_done
                  for company in db.session.scalars(select(Company))}
        assert chosen == {"named": True, "unnamed": False}
        db.session.remove()
        db.engine.dispose()
