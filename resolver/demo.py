"""Demo data: Aspen Property Co, its people, and one dispute in every state of the workflow.

Every dispute is walked through the real verbs, with the clock set back so each one sits where a
real one would today: deadlines ahead of it, history behind it. Running the demo again adds only
what is missing (for example a state whose step did not exist yet) and keeps the staff's password
unless a new one is given.
"""
from __future__ import annotations

import io
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import yaml
from PIL import Image
from sqlalchemy import select

from . import clock
from .actors import Actor
from .extensions import db
from .models import Company, Dispute, OutboxEmail, PanelMember, Property, Resident, StaffUser, Unit
from .services.categories import add_category, all_categories, phrases_of
from .walkthrough import Pace, Story, walk_dispute
from .workflow.definition import Decision, load_definition

SLUG = "aspen"
MANAGER_EMAIL = "demo@aspen.test"
SUPERVISOR_EMAIL = "sam.ortiz@aspen.test"

PANEL = [
    ("Priya Raman", "priya.raman@peers.test", "Foothills Rentals"),
    ("Luis Ortega", "luis.ortega@peers.test", "Clear Creek Residential"),
    ("Hannah Kowalski", "hannah.k@peers.test", "Aspen Property Co, Boulder office"),
    ("Marcus Bell", "marcus.bell@peers.test", "Front Range Homes"),
    ("Grace Whitaker", "grace.whitaker@peers.test", "Landlord attorney hotline"),
]

PROPERTIES = {
    "Willow Court": "1420 Willow Court, Lakewood, CO 80401",
    "Cedar Heights": "88 Cedar Heights Drive, Golden, CO 80401",
}


@dataclass(frozen=True)
class Scenario:
    resident: str
    property: str
    unit: str
    category: str
    issue: str
    what_was_fixed: str
    company_position: str
    details: str
    suggestion: str
    suggested_cents: int | None = None
    items: tuple[dict, ...] = ()
    days_ago: float = 3  # when the dispute was created, before today
    votes: tuple[str, ...] = (Decision.UPHOLD, Decision.UPHOLD, Decision.COMPROMISE)  # the team's, in turn
    lessons_learned: str = ""  # what the company learned, recorded on closing
    language: str = "en"  # the resident's preferred language


def _scenarios() -> dict[str, Scenario]:
    """The demo's stories (``demo_scenarios.yaml``), by the state each dispute is walked to."""
    raw = yaml.safe_load((Path(__file__).with_name("demo_scenarios.yaml")).read_text(encoding="utf-8"))
    return {state: Scenario(**{**fields, "items": tuple(fields.get("items", ())),
                               "votes": tuple(fields.get("votes", Scenario.votes))})
            for state, fields in raw.items()}


@dataclass
class DemoReport:
    company: Company
    password: str | None  # None: the staff kept the password they had
    was_there: bool
    made: list[Dispute] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    emails_queued: int = 0

    def lines(self) -> list[str]:
        out = [
            f"{'Updated' if self.was_there else 'Made'} the demo company {self.company.name} ({self.company.slug}).",
            "",
            "Sign in as the manager:",
            f"  email:    {MANAGER_EMAIL}",
            f"  password: {self.password}" if self.password else
            "  password: unchanged (the one printed when the demo was made; `resolver demo --password ...` sets another)",
            f"The supervisor, {SUPERVISOR_EMAIL}, has the same password.",
            "",
        ]
        if self.made:
            out.append(f"Disputes made ({len(self.made)}):")
            for dispute in self.made:
                out.append(f"  #{dispute.id:<4} {dispute.state:<18} {dispute.resident.name}: {phrases_of(dispute).label}")
        else:
            out.append("Every state already has a demo dispute; nothing new was made.")
        for state, reason in self.skipped.items():
            out.append(f"  (no {state} dispute yet: {reason})")
        if self.emails_queued:
            out += ["", f"{self.emails_queued} emails are queued; `resolver serve` delivers them to its local mailbox, "
                        "their links pointing at the address it serves on."]
        out += ["", 'To rehearse the deadlines, run `resolver tick --as-of "in 2 days"` beside `resolver serve`.']
        return out


