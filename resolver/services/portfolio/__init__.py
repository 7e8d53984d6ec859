"""The company's portfolio and people: properties, their units, and the residents who live in them.

Any member of the company's staff may manage them (managers run their properties), only within
their own company: another company's rows are answered as if they did not exist. Each change is a
line in the company's history, in the same transaction as the change. Archived rows stay on the
disputes that name them and are no longer offered for new ones.
"""
from .common import KEEP, own_property, own_resident, own_unit
from .listing import (
    MAX_PAGE_SIZE, PAGE_SIZE, STATUSES, Page, PropertyRow, ResidentRow, UnitRow, current_properties,
    properties_page, residents_page, units_of,
)
from .properties import (
    add_property, add_unit, archive_property, archive_unit, edit_property, rename_unit, restore_property,
    restore_unit,
)
from .residents import add_resident, archive_resident, edit_resident, restore_resident

__all__ = [
    "KEEP", "MAX_PAGE_SIZE", "PAGE_SIZE", "STATUSES", "Page", "PropertyRow", "ResidentRow", "UnitRow", "add_property",
    "add_resident", "add_unit", "archive_property", "archive_resident", "archive_unit", "current_properties",
    "edit_property",
    "edit_resident", "own_property", "own_resident", "own_unit", "properties_page", "rename_unit",
    "residents_page", "restore_property", "restore_resident", "restore_unit", "units_of",
]
