"""The company's properties, units and residents as the portfolio CSV, the format the import reads,
so that exporting and importing the file again changes nothing.

Archived properties, units and residents are left out (the export is what is current). Each row needs a
property and a unit, so a resident with no unit on file, and a property with no units, are left out
too; ``left_out`` counts them, so the page can say so.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from ..actors import Actor
from ..errors import NotAllowed
from ..extensions import db
from ..models import Property, Resident, Unit
from .portfolio_csv import write_sheet


@dataclass(frozen=True)
class LeftOut:
    residents_without_unit: int
    properties_without_units: int


def _company_of(actor: Actor) -> int:
    if not actor.is_staff or actor.company_id is None:
        raise NotAllowed("Only the company's own staff can export its properties and residents.")
    return actor.company_id


def export_portfolio(actor: Actor) -> str:
    """The CSV text: one row per current resident, and one per current unit with no resident."""
    company_id = _company_of(actor)
    units = db.session.execute(
        select(Unit.id, Unit.label, Property.name, Property.address, Property.portfolio, Property.external_id)
        .join(Property, Property.id == Unit.property_id)
        .where(Property.company_id == company_id, Property.archived_dt.is_(None), Unit.archived_dt.is_(None))
        .order_by(func.lower(Property.name), Property.id, func.lower(Unit.label), Unit.id)
    ).all()
    residents: dict[int, list] = {}
    for resident in db.session.execute(
        select(Resident.unit_id, Resident.external_id, Resident.name, Resident.email, Resident.phone,
               Resident.preferred_language)
        .where(Resident.company_id == company_id, Resident.archived_dt.is_(None), Resident.unit_id.is_not(None))
        .order_by(func.lower(Resident.name), Resident.id)
    ):
        residents.setdefault(resident.unit_id, []).append(resident)
    return write_sheet(_records(units, residents))


def _records(units, residents):
    for unit in units:
        where = {"property": unit.name, "address": unit.address, "portfolio": unit.portfolio, "unit": unit.label,
                 "property_external_id": unit.external_id}
        living_here = residents.get(unit.id, [])
        if not living_here:
            yield where
        for resident in living_here:
            yield {**where, "external_id": resident.external_id, "resident_name": resident.name,
                   "email": resident.email, "phone": resident.phone, "language": resident.preferred_language}


def left_out(actor: Actor) -> LeftOut:
    """The current residents and properties the export cannot carry (no unit to put them in a row)."""
    company_id = _company_of(actor)
    current_units = (select(Unit.id).join(Property, Property.id == Unit.property_id)
                     .where(Property.company_id == company_id, Property.archived_dt.is_(None),
                            Unit.archived_dt.is_(None)))
    residents = db.session.scalar(
        select(func.count(Resident.id)).where(Resident.company_id == company_id, Resident.archived_dt.is_(None),
                                              Resident.unit_id.is_(None) | Resident.unit_id.not_in(current_units)))
    properties = db.session.scalar(
        select(func.count(Property.id)).where(
            Property.company_id == company_id, Property.archived_dt.is_(None),
            ~select(Unit.id).where(Unit.property_id == Property.id, Unit.archived_dt.is_(None)).exists()))
    return LeftOut(residents_without_unit=residents or 0, properties_without_units=properties or 0)
