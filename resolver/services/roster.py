"""Verbs for the company's team roster: the peers who may sit on a resolution team.

Each change (a member added, switched off or back on, made a reserve, kept away from some of the
company's properties) is a supervisor's, and leaves a row in the company's history.
"""
from __future__ import annotations

from sqlalchemy import select

from ..actors import Actor
from ..errors import InvalidInput
from ..extensions import db
from ..models import PanelMember, Property, StaffUser
from .company_history import record_company_event, require_supervisor
from .people import is_email_address


def _record(actor: Actor, member: PanelMember, action: str, **data) -> None:
    record_company_event(actor, member.company_id, action, subject_kind="panel_member", subject_id=member.id,
                         subject_label=member.name, data=data)


def _own_properties(actor: Actor, property_ids) -> list[int]:
    ids = sorted(set(property_ids or []))
    if ids:
        found = set(db.session.scalars(
            select(Property.id).where(Property.id.in_(ids), Property.company_id == actor.company_id)))
        if found != set(ids):
            raise InvalidInput("Choose your company's own properties.", field="excluded_property_ids")
    return ids


def add_panel_member(
    actor: Actor,
    *,
    name: str,
    email: str,
    organisation: str = "",
    reports_to_id: int | None = None,
    excluded_property_ids=(),
    is_reserve: bool = False,
) -> PanelMember:
    require_supervisor(actor, actor.company_id)
    name, email = name.strip(), email.strip().lower()
    if not name:
        raise InvalidInput("Give the member's name.", field="name")
    if not is_email_address(email):
        raise InvalidInput("That is not an email address.", field="email")
    if db.session.scalars(select(PanelMember.id).where(PanelMember.company_id == actor.company_id,
                                                       PanelMember.email == email)).first():
        raise InvalidInput(f"{email} is already on the roster.", field="email")
    if reports_to_id is not None:
        boss = db.session.get(StaffUser, reports_to_id)
        if boss is None or boss.company_id != actor.company_id:
            raise InvalidInput("Choose one of your company's staff.", field="reports_to_id")
    member = PanelMember(
        company_id=actor.company_id, name=name, email=email, organisation=organisation.strip(),
        reports_to_id=reports_to_id, excluded_property_ids=_own_properties(actor, excluded_property_ids),
        is_reserve=is_reserve,
    )
    db.session.add(member)
    db.session.flush()
    _record(actor, member, "panel_member_added", email=email, is_reserve=is_reserve,
            excluded_property_ids=member.excluded_property_ids)
    return member


def set_panel_member_active(actor: Actor, member: PanelMember, *, is_active: bool) -> PanelMember:
    """Off the roster (teams already seated keep them), or back on it."""
    require_supervisor(actor, member.company_id)
    if member.is_active != is_active:
        member.is_active = is_active
        _record(actor, member, "panel_member_activated" if is_active else "panel_member_deactivated")
    return member


def set_panel_member_reserve(actor: Actor, member: PanelMember, *, is_reserve: bool) -> PanelMember:
    """A reserve is asked only when the regular members cannot sit."""
    require_supervisor(actor, member.company_id)
    if member.is_reserve != is_reserve:
        member.is_reserve = is_reserve
        _record(actor, member, "panel_member_reserve_changed", is_reserve=is_reserve)
    return member


def set_panel_member_exclusions(actor: Actor, member: PanelMember, property_ids) -> PanelMember:
    """The company's properties whose disputes this member never sits on (a conflict of interest)."""
    require_supervisor(actor, member.company_id)
    ids = _own_properties(actor, property_ids)
    before = sorted(member.excluded_property_ids or [])
    if ids != before:
        member.excluded_property_ids = ids
        _record(actor, member, "panel_member_exclusions_changed", before=before, after=ids)
    return member
