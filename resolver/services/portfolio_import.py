"""Importing a company's properties, units and residents from the portfolio CSV (``portfolio_csv``):
a preview that says what each row would do (new, changed, unchanged, or wrong and why), then the
import, which does exactly what the preview showed or, when the company's rows changed meanwhile,
nothing (and says so, with the preview as it stands now).

The company's rows are loaded in three queries and matched in memory:
- a resident by their external id within the company; failing that, by the unit and their email or
  name, case-insensitively (a resident who carries another external id is someone else);
- a property by its external id, its name, then its address; a unit by its property and label.
A blank cell never erases what Resolver has. An archived row that the file names is restored.
Wrong rows are skipped; rows that disagree with an earlier row about a property are wrong.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select

from ..actors import Actor
from ..errors import DomainError, NotAllowed
from ..extensions import db
from ..models import Property, Resident, Unit
from ..text import line_problem
from .portfolio_changes import Changes, NewProperty, NewResident, NewUnit
from .company_history import record_company_event
from .people import email_problem
from .portfolio_csv import COLUMNS, Sheet, SheetRow, language_code, read_sheet

NEW, CHANGED, UNCHANGED, WRONG = "new", "changed", "unchanged", "wrong"
KINDS = (NEW, CHANGED, UNCHANGED, WRONG)
# The longest each cell may be (the columns it goes into), and its name in a sentence.
LIMITS = {"external_id": 80, "property": 200, "address": 500, "portfolio": 120, "unit": 40, "resident_name": 200,
          "email": 254, "phone": 40, "language": 16, "property_external_id": 80}
WORDS = {"external_id": "external id", "property": "property name", "resident_name": "resident's name",
         "property_external_id": "property's external id"}
_PROPERTY_FIELDS = (("name", "property"), ("address", "address"), ("portfolio", "portfolio"),
                    ("external_id", "property_external_id"))
_RESIDENT_FIELDS = (("name", "resident_name"), ("email", "email"), ("phone", "phone"),
                    ("preferred_language", "language"), ("external_id", "external_id"))


@dataclass
class RowResult:
    number: int
    values: dict[str, str]
    kind: str
    notes: list[str]  # what the row adds or changes, or why it is wrong


@dataclass
class Preview:
    file_sha256: str
    columns: tuple[str, ...]
    ignored: tuple[str, ...]
    rows: list[RowResult]
    counts: dict[str, int]  # rows of each kind
    added: dict[str, int]  # properties, units and residents the import adds
    changed_residents: int
    fingerprint: str  # what the preview promised: the import refuses when it would now do otherwise
    changes: Changes = field(repr=False)

    def rows_of(self, kind: str) -> list[RowResult]:
        return [row for row in self.rows if row.kind == kind]

    @property
    def changes_anything(self) -> bool:
        return bool(self.counts[NEW] or self.counts[CHANGED])


class PreviewOutdated(DomainError):
    """The company's rows changed since the preview: nothing was imported; ``preview`` is the new one."""

    status_code = 409

    def __init__(self, preview: Preview):
        super().__init__("Your company's properties, units or residents changed since this preview was made, so "
                         "nothing was imported. This is the preview as the file would import now: check it, then "
                         "confirm again.")
        self.preview = preview


def _require_staff(actor: Actor) -> int:
    if not actor.is_staff or actor.company_id is None:
        raise NotAllowed("Only the company's own staff can import its properties and residents.")
    return actor.company_id


def preview_import(actor: Actor, data: bytes) -> Preview:
    """What importing ``data`` would do, row by row; changes nothing (a refused file raises InvalidInput)."""
    company_id = _require_staff(actor)
    sheet = read_sheet(data)
    return _Planner(company_id).preview(sheet, hashlib.sha256(data).hexdigest())


