"""Whether a company is ready to promise a resident what the process promises: the set-up checklist.

Five things make a company ready: its time zone, a supervisor named as the way up the ladder, an
outside mediation service named (or none chosen on purpose), enough people on the roster to seat a
team of the company's size, and at least one property. Two of them are promises the invitation
makes ("your case goes to a resolution team", "you can always ask my supervisor"), so a dispute is
not opened while either is missing: ``require_ready_to_open`` refuses, saying what is missing and
where it is fixed, before anything is written or sent.

The roster count is a company-wide rough check: the active regular members (reserves are kept for
members who step aside) must number at least the team's size. Conflicts depend on the dispute, so
the check made when a dispute opens also counts, for that dispute, the active members (reserves
included) who have no conflict that rules them out (its property or portfolio excluded, or being
its manager or resident). A reporting line is not counted against it: the manager may accept it
with a note.
"""
from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select

from ..errors import NotAllowed
from ..extensions import db
from ..models import Company, Dispute, PanelMember, Property, StaffUser
from .panel.conflicts import active_roster, conflicts, dispute_property

# Where each item is fixed, as the person reads it (the pages link there too).
PLACES = {
    "time_zone": "Settings → Deadlines and days",
    "ladder": "Settings → The way up the ladder",
    "mediation": "Settings → Outside mediation",
    "roster": "Settings → The panel roster",
    "properties": "Properties",
}


@dataclass(frozen=True)
class ChecklistItem:
    key: str  # one of PLACES: what the item is about, and where it is fixed
    title: str
    is_done: bool
    sentence: str  # what is there, or what is missing and how to fix it
    is_needed_to_open: bool  # a dispute cannot be opened until it is done

    @property
    def place(self) -> str:
        return PLACES[self.key]


class NotReady(NotAllowed):
    """Opening a dispute would promise the resident something the company cannot do yet."""

    def __init__(self, lead: str, missing: list[ChecklistItem], tail: str):
        super().__init__(" ".join([lead, *(item.sentence for item in missing), tail]))
        self.lead, self.missing, self.tail = lead, missing, tail  # a page lists the items, with links


def _plural(count: int, word: str, words: str = "") -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"


def _time_zone(company: Company) -> ChecklistItem:
    try:
        ZoneInfo(company.time_zone or "")
        is_done = True
    except (ZoneInfoNotFoundError, ValueError):
        is_done = False
    sentence = (f"Every date a resident or a team member reads is in {company.time_zone}." if is_done else
                f"Choose the company's time zone in {PLACES['time_zone']}: every deadline is a date there.")
    return ChecklistItem("time_zone", "The time zone", is_done, sentence, False)


def _ladder(company: Company) -> ChecklistItem:
    name, email = (company.supervisor_name or "").strip(), (company.supervisor_email or "").strip()
    if name and email:
        return ChecklistItem("ladder", "A supervisor, the way up the ladder", True,
                             f"Escalations go to {name} ({email}), and letters name them.", True)
    sentence = (f"Give the supervisor's name and email in {PLACES['ladder']}. Every invitation tells the resident "
                "they can ask a supervisor to look again, and escalations go there.")
    has_supervisor = db.session.scalar(select(func.count()).select_from(StaffUser).where(
        StaffUser.company_id == company.id, StaffUser.role == "supervisor", StaffUser.is_active.is_(True)))
    if not has_supervisor:
        sentence += (f" Only a supervisor can change the settings, and nobody at {company.name} is one yet: "
                     "`resolver create-user --role supervisor` makes one.")
    return ChecklistItem("ladder", "A supervisor, the way up the ladder", False, sentence, True)


def _mediation(company: Company) -> ChecklistItem:
    title = "Outside mediation, chosen"
    if name := (company.mediation_service_name or "").strip():
        return ChecklistItem("mediation", title, True, f"Letters offer {name} to a resident who still disagrees.",
                             False)
    if company.is_without_mediation:
        return ChecklistItem("mediation", title, True, "You chose to name no outside mediation service: letters "
                             "offer the way up the ladder only.", False)
    return ChecklistItem("mediation", title, False,
                         f"Name an outside mediation service in {PLACES['mediation']} (the local BBB where it takes "
                         "landlord–tenant complaints, otherwise a tenant–landlord mediation service), or choose "
                         "none on purpose.", False)


def _roster(company: Company) -> ChecklistItem:
    regulars = db.session.scalar(select(func.count()).select_from(PanelMember).where(
        PanelMember.company_id == company.id, PanelMember.is_active.is_(True), PanelMember.is_reserve.is_(False)))
    size = company.panel_size
    title = f"Enough people for a team of {size}"
    if regulars >= size:
        return ChecklistItem("roster", title, True, f"{_plural(regulars, 'active regular member')} on the roster.",
                             True)
    return ChecklistItem("roster", title, False,
                         f"A resolution team needs {size} members and your roster has "
                         f"{_plural(regulars, 'active regular member')}: add at least {size - regulars} in "
                         f"{PLACES['roster']}. Keep a reserve or two as well, for members who must step aside.", True)


def _properties(company: Company) -> ChecklistItem:
    count = db.session.scalar(select(func.count()).select_from(Property).where(
        Property.company_id == company.id, Property.archived_dt.is_(None)))
    if count:
        return ChecklistItem("properties", "At least one property", True,
                             f"{_plural(count, 'property', 'properties')} to choose from.", False)
    return ChecklistItem("properties", "At least one property", False,
                         f"Add the properties you manage in {PLACES['properties']}, so a dispute says where the "
                         "unit is.", False)


def checklist(company: Company) -> list[ChecklistItem]:
    """The set-up checklist, in the order a new company works through it."""
    return [_time_zone(company), _ladder(company), _mediation(company), _roster(company), _properties(company)]


def is_ready(company: Company) -> bool:
    return all(item.is_done for item in checklist(company))


def missing_to_open(company: Company) -> list[ChecklistItem]:
    """What must be done before any dispute can be opened (empty: nothing)."""
    return [item for item in checklist(company) if item.is_needed_to_open and not item.is_done]


def _team_for(dispute: Dispute) -> ChecklistItem | None:
    """Not enough members free of a ruling-out conflict to seat a team for this dispute (None: enough)."""
    size = dispute.company.panel_size
    free = [m for m in active_roster(dispute)
            if not any(c.is_absolute for c in conflicts(dispute, m, supervisors=set()))]
    if len(free) >= size:
        return None
    prop = dispute_property(dispute)
    where = f"a dispute at {prop.name}" if prop is not None else "this dispute"
    return ChecklistItem(
        "roster", f"Enough people for a team of {dispute.company.panel_size}", False,
        f"Only {len(free)} of your active roster members may sit on {where} (the others are kept away from it, "
        f"or are its manager or resident), and a team needs {size}. Add members, or change whom they are kept "
        f"away from, in {PLACES['roster']}.", True)


def require_ready_to_open(dispute: Dispute) -> None:
    """Refuse to open ``dispute`` while its invitation would promise what the company cannot do."""
    missing = missing_to_open(dispute.company)
    if not any(item.key == "roster" for item in missing) and (for_this := _team_for(dispute)) is not None:
        missing.append(for_this)
    if missing:
        who = dispute.resident.name if dispute.resident else "the resident"
        raise NotReady(
            f"This dispute cannot be opened yet: the invitation promises {who} a resolution team and a supervisor "
            f"to turn to, and {dispute.company.name} is not set up for that.", missing,
            "Once that is done it can be opened; until then a dispute can only be kept as a draft.")
