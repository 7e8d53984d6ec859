"""Verbs for the company's properties and their units: add, edit or rename, archive and restore.

Archiving takes a property (or a unit) out of what a new dispute is offered, with everything in it:
its units and their residents are archived at the same moment, and restoring it brings back
exactly what was archived with it. Disputes that already name them keep them, as before.
"""
from __future__ import annotations

from sqlalchemy import func, select

from ...actors import Actor
from ...clock import now_utc
from ...errors import InvalidInput, WrongState
from ...extensions import db
from ...models import Property, Resident, Unit
from .common import KEEP, archived_hint, company_of, external_id_taken, record, require_own, text

PROPERTY_NAME_REQUIRED = "Give the property's name (for example Maple Court)."
UNIT_LABEL_REQUIRED = "Give the unit's label (for example 4B)."


def _check_name(company_id: int, name: str, *, other_than: int | None = None) -> None:
    query = select(Property).where(Property.company_id == company_id, Property.archived_dt.is_(None),
                                   func.lower(Property.name) == name.lower())
    if other_than is not None:
        query = query.where(Property.id != other_than)
    if db.session.scalars(query.limit(1)).first() is not None:
        raise InvalidInput(f"You already have a property called “{name}”. Give this one a name people can "
                           "tell apart (add the street, say).", field="name")


def _check_external_id(company_id: int, external_id: str, *, other_than: int | None = None) -> None:
    if taken := external_id_taken(Property, company_id, external_id, other_than=other_than):
        raise InvalidInput(f"{taken.name}{archived_hint(taken)} already has the external id “{external_id}”.",
                           field="external_id")


def add_property(actor: Actor, *, name: str, address: str = "", portfolio: str = "",
                 external_id: str = "") -> Property:
    company_id = company_of(actor)
    prop = Property(
        company_id=company_id,
        name=text(name, Property.name, label="The name", required=PROPERTY_NAME_REQUIRED),
        address=text(address, Property.address, label="The address"),
        portfolio=text(portfolio, Property.portfolio, label="The portfolio"),
        external_id=text(external_id, Property.external_id, label="The external id"),
    )
    _check_name(company_id, prop.name)
    _check_external_id(company_id, prop.external_id)
    db.session.add(prop)
    db.session.flush()
    record(actor, company_id, "property_added", prop.name, property_id=prop.id)
    return prop


def edit_property(actor: Actor, prop: Property, *, name=KEEP, address=KEEP, portfolio=KEEP,
                  external_id=KEEP) -> Property:
    """Change what is given; the rest stays. The history keeps each change's before and after."""
    require_own(actor, prop.company_id, "such property")
    given = {"name": name, "address": address, "portfolio": portfolio, "external_id": external_id}
    labels = {"name": "The name", "address": "The address", "portfolio": "The portfolio",
              "external_id": "The external id"}
    new = {
        key: text(value, getattr(Property, key), label=labels[key],
                  required=PROPERTY_NAME_REQUIRED if key == "name" else "")
        for key, value in given.items() if value is not KEEP
    }
    changed = {key: {"before": getattr(prop, key), "after": value}
               for key, value in new.items() if getattr(prop, key) != value}
    if "name" in changed and prop.archived_dt is None:
        _check_name(prop.company_id, new["name"], other_than=prop.id)
    if "external_id" in changed:
        _check_external_id(prop.company_id, new["external_id"], other_than=prop.id)
    if changed:
        for key, change in changed.items():
            setattr(prop, key, change["after"])
        record(actor, prop.company_id, "property_changed", prop.name, property_id=prop.id, changed=changed)
    return prop


def archive_property(actor: Actor, prop: Property) -> Property:
    """No longer offered for new disputes, with its units and their residents."""
    require_own(actor, prop.company_id, "such property")
    if prop.archived_dt is not None:
        return prop
    now = now_utc()
    prop.archived_dt = now
    units = [u for u in _units(prop.id) if u.archived_dt is None]
    for unit in units:
        unit.archived_dt = now
    residents = _residents_of([u.id for u in units], archived_dt=None)
    for resident in residents:
        resident.archived_dt = now
    record(actor, prop.company_id, "property_archived", prop.name, property_id=prop.id, units=len(units),
           residents=len(residents))
    return prop