def import_portfolio(actor: Actor, data: bytes, *, fingerprint: str, file_name: str = "") -> Preview:
    """Apply what the preview with ``fingerprint`` showed: the new and changed rows (wrong rows are
    skipped), with one entry in the company's history. Raises PreviewOutdated, changing nothing, when
    the file would now import differently. Does not commit."""
    preview = preview_import(actor, data)
    if preview.fingerprint != fingerprint:
        raise PreviewOutdated(preview)
    preview.changes.apply(actor.company_id)
    record_company_event(actor, actor.company_id, "portfolio_imported", subject_kind="company",
                         subject_id=actor.company_id, subject_label=file_name or "portfolio CSV",
                         data={"file": file_name, "sha256": preview.file_sha256, "rows": len(preview.rows),
                               **{f"rows_{kind}": preview.counts[kind] for kind in KINDS},
                               **{f"{noun}_added": n for noun, n in preview.added.items()},
                               "residents_changed": preview.changed_residents})
    return preview


# Planning, row by row ---------------------------------------------------------------------------

class _Step:
    """One row's findings: its notes and problems, and what it registers if it turns out right."""

    def __init__(self):
        self.notes: list[str] = []
        self.problems: list[str] = []
        self.commits: list = []
        self.is_new = False

    def commit(self, action) -> None:
        self.commits.append(action)


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