class _Timeline(Pace):
    """Walks the clock forward through one dispute's story, from the day it began."""

    def __init__(self, start: datetime):
        self.now = start
        clock.freeze(start)

    def later(self, **delta: float) -> None:
        self.move_to(self.now + timedelta(**delta))

    def move_to(self, moment: datetime) -> None:
        # Each moment is a new request in real life: what the last one did is in the database
        # before the next one starts (a timer scheduled then cancelled must be there to cancel).
        db.session.flush()
        self.now = moment
        clock.freeze(moment)


def _photo(rgb: tuple[int, int, int], width: int = 48, height: int = 32) -> bytes:
    """A small solid-colour PNG: something real to attach as a resident's photo."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), rgb).save(out, format="PNG")
    return out.getvalue()


def _set_password(user: StaffUser, password: str) -> None:
    from .services.staff import set_password

    set_password(user, password)


def _company() -> tuple[Company, bool]:
    company = db.session.scalar(select(Company).where(Company.slug == SLUG))
    if company is not None:
        company.is_demo = True  # made before demos were marked
        return company, True
    company = Company(
        name="Aspen Property Co",
        slug=SLUG,
        is_demo=True,
        time_zone="America/Denver",
        supervisor_name="Sam Ortiz",
        supervisor_email=SUPERVISOR_EMAIL,
        supervisor_phone="303-555-0100",
        home_office_phone="303-555-0199",
        contact_email="office@aspen.test",
        contact_phone="303-555-0123",
        mediation_service_name="Front Range Tenant-Landlord Mediation",
        mediation_service_contact="mediation.test, 303-555-0150 (free for residents)",
    )
    db.session.add(company)
    db.session.flush()
    return company, False


# A category the demo company added of its own, beside Resolver's (Settings → Dispute categories).
DEMO_CATEGORY = {
    "label": "Parking permits", "matter": "your parking permit",
    "concession": "off your next parking permit", "task": "Take {amount} off the resident's next parking permit",
    "token": "car wash voucher",
}


def _own_categories(company: Company) -> None:
    if all(c.label != DEMO_CATEGORY["label"] for c in all_categories(company)):
        add_category(Actor.system("resolver demo"), company, DEMO_CATEGORY)


def _staff(company: Company, email: str, name: str, role: str, password: str | None) -> StaffUser:
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
    if user is None:
        user = StaffUser(company_id=company.id, email=email, name=name, role=role)
        db.session.add(user)
    if password is not None:
        _set_password(user, password)
    db.session.flush()
    return user


def _panel(company: Company) -> list[PanelMember]:
    members = []
    for name, email, organisation in PANEL:
        member = db.session.scalar(
            select(PanelMember).where(PanelMember.company_id == company.id, PanelMember.email == email)
        )
        if member is None:
            member = PanelMember(company_id=company.id, name=name, email=email, organisation=organisation)
            db.session.add(member)
        members.append(member)
    db.session.flush()
    return members


def _resident(company: Company, scenario: Scenario) -> Resident:
    prop = db.session.scalar(select(Property).where(Property.company_id == company.id, Property.name == scenario.property))
    if prop is None:
        prop = Property(company_id=company.id, name=scenario.property, address=PROPERTIES[scenario.property],
                        portfolio="Jefferson County")
        db.session.add(prop)
        db.session.flush()
    unit = db.session.scalar(select(Unit).where(Unit.property_id == prop.id, Unit.label == scenario.unit))
    if unit is None:
        unit = Unit(property_id=prop.id, label=scenario.unit)
        db.session.add(unit)
        db.session.flush()
    email = scenario.resident.lower().replace(" ", ".") + "@residents.test"
    resident = db.session.scalar(select(Resident).where(Resident.company_id == company.id, Resident.email == email))
    if resident is None:
        resident = Resident(company_id=company.id, unit_id=unit.id, name=scenario.resident, email=email,
                            phone="303-555-01" + f"{len(scenario.resident):02d}",
                            preferred_language=scenario.language)
        db.session.add(resident)
        db.session.flush()
    return resident


def _walk(state: str, scenario: Scenario, company: Company, manager: StaffUser, panel: list[PanelMember],
          today: datetime, turn: int) -> Dispute:
    """Take one dispute from draft to ``state`` through the verbs, as the people would have."""
    from .files import store_bytes

    photo = _photo((180 - 10 * turn, 150, 120 + 5 * turn))
    story = Story(
        issue=scenario.issue, what_was_fixed=scenario.what_was_fixed, company_position=scenario.company_position,
        category=scenario.category, items=scenario.items,
        details=scenario.details, suggestion=scenario.suggestion, suggested_cents=scenario.suggested_cents,
        files=[{"original_name": "photo-1.png", "content_type": "image/png", "size_bytes": len(photo),
                "sha256": store_bytes(photo)}] if scenario.details else [],  # a photo with the resident's side
        votes=scenario.votes, votes_left_in_review=1,
        vote_reason=lambda _seat, choice: _reason(choice),
        deadlock_note="Meet the resident halfway.",
        withdraw_reason="The resident and the office agreed a date by phone.",
        refer_reason="The resident declined the offer and asked for mediation.",
        close_reason="The resident confirmed and the credit was applied.",
        lessons_learned=scenario.lessons_learned,
        system_label="Resolver (deadline)",
    )

    def team(dispute: Dispute) -> list[PanelMember]:
        # Rotate who sits, so every panel member has a few cases.
        return [panel[(turn + i) % len(panel)] for i in range(dispute.company.panel_size)]

    return walk_dispute(state, manager=manager, resident=_resident(company, scenario), story=story, team=team,
                        pace=_Timeline(today - timedelta(days=scenario.days_ago)))


def _reason(choice: str) -> str:
    return {
        Decision.UPHOLD: "The company's records support its position, and the fix it already made was fair.",
        Decision.RESIDENT: "The resident's account is consistent and the company could have acted sooner.",
        Decision.COMPROMISE: "Both sides have a point; a small gesture would keep a good resident.",
    }[choice]


def build_demo(password: str | None = None) -> DemoReport:
    """Make (or complete) the demo company and commit. Returns what it did, for printing."""
    today = clock.now_utc()
    company, was_there = _company()
    staff_there = db.session.scalar(
        select(db.func.count(StaffUser.id)).where(StaffUser.email.in_([MANAGER_EMAIL, SUPERVISOR_EMAIL])))
    if password is None and staff_there < 2:  # somebody new: they need a password, and to be told it
        password = secrets.token_urlsafe(9)
    manager = _staff(company, MANAGER_EMAIL, "Dana Whitfield", "manager", password)
    _staff(company, SUPERVISOR_EMAIL, "Sam Ortiz", "supervisor", password)
    panel = _panel(company)
    _own_categories(company)
    db.session.commit()
    report = DemoReport(company=company, password=password, was_there=was_there)
    present = set(db.session.scalars(select(Dispute.state).where(Dispute.company_id == company.id)))
    outbox_before = db.session.scalar(select(db.func.count(OutboxEmail.id)))
    workflow = load_definition("dispute")
    scenarios = _scenarios()
    with clock.kept():  # whatever the demo does to the clock, as it was (a test may have frozen it)
        for turn, state in enumerate(workflow.states):
            if state in present:
                continue
            scenario = scenarios.get(state)
            if scenario is None:
                report.skipped[state] = "the demo has no story for this state"
                continue
            # One transaction per dispute, as the people would have made them.
            report.made.append(_walk(state, scenario, company, manager, panel, today, turn))
            db.session.commit()
    report.emails_queued = db.session.scalar(select(db.func.count(OutboxEmail.id))) - outbox_before
    return report
