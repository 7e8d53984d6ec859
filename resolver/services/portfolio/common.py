"""What the portfolio verbs share: who may act, finding the company's own rows (another company's
are simply not there), text checked against its column, and one line of the company's history."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute

from ...actors import Actor
from ...errors import InvalidInput, NotAllowed, NotFound
from ...extensions import db
from ...models import Property, Resident, Unit
from ..company_history import record_company_event

LONGEST_TEXT = 2000  # for a column the schema leaves unbounded (an address)


class _Keep:
    """Left as it is: an edit names only what it changes (a form sends every field, the API some)."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()


def company_of(actor: Actor) -> int:
    """Any member of staff runs the company's portfolio (managers run their properties)."""
    if not actor.is_staff or actor.company_id is None:
        raise NotAllowed("Only the company's own staff can do this.")
    return actor.company_id


def require_own(actor: Actor, company_id: int, what: str) -> None:
    if company_of(actor) != company_id:
        raise NotFound(f"There is no {what} in your company.")


def own_property(actor: Actor, property_id: int) -> Property:
    prop = db.session.get(Property, property_id)
    if prop is None or prop.company_id != company_of(actor):
        raise NotFound(f"There is no property {property_id} in your company.")
    return prop


def own_unit(actor: Actor, prop: Property, unit_id: int) -> Unit:
    unit = db.session.get(Unit, unit_id)
    if unit is None or unit.property_id != prop.id or prop.company_id != company_of(actor):
        raise NotFound(f"There is no unit {unit_id} at {prop.name}.")
    return unit


def own_resident(actor: Actor, resident_id: int) -> Resident:
    resident = db.session.get(Resident, resident_id)
    if resident is None or resident.company_id != company_of(actor):
        raise NotFound(f"There is no resident {resident_id} in your company.")
    return resident


def text(value, column: InstrumentedAttribute, *, label: str, required: str = "") -> str:
    """``value`` trimmed and checked against ``column``'s length; ``required`` is said when it is blank."""
    field = column.key
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{label} must be text.", field=field)
    if any(ord(c) < 32 and c not in "\n\r\t" for c in value):
        raise InvalidInput(f"{label} holds a control character; send plain text.", field=field)
    value = " ".join(value.split()) if "\n" not in value else value.strip()
    if required and not value:
        raise InvalidInput(required, field=field)
    limit = getattr(column.type, "length", None) or LONGEST_TEXT
    if len(value) > limit:
        raise InvalidInput(f"{label} must be at most {limit:,} characters.", field=field)
    return value


def external_id_taken(model, company_id: int, external_id: str, *, other_than: int | None = None):
    """The company's row (archived ones too) that already carries ``external_id``, if any: the
    import matches rows by it, so two rows must never share one."""
    if not external_id:
        return None
    query = select(model).where(model.company_id == company_id,
                                func.lower(model.external_id) == external_id.lower())
    if other_than is not None:
        query = query.where(model.id != other_than)
    return db.session.scalars(query.limit(1)).first()


def archived_hint(row) -> str:
    return " (archived: restore it instead)" if row.archived_dt is not None else ""


def record(actor: Actor, company_id: int, action: str, label: str, **data) -> None:
    """One line of the company's history. The schema's subjects are the company, its roster, staff and
    keys, so a property, unit or resident is recorded as a change to the company, named in the label
    and identified in ``data``. A resident's details are not copied into the history, not even their
    name (``resident_subject``): only which fields changed, so erasing a resident's data later leaves
    nothing of it behind here."""
    record_company_event(actor, company_id, action, subject_kind="company", subject_id=company_id,
                         subject_label=label, data=data)


def resident_subject(resident: Resident) -> str:
    """How the company's history names a resident: by number, never by name (the history is kept for
    good; the name is read from the Resident row, which erasure clears)."""
    return f"Resident #{resident.id}"


def unit_label_of(unit: Unit | None) -> str:
    return f"{unit.property.name}, unit {unit.label}" if unit is not None else ""