class _Planner:
    def __init__(self, company_id: int):
        properties = db.session.scalars(select(Property).where(Property.company_id == company_id)
                                        .order_by(Property.archived_dt.is_not(None), Property.id)).all()
        units = db.session.scalars(select(Unit).join(Property, Property.id == Unit.property_id)
                                   .where(Property.company_id == company_id).order_by(Unit.id)).all()
        residents = db.session.scalars(select(Resident).where(Resident.company_id == company_id)
                                       .order_by(Resident.archived_dt.is_not(None), Resident.id)).all()
        by_id = {prop.id: prop for prop in properties}
        self.property_by_external: dict[str, object] = {}
        self.properties_named: dict[str, list] = defaultdict(list)
        self.properties_at: dict[str, list] = defaultdict(list)
        for prop in properties:
            self._index_property(prop)
        self.unit_property = {unit: by_id[unit.property_id] for unit in units}
        self.units: dict[tuple[object, str], object] = {}
        for unit in units:
            self.units.setdefault((self.unit_property[unit], _key(unit.label)), unit)
        unit_by_id = {unit.id: unit for unit in units}
        self.resident_unit = {resident: unit_by_id.get(resident.unit_id) for resident in residents}
        self.resident_by_external: dict[str, object] = {}
        self.residents_in: dict[object, list] = defaultdict(list)
        for resident in residents:
            self._index_resident(resident, self.resident_unit[resident])
        self.changes = Changes()
        self.claimed: dict[object, int] = {}  # a resident → the row that names them
        self.asserted: dict[tuple[object, str], tuple[str, int]] = {}  # (property, attribute) → (value, row)
        self.restored: set = set()
        self.seen: dict[tuple, int] = {}

    def _index_property(self, prop) -> None:
        if prop.external_id:
            self.property_by_external.setdefault(_key(prop.external_id), prop)
        self.properties_named[_key(prop.name)].append(prop)
        if prop.address:
            self.properties_at[_key(prop.address)].append(prop)

    def _index_resident(self, resident, unit) -> None:
        if resident.external_id:
            self.resident_by_external.setdefault(_key(resident.external_id), resident)
        if unit is not None:
            self.residents_in[unit].append(resident)

    def preview(self, sheet: Sheet, file_sha256: str) -> Preview:
        rows = [self._plan(row, sheet.problems.get(row.number)) for row in sheet.rows]
        counts = Counter(row.kind for row in rows)
        changed = {row for row, attribute, _ in self.changes.updates if isinstance(row, Resident)}
        promised = json.dumps([file_sha256, [(row.number, row.kind, row.notes) for row in rows]])
        return Preview(
            file_sha256=file_sha256, columns=sheet.columns, ignored=sheet.ignored, rows=rows,
            counts={kind: counts[kind] for kind in KINDS},
            added={"properties": len(self.changes.properties), "units": len(self.changes.units),
                   "residents": len(self.changes.residents)},
            changed_residents=len(changed), fingerprint=hashlib.sha256(promised.encode()).hexdigest(),
            changes=self.changes,
        )

    def _plan(self, row: SheetRow, unreadable: str | None) -> RowResult:
        values = row.values
        problems = _cell_problems(values) + ([unreadable] if unreadable else [])
        seen_as = tuple(_key(values[column]) for column in COLUMNS)
        if seen_as in self.seen:
            problems.append(f"it is the same as row {self.seen[seen_as]} (a duplicate row in the file)")
        if problems:
            return RowResult(row.number, values, WRONG, problems)
        step = _Step()
        prop = self._property(values, step, row.number)
        unit = self._unit(prop, values["unit"], step)
        if values["resident_name"]:
            step.is_new = False  # a resident's row is new when the resident is, whatever else it adds
            self._resident(unit, values, step, row.number)
        if step.problems:
            return RowResult(row.number, values, WRONG, step.problems)
        for action in step.commits:
            action()
        self.seen[seen_as] = row.number
        kind = NEW if step.is_new else CHANGED if step.notes else UNCHANGED
        return RowResult(row.number, values, kind, step.notes)

    # Properties and units ------------------------------------------------------------------------

    def _find_property(self, values: dict):
        if values["property_external_id"]:
            found = self.property_by_external.get(_key(values["property_external_id"]))
            if found is not None:
                return found
        named = self.properties_named.get(_key(values["property"]), [])
        if len(named) > 1 and values["address"]:
            named = [prop for prop in named if _same(prop.address, values["address"])] or named
        if named:
            return named[0]
        at = self.properties_at.get(_key(values["address"]), []) if values["address"] else []
        return at[0] if at else None

    def _property(self, values: dict, step: _Step, number: int):
        prop = self._find_property(values)
        if prop is None:
            prop = NewProperty(name=values["property"], address=values["address"], portfolio=values["portfolio"],
                               external_id=values["property_external_id"])
            step.notes.append(f"new property {prop.name}")
            step.is_new = True
            step.commit(lambda: (self.changes.properties.append(prop), self._index_property(prop)))
        for attribute, column in _PROPERTY_FIELDS:
            value = values[column]
            if not value:
                continue
            said = self.asserted.get((prop, attribute))
            if said is not None:
                if not _same(said[0], value):
                    step.problems.append(f"row {said[1]} gives {prop.name} the {_word(column)} “{said[0]}”, "
                                         f"this row “{value}”")
                continue
            step.commit(lambda key=(prop, attribute), value=value: self.asserted.setdefault(key, (value, number)))
            current = getattr(prop, attribute)
            if not isinstance(prop, NewProperty) and current.strip() != value:
                step.notes.append(f"{prop.name}: {_word(column)} {_shown(current)} → {_shown(value)}")
                step.commit(lambda value=value, attribute=attribute: self._change_property(prop, attribute, value))
        self._restore(prop, f"{prop.name} comes back from the archive", step)
        return prop

    def _change_property(self, prop, attribute: str, value: str) -> None:
        self._update(prop, attribute, value)
        # Later rows find the property by its new name, address or external id too.
        if attribute == "external_id":
            self.property_by_external.setdefault(_key(value), prop)
        elif attribute in ("name", "address"):
            (self.properties_named if attribute == "name" else self.properties_at)[_key(value)].append(prop)

    def _unit(self, prop, label: str, step: _Step):
        unit = self.units.get((prop, _key(label)))
        if unit is None:
            unit = NewUnit(property=prop, label=label)
            step.notes.append(f"new unit {label} at {prop.name}")
            step.is_new = True

            def add():
                self.changes.units.append(unit)
                self.units[(prop, _key(label))] = unit
                self.unit_property[unit] = prop
            step.commit(add)
        else:
            self._restore(unit, f"unit {unit.label} at {prop.name} comes back from the archive", step)
        return unit

    def _restore(self, row, note: str, step: _Step) -> None:
        if row.archived_dt is not None and row not in self.restored:
            step.notes.append(note)
            step.commit(lambda: (self.restored.add(row), self._update(row, "archived_dt", None)))

    def _update(self, row, attribute: str, value) -> None:
        self.changes.updates.append((row, attribute, value))

    # Residents -----------------------------------------------------------------------------------

    def _find_resident(self, unit, values: dict):
        external = values["external_id"]
        if external and (found := self.resident_by_external.get(_key(external))) is not None:
            return found
        email, name = values["email"].casefold(), _key(values["resident_name"])
        here = [resident for resident in self.residents_in.get(unit, [])
                if not external or not resident.external_id or _same(resident.external_id, external)]
        matches = ([r for r in here if email and r.email.casefold() == email]
                   + [r for r in here if _key(r.name) == name])
        return next((r for r in matches if r not in self.claimed), matches[0] if matches else None)

    def _resident(self, unit, values: dict, step: _Step, number: int) -> None:
        wanted = {"name": values["resident_name"], "email": values["email"].lower(), "phone": values["phone"],
                  "preferred_language": language_code(values["language"]) if values["language"] else "",
                  "external_id": values["external_id"]}
        resident = self._find_resident(unit, values)
        if resident is None:
            new = NewResident(**{**wanted, "preferred_language": wanted["preferred_language"] or "en"}, unit=unit)
            step.notes.append(f"new resident {new.name} in {unit.label}")
            step.is_new = True
            step.commit(lambda: (self.changes.residents.append(new), self._index_resident(new, unit),
                                 self.claimed.setdefault(new, number)))
            return
        if resident in self.claimed:
            step.problems.append(f"row {self.claimed[resident]} names the same resident, {resident.name} "
                                 "(a duplicate in the file)")
            return
        step.commit(lambda: self.claimed.setdefault(resident, number))
        for attribute, column in _RESIDENT_FIELDS:
            value, current = wanted[attribute], getattr(resident, attribute)
            differs = current.strip() != value if attribute in ("name", "phone") else not _same(current, value)
            if value and differs:
                step.notes.append(f"{_word(column)} {_shown(current)} → {_shown(value)}")
                step.commit(lambda attribute=attribute, value=value: self._update(resident, attribute, value))
        was = self.resident_unit.get(resident)
        if was is not unit:
            step.notes.append(f"unit {self._describe(was, unit)} → {self._describe(unit, was)}")
            step.commit(lambda: (self._update(resident, "unit", unit), self.resident_unit.__setitem__(resident, unit)))
        self._restore(resident, f"{resident.name} comes back from the archive", step)

    def _property_of(self, unit):
        return unit.property if isinstance(unit, NewUnit) else self.unit_property[unit]

    def _describe(self, unit, other) -> str:
        if unit is None:
            return "(none)"
        prop = self._property_of(unit)
        if other is None or self._property_of(other) is not prop:
            return f"{unit.label} at {prop.name}"
        return unit.label


def _word(column: str) -> str:
    return WORDS.get(column, column.replace("_", " "))


def _shown(value: str) -> str:
    return value if value else "(none)"


def _cell_problems(values: dict) -> list[str]:
    problems = [f"the {_word(column)} is missing" for column in ("property", "unit") if not values[column]]
    problems += [f"the {_word(column)} can't contain line breaks or control characters"
                 for column in ("property", "resident_name", "email") if line_problem(values[column])]
    problems += [f"the {_word(column)} is longer than {limit} characters" for column, limit in LIMITS.items()
                 if len(values[column]) > limit]
    if values["email"] and (problem := email_problem(values["email"])):
        problems.append(f"“{values['email']}” is not an email address: {problem}")
    if values["language"] and language_code(values["language"]) is None:
        problems.append(f"“{values['language']}” is not a language Resolver knows: write a code such as en or es, "
                        "or a name such as Spanish")
    if not values["resident_name"] and any(values[c] for c in ("external_id", "email", "phone", "language")):
        problems.append("the resident's name is missing (a row without a resident only adds its property and unit, "
                        "so it leaves the external id, email, phone and language blank)")
    return problems
