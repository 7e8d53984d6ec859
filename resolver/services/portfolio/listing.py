"""Reading the portfolio a page at a time: properties and residents found by what a person remembers
of them (a name, an address, a unit, an email, the property-management system's id).

Each page is a fixed handful of queries whatever the size of the portfolio: the rows, their count,
and the extras a row shows, counted for the whole page at once.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import exists, func, or_, select

from ...extensions import db
from ...models import Property, Resident, Unit
from ...text import LIKE_ESCAPE, like_pattern

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200  # the most a client of the API may ask for at once
STATUSES = {"active": "Current", "archived": "Archived", "all": "All"}


@dataclass
class Page:
    rows: list
    total: int
    page: int
    pages: int
    search: str = ""
    status: str = "active"


@dataclass
class PropertyRow:
    property: Property
    units: int = 0
    residents: int = 0


@dataclass
class ResidentRow:
    resident: Resident
    unit_label: str | None
    property_id: int | None
    property_name: str | None


@dataclass
class UnitRow:
    unit: Unit
    residents: list[Resident] = field(default_factory=list)


def _like(column, pattern: str):
    return func.lower(column).like(pattern, escape=LIKE_ESCAPE)


def _status(column, status: str):
    if status == "archived":
        return column.is_not(None)
    if status == "all":
        return True
    return column.is_(None)


def _paged(query, count_query, page: int, per_page: int):
    total = db.session.scalar(count_query)
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    return db.session.execute(query.offset((page - 1) * per_page).limit(per_page)).all(), total, page, pages


def properties_page(company_id: int, *, search: str = "", status: str = "active", page: int = 1,
                    per_page: int = PAGE_SIZE) -> Page:
    """The company's properties by name; ``search`` is part of a name, address, portfolio, external id
    or the label of one of their units."""
    conditions = [Property.company_id == company_id, _status(Property.archived_dt, status)]
    if search.strip():
        pattern = like_pattern(search)
        conditions.append(or_(
            _like(Property.name, pattern), _like(Property.address, pattern), _like(Property.portfolio, pattern),
            _like(Property.external_id, pattern),
            exists().where(Unit.property_id == Property.id, _like(Unit.label, pattern)),
        ))
    rows, total, page, pages = _paged(
        select(Property).where(*conditions).order_by(func.lower(Property.name), Property.id),
        select(func.count(Property.id)).where(*conditions), page, per_page)
    found = [PropertyRow(prop) for (prop,) in rows]
    ids = [row.property.id for row in found]
    if ids:
        units = dict(db.session.execute(
            select(Unit.property_id, func.count(Unit.id))
            .where(Unit.property_id.in_(ids), Unit.archived_dt.is_(None)).group_by(Unit.property_id)).all())
        residents = dict(db.session.execute(
            select(Unit.property_id, func.count(Resident.id)).join(Resident, Resident.unit_id == Unit.id)
            .where(Unit.property_id.in_(ids), Resident.archived_dt.is_(None)).group_by(Unit.property_id)).all())
        for row in found:
            row.units, row.residents = units.get(row.property.id, 0), residents.get(row.property.id, 0)
    return Page(found, total, page, pages, search.strip(), status)


def residents_page(company_id: int, *, search: str = "", status: str = "active", property_id: int | None = None,
                   page: int = 1, per_page: int = PAGE_SIZE) -> Page:
    """The company's residents by name; ``search`` is part of a name, email, phone, external id, unit
    label, or their property's name or address."""
    conditions = [Resident.company_id == company_id, _status(Resident.archived_dt, status)]
    if property_id is not None:
        conditions.append(Unit.property_id == property_id)
    if search.strip():
        pattern = like_pattern(search)
        conditions.append(or_(
            _like(Resident.name, pattern), _like(Resident.email, pattern), _like(Resident.phone, pattern),
            _like(Resident.external_id, pattern), _like(Unit.label, pattern), _like(Property.name, pattern),
            _like(Property.address, pattern),
        ))

    def joined(query):
        return (query.outerjoin(Unit, Unit.id == Resident.unit_id)
                .outerjoin(Property, Property.id == Unit.property_id).where(*conditions))

    rows, total, page, pages = _paged(
        joined(select(Resident, Unit.label, Property.id, Property.name))
        .order_by(func.lower(Resident.name), Resident.id),
        joined(select(func.count(Resident.id))), page, per_page)
    return Page([ResidentRow(*row) for row in rows], total, page, pages, search.strip(), status)


def units_of(prop: Property) -> list[UnitRow]:
    """The property's units (current ones first, by label) with the residents on file in each."""
    units = list(db.session.scalars(
        select(Unit).where(Unit.property_id == prop.id)
        .order_by(Unit.archived_dt.is_not(None), func.lower(Unit.label), Unit.id)))
    rows = {unit.id: UnitRow(unit) for unit in units}
    if rows:
        for resident in db.session.scalars(
                select(Resident).where(Resident.unit_id.in_(rows)).order_by(func.lower(Resident.name), Resident.id)):
            rows[resident.unit_id].residents.append(resident)
    return list(rows.values())


def current_properties(company_id: int) -> list[Property]:
    """The properties a new dispute (or a resident's move) may name: the company's, not archived."""
    return list(db.session.scalars(
        select(Property).where(Property.company_id == company_id, Property.archived_dt.is_(None))
        .order_by(func.lower(Property.name), Property.id)))