def restore_property(actor: Actor, prop: Property) -> Property:
    """Offered again, with the units and residents that were archived with it (not those archived before)."""
    require_own(actor, prop.company_id, "such property")
    stamp = prop.archived_dt
    if stamp is None:
        return prop
    if prop.name and db.session.scalars(select(Property.id).where(
            Property.company_id == prop.company_id, Property.archived_dt.is_(None), Property.id != prop.id,
            func.lower(Property.name) == prop.name.lower()).limit(1)).first():
        raise InvalidInput(f"Another of your properties is called “{prop.name}” now. Rename this one, "
                           "then restore it.", field="name")
    prop.archived_dt = None
    units = [u for u in _units(prop.id) if u.archived_dt == stamp]
    for unit in units:
        unit.archived_dt = None
    residents = _residents_of([u.id for u in units], archived_dt=stamp)
    for resident in residents:
        resident.archived_dt = None
    record(actor, prop.company_id, "property_restored", prop.name, property_id=prop.id, units=len(units),
           residents=len(residents))
    return prop


# Units ------------------------------------------------------------------------------------------------

def _units(property_id: int) -> list[Unit]:
    return list(db.session.scalars(select(Unit).where(Unit.property_id == property_id).order_by(Unit.id)))


def _residents_of(unit_ids: list[int], *, archived_dt) -> list[Resident]:
    if not unit_ids:
        return []
    stamp = Resident.archived_dt.is_(None) if archived_dt is None else Resident.archived_dt == archived_dt
    return list(db.session.scalars(select(Resident).where(Resident.unit_id.in_(unit_ids), stamp)))


def _label(value) -> str:
    return text(value, Unit.label, label="The unit's label", required=UNIT_LABEL_REQUIRED)


def _check_label(prop: Property, label: str, *, other_than: int | None = None) -> None:
    """One label per property (the schema's rule), and not two that differ only in case: 3f is 3F."""
    query = select(Unit).where(Unit.property_id == prop.id, func.lower(Unit.label) == label.lower())
    if other_than is not None:
        query = query.where(Unit.id != other_than)
    if taken := db.session.scalars(query.limit(1)).first():
        raise InvalidInput(f"{prop.name} already has a unit {taken.label}{archived_hint(taken)}.", field="label")


def _not_archived(prop: Property) -> None:
    if prop.archived_dt is not None:
        raise WrongState(f"{prop.name} is archived. Restore it first.")


def add_unit(actor: Actor, prop: Property, label: str) -> Unit:
    require_own(actor, prop.company_id, "such property")
    _not_archived(prop)
    label = _label(label)
    _check_label(prop, label)
    unit = Unit(property_id=prop.id, label=label)
    db.session.add(unit)
    db.session.flush()
    record(actor, prop.company_id, "unit_added", f"{prop.name}, unit {label}", property_id=prop.id, unit_id=unit.id)
    return unit


def rename_unit(actor: Actor, unit: Unit, label: str) -> Unit:
    prop = unit.property
    require_own(actor, prop.company_id, "such unit")
    label = _label(label)
    if label != unit.label:
        _check_label(prop, label, other_than=unit.id)
        record(actor, prop.company_id, "unit_renamed", f"{prop.name}, unit {label}", property_id=prop.id,
               unit_id=unit.id, before=unit.label, after=label)
        unit.label = label
    return unit


def archive_unit(actor: Actor, unit: Unit) -> Unit:
    """No longer offered for new disputes, with the residents who live in it."""
    prop = unit.property
    require_own(actor, prop.company_id, "such unit")
    if unit.archived_dt is not None:
        return unit
    unit.archived_dt = now_utc()
    residents = _residents_of([unit.id], archived_dt=None)
    for resident in residents:
        resident.archived_dt = unit.archived_dt
    record(actor, prop.company_id, "unit_archived", f"{prop.name}, unit {unit.label}", property_id=prop.id,
           unit_id=unit.id, residents=len(residents))
    return unit


def restore_unit(actor: Actor, unit: Unit) -> Unit:
    prop = unit.property
    require_own(actor, prop.company_id, "such unit")
    _not_archived(prop)
    stamp = unit.archived_dt
    if stamp is None:
        return unit
    unit.archived_dt = None
    residents = _residents_of([unit.id], archived_dt=stamp)
    for resident in residents:
        resident.archived_dt = None
    record(actor, prop.company_id, "unit_restored", f"{prop.name}, unit {unit.label}", property_id=prop.id,
           unit_id=unit.id, residents=len(residents))
    return unit
