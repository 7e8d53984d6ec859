"""Finding or adding whom and where a dispute is about: the resident and their unit.

One verb for every door a dispute comes in by (the manager's form, the API), so a resident is found
or added, and a unit named, with the same checks and the same words whichever door it was.
"""
from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select

from ..actors import Actor
from ..errors import InvalidInput, NotAllowed
from ..extensions import db
from ..models import Property, Resident, Unit


def email_problem(value: str) -> str | None:
    """The one check Resolver makes of an email address (by email-validator, without asking the
    network): None when it will do, else what is wrong with it, in a sentence. Letters before the @
    must be plain ASCII, which every mail server accepts; a domain in another alphabet is fine."""
    try:
        validate_email(value or "", check_deliverability=False, allow_smtputf8=False, test_environment=True)
    except EmailNotValidError as problem:
        return str(problem)
    return None


def is_email_address(value: str) -> bool:
    return email_problem(value) is None


@dataclass(frozen=True)
class NewResident:
    name: str
    email: str
    phone: str = ""


def find_or_add_resident(
    actor: Actor,
    *,
    resident_id: int | None = None,
    new: NewResident | None = None,
    property_id: int | None = None,
    unit_label: str = "",
) -> tuple[Resident, Unit | None]:
    """The dispute's resident (one of the company's, or ``new``) and unit (found, or added to the
    property by its label). A resident with no unit on file is given this one."""
    if not actor.is_staff:
        raise NotAllowed("Only the company's own staff can do this.")
    unit = find_or_add_unit(actor, property_id=property_id, label=unit_label)
    if new is not None:
        resident = _add_resident(actor, new, unit)
    else:
        if resident_id is None:
            raise InvalidInput("Choose the resident, or enter a new one.", field="resident_id")
        resident = db.session.get(Resident, resident_id)
        if resident is None or resident.company_id != actor.company_id:
            raise InvalidInput(f"Choose one of your company's residents: there is no resident {resident_id} "
                               "in your company.", field="resident_id")
        if resident.archived_dt is not None:
            raise InvalidInput(f"{resident.name} is archived. Restore them on their page first, or choose "
                               "another resident.", field="resident_id")
    if unit is not None and resident.unit_id is None:
        resident.unit_id = unit.id
    return resident, unit


def find_or_add_unit(actor: Actor, *, property_id: int | None, label: str) -> Unit | None:
    """The unit ``label`` of one of the company's properties, added if it is new; None for no property.
    An archived property or unit is not offered: it must be restored first."""
    label = (label or "").strip()
    if property_id is None:
        if label:
            raise InvalidInput("Choose the property the unit is in.", field="property_id")
        return None
    prop = db.session.get(Property, property_id)
    if prop is None or prop.company_id != actor.company_id:
        raise InvalidInput(f"Choose one of your company's properties: there is no property {property_id} "
                           "in your company.", field="property_id")
    if prop.archived_dt is not None:
        raise InvalidInput(f"{prop.name} is archived. Restore it on its page first, or choose another "
                           "property.", field="property_id")
    if not label:
        raise InvalidInput("Say which unit (for example 4B).", field="unit_label")
    # 3f is unit 3F: the label as typed first, then the same label in another case.
    same = select(Unit).where(Unit.property_id == prop.id, func.lower(Unit.label) == label.lower())
    unit = db.session.scalars(same.order_by(Unit.label != label, Unit.id).limit(1)).first()
    if unit is not None and unit.archived_dt is not None:
        raise InvalidInput(f"Unit {unit.label} at {prop.name} is archived. Restore it on the property's page "
                           "first.", field="unit_label")
    if unit is None:
        # Two requests adding the same unit at once: one insert wins, the other's retry finds it.
        unit = Unit(property_id=prop.id, label=label)
        db.session.add(unit)
        db.session.flush()
    return unit


def _add_resident(actor: Actor, new: NewResident, unit: Unit | None) -> Resident:
    name, email = new.name.strip(), new.email.strip().lower()
    if not name:
        raise InvalidInput("Enter the new resident's name.", field="new_name")
    if not email:
        raise InvalidInput("Enter the new resident's email address; the invitation goes there.", field="new_email")
    if not is_email_address(email):
        raise InvalidInput(f"{email!r} is not an email address. Enter the new resident's email address; the "
                           "invitation goes there.", field="new_email")
    resident = Resident(company_id=actor.company_id, name=name, email=email, phone=new.phone.strip(),
                        unit_id=unit.id if unit is not None else None)
    db.session.add(resident)
    db.session.flush()
    return resident
