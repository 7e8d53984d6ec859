"""Factory fixtures: companies, people and disputes in any state, built through the real verbs."""
from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

import pytest

from resolver import clock
from resolver.actors import Actor
from resolver.extensions import db
from resolver.models import Company, PanelMember, Property, Resident, StaffUser, Unit

_numbers = itertools.count(1)

# The order a dispute moves through on the usual path; make_dispute walks it as far as asked.
HAPPY_PATH = [
    "draft", "awaiting_evidence", "evidence_received", "panel_review", "decided",
    "outcome_draft", "outcome_sent", "acknowledged", "closed",
]


@pytest.fixture
def make_company(app):
    def make(**settings) -> Company:
        n = next(_numbers)
        company = Company(
            name=settings.pop("name", f"Aspen Property Co {n}"),
            slug=settings.pop("slug", f"aspen-{n}-{uuid.uuid4().hex[:6]}"),
            time_zone=settings.pop("time_zone", "America/Denver"),
            supervisor_name="Sam Supervisor",
            supervisor_email=f"supervisor{n}@aspen.test",
            supervisor_phone="303-555-0100",
            home_office_phone="303-555-0199",
            contact_email=f"office{n}@aspen.test",
            contact_phone="303-555-0123",
            mediation_service_name="Front Range Tenant-Landlord Mediation",
            mediation_service_contact="mediation.test, 303-555-0150",
            **settings,
        )
        db.session.add(company)
        db.session.flush()
        return company

    return make


@pytest.fixture
def company(make_company) -> Company:
    return make_company()


@pytest.fixture
def make_staff(app):
    def make(company: Company, role: str = "manager", **fields) -> StaffUser:
        n = next(_numbers)
        user = StaffUser(
            company_id=company.id,
            email=fields.pop("email", f"{role}{n}@{company.slug}.test"),
            name=fields.pop("name", f"{role.title()} {n}"),
            role=role,
            **fields,
        )
        if "password" in fields:
            raise TypeError("set passwords through resolver.web.manager.auth, not the factory")
        db.session.add(user)
        db.session.flush()
        return user

    return make


@pytest.fixture
def manager(company, make_staff) -> StaffUser:
    return make_staff(company, "manager", name="Morgan Manager")


@pytest.fixture
def supervisor(company, make_staff) -> StaffUser:
    return make_staff(company, "supervisor", name="Sam Supervisor")


@pytest.fixture
def make_resident(app):
    def make(company: Company, **fields) -> Resident:
        n = next(_numbers)
        prop = Property(company_id=company.id, name=f"Willow Court {n}", portfolio="North")
        db.session.add(prop)
        db.session.flush()
        unit = Unit(property_id=prop.id, label=fields.pop("unit", f"{n}B"))
        db.session.add(unit)
        db.session.flush()
        resident = Resident(
            company_id=company.id,
            unit_id=unit.id,
            name=fields.pop("name", "Tammy Rivera"),
            email=fields.pop("email", f"resident{n}@mail.test"),
            phone="303-555-0142",
            **fields,
        )
        db.session.add(resident)
        db.session.flush()
        return resident

    return make


@pytest.fixture
def resident(company, make_resident) -> Resident:
    return make_resident(company)


@pytest.fixture
def make_panel(app):
    def make(company: Company, size: int = 5) -> list[PanelMember]:
        members = []
        for i in range(size):
            n = next(_numbers)
            member = PanelMember(
                company_id=company.id, name=f"Panelist {n}", email=f"panelist{n}@peers.test",
                organisation=f"Peer Management {i + 1}",
            )
            db.session.add(member)
            members.append(member)
        db.session.flush()
        return members

    return make


@pytest.fixture
def make_dispute(app, company, manager, resident, make_panel):
    """``make_dispute(state="panel_review", items=[...], votes=[...])``: walks the real verbs.

    ``votes`` are the panel's choices, one per member, used on the way through the panel.
    """
    from resolver.services import disputes, evidence

    def make(state: str = "draft", *, items=None, votes=("uphold", "uphold", "compromise"), **fields):
        staff = Actor.staff(manager)
        dispute = disputes.create_dispute(
            staff,
            resident=resident,
            issue=fields.pop("issue", "The resident says the carpet-cleaning charge on the deposit is unfair."),
            what_was_fixed=fields.pop("what_was_fixed", "We re-inspected the carpet and refunded the pet fee."),
            company_position=fields.pop("company_position", "The carpet needed professional cleaning."),
            category=fields.pop("category", "security deposit"),
            items=items,
        )
        target = HAPPY_PATH.index(state) if state in HAPPY_PATH else None
        if state == "draft":
            return dispute
        disputes.open_dispute(staff, dispute)
        if state == "lapsed":
            clock.advance(dispute.evidence_due_dt - clock.now_utc() + timedelta(minutes=1))
            disputes.lapse_dispute(Actor.system(), dispute)
            return dispute
        if state == "withdrawn":
            disputes.withdraw_dispute(staff, dispute, reason="The resident settled with the owner directly.")
            return dispute
        if target is not None and target <= HAPPY_PATH.index("awaiting_evidence"):
            return dispute
        evidence.submit_evidence(
            Actor.resident(resident), dispute, form_key=uuid.uuid4().hex,
            details="The carpet was clean when I left; I have photos.",
            suggested_resolution="Refund the $150 cleaning charge.", suggested_amount_cents=15000,
        )
        if state == "evidence_received":
            return dispute
        return _drive_panel_and_outcome(dispute, state, staff, votes, make_panel)

    return make


def _drive_panel_and_outcome(dispute, state, staff, votes, make_panel):
    from resolver.services import outcome, panel

    members = make_panel(dispute.company, size=len(votes))
    seats = panel.seat_panel(staff, dispute, [m.id for m in members])
    panel.send_to_panel(staff, dispute)
    if state == "panel_review":
        return dispute
    for seat, choice in zip(seats, votes):
        if dispute.state != "panel_review":
            break  # the result could no longer change, so the panel closed early
        panel.record_vote(
            Actor.panel(seat.member), seat, choice=choice,
            reason=f"{seat.member.name}: the photos and the inspection report point this way.",
            token_kind="coffee-shop gift card", token_cents=2500,
            concession_cents=5000 if choice != "uphold" else None,
        )
    panel.close_panel(Actor.system(), dispute)
    if state == "deadlocked":
        assert dispute.state == "deadlocked", f"votes {votes} did not deadlock"
        return dispute
    if dispute.state == "deadlocked":
        panel.decide_deadlock(staff, dispute, decision="compromise", note="Split the difference.")
    if state == "decided":
        return dispute
    letter = outcome.draft_outcome(staff, dispute)
    if state == "outcome_draft":
        return dispute
    outcome.approve_letter(staff, letter, override_reason="")
    outcome.send_outcome(staff, dispute)
    if state == "outcome_sent":
        return dispute
    if state == "referred":
        outcome.refer_out(staff, dispute, reason="The resident declined and asked for mediation.")
        return dispute
    outcome.acknowledge_outcome(Actor.resident(dispute.resident), dispute)
    if state == "acknowledged":
        return dispute
    from resolver.services import disputes

    disputes.close_dispute(staff, dispute, reason="Resolved.")
    return dispute
