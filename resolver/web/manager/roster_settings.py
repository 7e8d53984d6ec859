"""Settings → the panel roster: add a member, take them off or put them back, make them a reserve, and
keep them away from some properties or whole portfolios, at any time. Each change is one verb of
``services.roster``, kept in the company's history; a refused change shows the page with its message."""
from __future__ import annotations

from flask import g

from ...errors import NotFound
from ...extensions import db
from ...models import PanelMember
from ...services import roster
from ..unit_of_work import unit_of_work
from . import blueprint
from .auth import current_actor, supervisor_required
from .forms import refuse_unless_valid
from .settings import _done, _refused
from .settings_forms import RosterChangeForm, RosterMemberForm


@blueprint.post("/settings/roster")
@supervisor_required
@unit_of_work(refused=_refused)
def settings_roster_add():
    form = refuse_unless_valid(RosterMemberForm())
    member = roster.add_panel_member(
        current_actor(), name=form.name.data, email=form.email.data, organisation=form.organisation.data,
        reports_to_id=form.reports_to_id.data, excluded_property_ids=form.excluded_property_ids.data,
        excluded_portfolios=form.excluded_portfolios.data, is_reserve=form.is_reserve.data,
    )
    return _done(f"{member.name} is on the roster.", "roster")


def _member(member_id: int) -> PanelMember:
    member = db.session.get(PanelMember, member_id)
    if member is None or member.company_id != g.company.id:
        raise NotFound("There is no such member on your roster.")
    return member


def _kept_away(member: PanelMember) -> str:
    properties, portfolios = len(member.excluded_property_ids or []), len(member.excluded_portfolios or [])
    if not properties and not portfolios:
        return f"{member.name} may sit on disputes about any of your properties now."
    parts = []
    if properties:
        parts.append(f"{properties} of your properties")
    if portfolios:
        parts.append(f"{portfolios} portfolio{'' if portfolios == 1 else 's'}")
    return f"{member.name} never sits on disputes about {' or '.join(parts)} now."


@blueprint.post("/settings/roster/<int:member_id>")
@supervisor_required
@unit_of_work(refused=_refused)
def settings_roster_update(member_id: int):
    member, actor = _member(member_id), current_actor()
    form = refuse_unless_valid(RosterChangeForm())
    change = form.change.data
    if change == "deactivate":
        roster.set_panel_member_active(actor, member, is_active=False)
        message = f"{member.name} is off the roster. Teams already seated keep them."
    elif change == "activate":
        roster.set_panel_member_active(actor, member, is_active=True)
        message = f"{member.name} is back on the roster."
    elif change == "reserve":
        roster.set_panel_member_reserve(actor, member, is_reserve=not member.is_reserve)
        message = f"{member.name} is {'a reserve' if member.is_reserve else 'a regular member'} now."
    elif change == "exclusions":
        roster.set_panel_member_exclusions(actor, member, form.excluded_property_ids.data,
                                           form.excluded_portfolios.data)
        message = _kept_away(member)
    return _done(message, "roster")
