"""Demo data: Aspen Property Co, its people, and one dispute in every state of the workflow.

Every dispute is walked through the real verbs, with the clock set back so each one sits where a
real one would today: deadlines ahead of it, history behind it. Running the demo again adds only
what is missing (for example a state whose step did not exist yet) and gives the demo manager a
fresh password.
"""
from __future__ import annotations

import io
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from PIL import Image
from sqlalchemy import select

from . import clock
from .extensions import db
from .models import Company, Dispute, OutboxEmail, PanelMember, Property, Resident, StaffUser, Unit
from .walkthrough import Pace, Story, walk_dispute
from .workflow.definition import load_definition

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


# One scenario per state, so every screen of the product has something true-to-life to show.
SCENARIOS: dict[str, Scenario] = {
    "draft": Scenario(
        "Owen Fletcher", "Cedar Heights", "204", "parking",
        "Owen says his car was towed from his own assigned space and wants the $175 tow fee back.",
        "We confirmed the space number with the towing company and repainted the worn space markings.",
        "The car was parked across two spaces, one of them a neighbour's.",
        "", "", days_ago=0.1,
    ),
    "awaiting_evidence": Scenario(
        "Tammy Rivera", "Willow Court", "2B", "security deposit",
        "Tammy says the carpet-cleaning charge on her deposit is unfair because the carpet was clean.",
        "We re-inspected the move-out photos and refunded the pet fee that was charged by mistake.",
        "The carpet needed professional cleaning after the move-out inspection.",
        "", "",
        items=({"description": "Carpet cleaning", "amount_cents": 15000, "company_reason": "Stains in both bedrooms"},),
        days_ago=1,
    ),
    "lapsed": Scenario(
        "Derek Huang", "Cedar Heights", "310", "late fee",
        "Derek says the May late fee should be waived because the online payment portal was down.",
        "We checked the portal's outage log and restored his autopay setting.",
        "The portal was working on the due date; the outage was two days later.",
        "", "", days_ago=9,
    ),
    "evidence_received": Scenario(
        "Maria Santos", "Willow Court", "1A", "maintenance",
        "Maria says she should get a rent credit for the nine days her air conditioning was out in July.",
        "The compressor was replaced and we checked the unit again a week later.",
        "The part was back-ordered; we offered a portable unit on day two.",
        "The bedroom was 88 degrees for nine nights. The portable unit only arrived on day six.",
        "A credit of one week's rent.", 42000, days_ago=3,
    ),
    "panel_review": Scenario(
        "James Okafor", "Cedar Heights", "105", "noise",
        "James says we did nothing about the upstairs neighbour's late-night noise and wants to leave his lease early.",
        "We sent two written notices to the neighbour and moved his bedroom's smoke detector that chirped.",
        "We followed the noise policy; the lease allows an early exit with 60 days' notice and a fee.",
        "I reported the noise eleven times. Nothing changed for three months.",
        "Let me end the lease with 30 days' notice and no fee.", 0, days_ago=1.5,
    ),
    "deadlocked": Scenario(
        "Aisha Brooks", "Willow Court", "3C", "pest control",
        "Aisha says the $120 pest-treatment charge is unfair because the ants came from the building.",
        "We treated the whole building's exterior and sealed the gap under her patio door.",
        "Food left out in the unit drew the ants, so the lease makes the treatment her cost.",
        "The ants were in three other units too. I keep my kitchen clean.",
        "Remove the $120 charge.", 12000,
        items=({"description": "Pest treatment", "amount_cents": 12000, "company_reason": "Lease section 14"},),
        days_ago=5,
    ),
    "decided": Scenario(
        "Robert Lindqvist", "Cedar Heights", "402", "security deposit",
        "Robert says the wall-repair charge on his deposit covers normal wear and tear.",
        "We removed the charge for the nail holes and kept the one for the damaged door.",
        "The bedroom door was split and had to be replaced.",
        "The door was cracked when I moved in; it's in my move-in checklist.",
        "Refund the $260 door charge.", 26000,
        items=(
            {"description": "Bedroom door replacement", "amount_cents": 26000, "company_reason": "Split door"},
            {"description": "Wall patching", "amount_cents": 8000, "company_reason": "Large holes in the living room"},
        ),
        days_ago=4,
    ),
    "outcome_draft": Scenario(
        "Nina Petrov", "Willow Court", "2A", "amenities",
        "Nina says she paid the amenity fee for three months while the pool was closed.",
        "The pool reopened after the resurfacing and we extended the gym hours.",
        "The amenity fee covers the gym and clubhouse too, which stayed open.",
        "The pool was the reason I chose this community. The fee is the same all year.",
        "Refund three months of the amenity fee.", 9000, days_ago=4,
    ),
    "outcome_sent": Scenario(
        "Carlos Mendez", "Cedar Heights", "112", "maintenance",
        "Carlos says water from the unit above damaged his rug and we should pay for cleaning.",
        "The upstairs leak was fixed the same day and we dried the ceiling.",
        "Renters insurance covers personal belongings under the lease.",
        "The leak had been reported twice before it came through my ceiling.",
        "Pay the $180 rug cleaning bill.", 18000, days_ago=5,
    ),
    "acknowledged": Scenario(
        "Helen Park", "Willow Court", "1B", "renewal",
        "Helen says her renewal increase was higher than what the leasing office told her on the phone.",
        "We sent her the written renewal terms and the market survey behind them.",
        "The renewal letter is the offer; phone estimates are not binding.",
        "I was told 3% on the phone and planned my budget around it.",
        "Honour the 3% increase.", None, days_ago=7,
    ),
    "referred": Scenario(
        "Victor Adeyemi", "Cedar Heights", "208", "security deposit",
        "Victor says we kept $400 of his deposit for a stained countertop that was already stained.",
        "We compared the move-in and move-out photos and refunded the cleaning portion.",
        "The countertop stain is new; the move-in photos show a clean surface.",
        "The stain is under the toaster in my move-in photos; the angle hides it.",
        "Return the full $400.", 40000,
        items=({"description": "Countertop refinishing", "amount_cents": 40000, "company_reason": "Burn mark"},),
        days_ago=7,
    ),
    "withdrawn": Scenario(
        "Laura Chen", "Willow Court", "3A", "parking",
        "Laura says her guest permit was refused for a weekend visit.",
        "The office issued a permit for the next weekend.",
        "Guest permits need 24 hours' notice.",
        "", "", days_ago=3,
    ),
    "closed": Scenario(
        "Frank DeLuca", "Cedar Heights", "301", "maintenance",
        "Frank says his dishwasher repair took three weeks and wants a rent credit.",
        "The dishwasher was replaced with a new one.",
        "The repair waited on the manufacturer's part.",
        "Three weeks of washing dishes by hand for a family of five.",
        "A $100 credit.", 10000, days_ago=14,
    ),
}


