"""Verbs for the company's residents: add, edit (moving them to another unit too), archive, restore.

A resident lives in a unit of one of the company's properties, found or added by its label the same
way a new dispute finds it (``people.find_or_add_unit``), or in none on file. An email address is
optional here (a property-management system does not always have one) but is checked when given:
a dispute cannot be opened without one. The history says which details changed, never their values.
"""
from __future__ import annotations

from ...actors import Actor
from ...clock import now_utc
from ...errors import InvalidInput, WrongState
from ...extensions import db
from ...languages import DEFAULT_LANGUAGE, LANGUAGES
from ...models import Resident, Unit
from ..people import email_problem, find_or_add_unit
from .common import (
    KEEP, archived_hint, company_of, external_id_taken, record, require_own, resident_subject, text, unit_label_of,
)

RESIDENT_NAME_REQUIRED = "Give the resident's name."
_LABELS = {"name": "The name", "email": "The email address", "phone": "The phone number",
           "external_id": "The external id"}


def _email(value) -> str:
    email = text(value, Resident.email, label=_LABELS["email"]).lower()
    if email and (problem := email_problem(email)):
        raise InvalidInput(f"“{email}” is not an email address: {problem}", field="email")
    return email


def _language(value) -> str:
    if value in (None, ""):
        return DEFAULT_LANGUAGE
    if not isinstance(value, str) or value not in LANGUAGES:
        raise InvalidInput("Choose the resident's language from the list: "
                           + ", ".join(f"{tag} ({name})" for tag, name in LANGUAGES.items()) + ".",
                           field="preferred_language")
    return value


def _clean(key: str, value):
    if key == "email":
        return _email(value)
    if key == "preferred_language":
        return _language(value)
    return text(value, getattr(Resident, key), label=_LABELS[key],
                required=RESIDENT_NAME_REQUIRED if key == "name" else "")


def _check_external_id(company_id: int, external_id: str, *, other_than: int | None = None) -> None:
    if taken := external_id_taken(Resident, company_id, external_id, other_than=other_than):
        raise InvalidInput(f"{taken.name}{archived_hint(taken)} already has the external id “{external_id}”.",
                           field="external_id")


def _unit(actor: Actor, property_id: int | None, unit_label) -> Unit | None:
    """The unit ``unit_label`` of the property (added if new), or none on file when no property is given."""
    label = text(unit_label, Unit.label, label="The unit's label")
    return find_or_add_unit(actor, property_id=property_id, label=label)


def add_resident(actor: Actor, *, name: str, email: str = "", phone: str = "",
                 preferred_language: str = DEFAULT_LANGUAGE, external_id: str = "",
                 property_id: int | None = None, unit_label: str = "") -> Resident:
    company_id = company_of(actor)
    details = {key: _clean(key, value) for key, value in (
        ("name", name), ("email", email), ("phone", phone), ("preferred_language", preferred_language),
        ("external_id", external_id))}
    _check_external_id(company_id, details["external_id"])
    unit = _unit(actor, property_id, unit_label)
    resident = Resident(company_id=company_id, unit_id=unit.id if unit else None, **details)
    db.session.add(resident)
    db.session.flush()
    record(actor, company_id, "resident_added", resident_subject(resident), resident_id=resident.id,
           unit_id=resident.unit_id, unit=unit_label_of(unit))
    return resident


def edit_resident(actor: Actor, resident: Resident, *, name=KEEP, email=KEEP, phone=KEEP,
                  preferred_language=KEEP, external_id=KEEP, property_id=KEEP, unit_label=KEEP) -> Resident:
    """Change what is given; the rest stays. ``property_id`` and ``unit_label`` together move the
    resident (to a unit found or added by its label; no property: no unit on file; a label alone:
    another unit of the same property)."""
    require_own(actor, resident.company_id, "such resident")
    given = {"name": name, "email": email, "phone": phone, "preferred_language": preferred_language,
             "external_id": external_id}
    new = {key: _clean(key, value) for key, value in given.items() if value is not KEEP}
    changed = sorted(key for key, value in new.items() if getattr(resident, key) != value)
    if "external_id" in changed:
        _check_external_id(resident.company_id, new["external_id"], other_than=resident.id)
    if property_id is not KEEP or unit_label is not KEEP:
        if property_id is KEEP:  # another unit of the same property
            current = db.session.get(Unit, resident.unit_id) if resident.unit_id else None
            property_id = current.property_id if current else None
        _move(actor, resident, property_id=property_id, unit_label="" if unit_label is KEEP else unit_label)
    if changed:
        for key in changed:
            setattr(resident, key, new[key])
        record(actor, resident.company_id, "resident_changed", resident_subject(resident), resident_id=resident.id,
               changed=changed)
    return resident


def _move(actor: Actor, resident: Resident, *, property_id: int | None, unit_label) -> None:
    before = db.session.get(Unit, resident.unit_id) if resident.unit_id else None
    label = unit_label.strip().lower() if isinstance(unit_label, str) else ("" if unit_label is None else unit_label)
    if (property_id, label) == ((before.property_id, before.label.lower()) if before else (None, "")):
        return  # where they are already (an archived unit too: the rest of their details can still change)
    unit = _unit(actor, property_id, unit_label)
    if (unit.id if unit else None) == resident.unit_id:
        return
    resident.unit_id = unit.id if unit else None
    resident.unit = unit
    record(actor, resident.company_id, "resident_moved", resident_subject(resident), resident_id=resident.id,
           before=unit_label_of(before), after=unit_label_of(unit) or "no unit on file")


def archive_resident(actor: Actor, resident: Resident) -> Resident:
    """No longer offered for new disputes; disputes that name them keep them."""
    require_own(actor, resident.company_id, "such resident")
    if resident.archived_dt is None:
        resident.archived_dt = now_utc()
        record(actor, resident.company_id, "resident_archived", resident_subject(resident), resident_id=resident.id)
    return resident


def restore_resident(actor: Actor, resident: Resident) -> Resident:
    require_own(actor, resident.company_id, "such resident")
    if resident.archived_dt is None:
        return resident
    unit = db.session.get(Unit, resident.unit_id) if resident.unit_id else None
    if unit is not None and (unit.archived_dt is not None or unit.property.archived_dt is not None):
        raise WrongState(f"{resident.name}'s unit ({unit_label_of(unit)}) is archived. Restore it first, "
                         "or move them to another unit.")
    resident.archived_dt = None
    record(actor, resident.company_id, "resident_restored", resident_subject(resident), resident_id=resident.id)
    return resident
