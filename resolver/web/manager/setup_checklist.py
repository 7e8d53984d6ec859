"""The set-up checklist on the staff pages: ``services.readiness``'s items, each linked to the page
where it is fixed, shown on the dashboard until the company is ready and beside any refusal to open
a dispute."""
from __future__ import annotations

from flask import current_app, url_for
from flask_babel import gettext as _

from ...models import Company
from ...services import readiness
from . import blueprint

# Where each item is fixed: an endpoint and the part of its page.
_FIXED_AT = {
    "time_zone": ("manager.settings", "time_zone"),
    "ladder": ("manager.settings", "ladder"),
    "mediation": ("manager.settings", "mediation"),
    "roster": ("manager.settings", "roster"),
    "properties": ("manager.properties", ""),
}


def setup_url(key: str) -> str:
    """The link to where a checklist item is fixed (Settings when that page does not exist here)."""
    endpoint, part = _FIXED_AT[key]
    if endpoint not in current_app.view_functions:
        endpoint, part = "manager.settings", ""
    return url_for(endpoint) + (f"#{part}" if part else "")


def setup_place(item: readiness.ChecklistItem) -> str:
    """The words for that link: the place the item names, or Settings when that page does not exist."""
    endpoint, _part = _FIXED_AT[item.key]
    return item.place if endpoint in current_app.view_functions else _("Settings")


def unfinished_checklist(company: Company) -> list[readiness.ChecklistItem] | None:
    """The checklist while anything on it is not done; None once the company is ready."""
    items = readiness.checklist(company)
    return None if all(item.is_done for item in items) else items


@blueprint.context_processor
def _checklist_links():
    return {"setup_url": setup_url, "setup_place": setup_place}