@dataclass
class DemoReport:
    company: Company
    password: str
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
            f"  password: {self.password}",
            f"The supervisor, {SUPERVISOR_EMAIL}, has the same password.",
            "",
        ]
        if self.made:
            out.append(f"Disputes made ({len(self.made)}):")
            for dispute in self.made:
                out.append(f"  #{dispute.id:<4} {dispute.state:<18} {dispute.resident.name}: {dispute.category}")
        else:
            out.append("Every state already has a demo dispute; nothing new was made.")
        for state, reason in self.skipped.items():
            out.append(f"  (no {state} dispute yet: {reason})")
        if self.emails_queued:
            out += ["", f"{self.emails_queued} emails are queued; `resolver serve` delivers them to its local mailbox."]
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
        return company, True
    company = Company(
        name="Aspen Property Co",
        slug=SLUG,
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


def _staff(company: Company, email: str, name: str, role: str, password: str) -> StaffUser:
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
    if user is None:
        user = StaffUser(company_id=company.id, email=email, name=name, role=role)
        db.session.add(user)
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
                            phone="303-555-01" + f"{len(scenario.resident):02d}")
        db.session.add(resident)
        db.session.flush()
    return resident


# The team's votes for each state the demo leaves a dispute in (the usual ones otherwise).
_VOTES = {"deadlocked": ("uphold", "resident", "compromise"), "decided": ("compromise", "compromise", "uphold")}


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
                "sha256": store_bytes(photo)}] if state not in _BEFORE_EVIDENCE else [],
        votes=_VOTES.get(state, ("uphold", "uphold", "compromise")), votes_left_in_review=1,
        vote_reason=lambda _seat, choice: _reason(choice),
        deadlock_note="Meet the resident halfway.",
        withdraw_reason="The resident and the office agreed a date by phone.",
        refer_reason="The resident declined the offer and asked for mediation.",
        close_reason="The resident confirmed and the credit was applied.",
        system_label="Resolver (deadline)",
    )

    def team(dispute: Dispute) -> list[PanelMember]:
        # Rotate who sits, so every panel member has a few cases.
        return [panel[(turn + i) % len(panel)] for i in range(dispute.company.panel_size)]

    return walk_dispute(state, manager=manager, resident=_resident(company, scenario), story=story, team=team,
                        pace=_Timeline(today - timedelta(days=scenario.days_ago)))


_BEFORE_EVIDENCE = ("draft", "awaiting_evidence", "lapsed", "withdrawn")


def _reason(choice: str) -> str:
    return {
        "uphold": "The company's records support its position, and the fix it already made was fair.",
        "resident": "The resident's account is consistent and the company could have acted sooner.",
        "compromise": "Both sides have a point; a small gesture would keep a good resident.",
    }[choice]


def build_demo(password: str | None = None) -> DemoReport:
    """Make (or complete) the demo company and commit. Returns what it did, for printing."""
    password = password or secrets.token_urlsafe(9)
    today = clock.now_utc()
    company, was_there = _company()
    manager = _staff(company, MANAGER_EMAIL, "Dana Whitfield", "manager", password)
    _staff(company, SUPERVISOR_EMAIL, "Sam Ortiz", "supervisor", password)
    panel = _panel(company)
    db.session.commit()
    report = DemoReport(company=company, password=password, was_there=was_there)
    present = set(db.session.scalars(select(Dispute.state).where(Dispute.company_id == company.id)))
    outbox_before = db.session.scalar(select(db.func.count(OutboxEmail.id)))
    workflow = load_definition("dispute")
    with clock.kept():  # whatever the demo does to the clock, as it was (a test may have frozen it)
        for turn, state in enumerate(workflow.states):
            if state in present:
                continue
            scenario = SCENARIOS.get(state)
            if scenario is None:
                report.skipped[state] = "the demo has no story for this state"
                continue
            # One transaction per dispute, as the people would have made them: a step that fails
            # leaves no half-made dispute behind.
            try:
                dispute = _walk(state, scenario, company, manager, panel, today, turn)
                db.session.commit()
            except Exception as problem:  # a step another part of Resolver has not finished yet
                db.session.rollback()
                report.skipped[state] = f"{type(problem).__name__}: {problem}"[:200]
                continue
            report.made.append(dispute)
    report.emails_queued = db.session.scalar(select(db.func.count(OutboxEmail.id))) - outbox_before
    return report
