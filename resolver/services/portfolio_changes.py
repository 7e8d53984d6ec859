"""What a portfolio import will do, once its preview is confirmed: the properties, units and residents
it adds (not yet rows of the database while the preview is shown) and the changes it makes to the
company's rows; and doing it, in a few flushes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..extensions import db
from ..models import Property, Resident, Unit


@dataclass(eq=False)
class NewProperty:
    name: str
    address: str
    portfolio: str
    external_id: str
    archived_dt: None = None


@dataclass(eq=False)
class NewUnit:
    property: Property | NewProperty
    label: str
    archived_dt: None = None


@dataclass(eq=False)
class NewResident:
    name: str
    email: str
    phone: str
    preferred_language: str
    external_id: str
    unit: Unit | NewUnit
    archived_dt: None = None


@dataclass
class Changes:
    properties: list[NewProperty] = field(default_factory=list)
    units: list[NewUnit] = field(default_factory=list)
    residents: list[NewResident] = field(default_factory=list)
    updates: list[tuple[object, str, object]] = field(default_factory=list)  # (row, attribute, new value)

    def apply(self, company_id: int) -> None:
        """Insert the new rows (properties, then units, then residents, a flush each) and set the changes."""
        made: dict[object, object] = {}
        for new in self.properties:
            made[new] = Property(company_id=company_id, name=new.name, address=new.address,
                                 portfolio=new.portfolio, external_id=new.external_id)
        db.session.add_all(made.values())
        db.session.flush()
        units = [Unit(property_id=made.get(new.property, new.property).id, label=new.label) for new in self.units]
        made.update(zip(self.units, units))
        db.session.add_all(units)
        db.session.flush()
        for row, attribute, value in self.updates:
            if attribute == "unit":
                row.unit_id = made.get(value, value).id
            else:
                setattr(row, attribute, value)
        db.session.add_all(
            Resident(company_id=company_id, unit_id=made.get(new.unit, new.unit).id, name=new.name, email=new.email,
                     phone=new.phone, preferred_language=new.preferred_language, external_id=new.external_id)
            for new in self.residents)
        db.session.flush()
