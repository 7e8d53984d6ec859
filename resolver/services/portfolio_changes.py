"""What a portfolio import will do, once its preview is confirmed: the properties, units and residents
it adds (not yet rows of the database while the preview is shown) and the changes it makes to the
company's rows; and doing it, in a few statements.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import insert

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
        """Insert the new rows (properties, then units, then residents: one bulk INSERT each, the first
        two returning their ids in order) and set the changes on the company's rows."""
        ids: dict[object, int] = {}

        def id_of(row) -> int:
            return ids[row] if row in ids else row.id

        def insert_all(model, new_rows: list, values: list[dict]) -> None:
            if values:
                made = db.session.scalars(insert(model).returning(model.id, sort_by_parameter_order=True), values)
                ids.update(zip(new_rows, made))

        insert_all(Property, self.properties, [
            {"company_id": company_id, "name": new.name, "address": new.address, "portfolio": new.portfolio,
             "external_id": new.external_id} for new in self.properties])
        insert_all(Unit, self.units, [{"property_id": id_of(new.property), "label": new.label} for new in self.units])
        if self.residents:
            db.session.execute(insert(Resident), [
                {"company_id": company_id, "unit_id": id_of(new.unit), "name": new.name, "email": new.email,
                 "phone": new.phone, "preferred_language": new.preferred_language, "external_id": new.external_id}
                for new in self.residents])
        for row, attribute, value in self.updates:
            if attribute == "unit":
                row.unit_id = id_of(value)
            else:
                setattr(row, attribute, value)
        db.session.flush()
