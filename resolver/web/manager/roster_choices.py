"""The panel roster as Settings shows it: the members, what each can be kept away from, and the
history lines for those changes."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from ...extensions import db
from ...models import PanelMember, Property


@dataclass
class RosterChoices:
    members: list[PanelMember]
    properties: list[Property]  # every property of the company, archived ones too, by name

    @property
    def portfolios(self) -> list[str]:
        """The portfolios (owner groups) of the properties still in use."""
        found = {}
        for prop in self.properties:
            if prop.archived_dt is None and prop.portfolio.strip():
                found.setdefault(prop.portfolio.strip().lower(), prop.portfolio.strip())
        return sorted(found.values(), key=str.lower)

    def properties_for(self, member: PanelMember | None = None) -> list[Property]:
        """What may be ticked: the properties in use, and any archived one the member is already kept from."""
        kept = set(member.excluded_property_ids or []) if member is not None else set()
        return [p for p in self.properties if p.archived_dt is None or p.id in kept]

    def portfolios_for(self, member: PanelMember | None = None) -> list[str]:
        offered = self.portfolios
        known = {name.lower() for name in offered}
        kept = [name for name in (member.excluded_portfolios or []) if name.lower() not in known] if member else []
        return offered + kept

    def kept_away_from(self, member: PanelMember) -> str:
        """The member's exclusions in a line ("" when none)."""
        names = {p.id: p.name for p in self.properties}
        parts = [names.get(i) or _("property %(number)s", number=i) for i in member.excluded_property_ids or []]
        parts += [_("the %(name)s portfolio", name=name) for name in member.excluded_portfolios or []]
        return ", ".join(parts)


def roster_choices(company_id: int) -> RosterChoices:
    members = list(db.session.scalars(
        select(PanelMember).where(PanelMember.company_id == company_id)
        .order_by(PanelMember.is_active.desc(), PanelMember.name)))
    properties = list(db.session.scalars(
        select(Property).where(Property.company_id == company_id).order_by(Property.name)))
    return RosterChoices(members, properties)


def _exclusions(side) -> str:
    if isinstance(side, list):  # rows written before portfolios could be chosen held property ids only
        return ", ".join(f"property {i}" for i in side) or "nothing"
    parts = list(side.get("properties", [])) + [f"the {name} portfolio" for name in side.get("portfolios", [])]
    return ", ".join(parts) or "nothing"


def describe_exclusions(event) -> str:
    """``panel_member_exclusions_changed`` in words, before and after."""
    data = event.data or {}
    return (f"changed what {event.subject_label} never sits on: {_exclusions(data.get('before', []))} → "
            f"{_exclusions(data.get('after', []))}")
