"""Factory fixtures: companies, people and disputes in any state, built through the real verbs."""
from __future__ import annotations

import itertools
import uuid

import pytest

from resolver.extensions import db
from resolver.models import Company, PanelMember, Property, Resident, StaffUser, Unit
from resolver.walkthrough import Story, walk_dispute

_numbers = itertools.count(1)


def make_ready(company: Company, *, with_property: bool = True) -> None:
    """What the set-up checklist asks for that a company row does not hold: a property (unless the test
    builds the portfolio itself), and a roster of regular members big enough to seat a team (the ladder
    contact and mediation are columns)."""
    n = next(_numbers)
    if with_property:
        db.session.add(Property(company_id=company.id, name=f"Birch House {n}", portfolio="South"))
    for i in range(company.panel_size):
        db.session.add(PanelMember(company_id=company.id, name=f"Regular {n}-{i + 1}",
                                   email=f"regular{n}-{i + 1}@peers.test", organisation="Peer Management"))
    db.session.flush()


@pytest.fixture
def make_company(app):
    def make(*, is_ready: bool = True, with_property: bool = True, **settings) -> Company:
        """A company; ``is_ready`` (the default) also gives it what the set-up checklist asks for, with a
        property unless ``with_property`` is False."""
        n = next(_numbers)
        company = Company(**{
            "name": f"Aspen Property Co {n}",
            "slug": f"aspen-{n}-{uuid.uuid4().hex[:6]}",
            "time_zone": "America/Denver",
            "supervisor_name": "Sam Supervisor",
            "supervisor_email": f"supervisor{n}@aspen.test",
            "supervisor_phone": "303-555-0100",
            "home_office_phone": "303-555-0199",
            "contact_email": f"office{n}@aspen.test",
            "contact_phone": "303-555-0123",
            "mediation_service_name": "Front Range Tenant-Landlord Mediation",
            "mediation_service_contact": "mediation.test, 303-555-0150",
            **settings,
        })
        db.session.add(company)
        db.session.flush()
        if is_ready:
            make_ready(company, with_property=with_property)
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
    """``make_dispute(state="panel_review", items=[...], votes=[...])``: walks the real verbs
    (``resolver.walkthrough``, as the demo does), with the clock standing still between the steps.

    ``votes`` are the panel's choices, one per member, used on the way through the panel.
    """

    def make(state: str = "draft", *, items=None, votes=("uphold", "uphold", "compromise"), **fields):
        story = Story(
            issue=fields.pop("issue", "The resident says the carpet-cleaning charge on the deposit is unfair."),
            what_was_fixed=fields.pop("what_was_fixed", "We re-inspected the carpet and refunded the pet fee."),
            company_position=fields.pop("company_position", "The carpet needed professional cleaning."),
            category=fields.pop("category", "security deposit"),
            items=items,
            details="The carpet was clean when I left; I have photos.",
            suggestion="Refund the $150 cleaning charge.", suggested_cents=15000,
            votes=tuple(votes),
        )
        return walk_dispute(state, manager=manager, resident=resident, story=story,
                            team=lambda dispute: make_panel(dispute.company, size=len(votes)))

    return make


@pytest.fixture
def waiting(make_dispute):
    """A dispute waiting for the resident's side, committed (pages and other threads can see it)."""
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    return dispute
