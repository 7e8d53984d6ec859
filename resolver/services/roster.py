"""Verbs for the company's team roster: the peers who may sit on a resolution team.

Each change (a member added, switched off or back on, made a reserve, kept away from some of the
company's properties or portfolios) is a supervisor's, and leaves a row in the company's history.
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


def _company_properties(company_id: int) -> list[Property]:
    return list(db.session.scalars(select(Property).where(Property.company_id == company_id)))


def _own_properties(properties: list[Property], property_ids, kept=()) -> list[int]:
    """The chosen properties' ids, each the company's own; an archived one only if already ``kept``."""
    ids = sorted(set(property_ids or []))
    known = {p.id: p for p in properties}
    if any(i not in known for i in ids):
        raise InvalidInput("Choose your company's own properties.", field="excluded_property_ids")
    archived = [known[i].name for i in ids if known[i].archived_dt is not None and i not in kept]
    if archived:
        raise InvalidInput(f"{archived[0]} is archived: it takes no new disputes, so nobody needs keeping away "
                           "from it.", field="excluded_property_ids")
    return ids


def _own_portfolios(properties: list[Property], portfolios, kept=()) -> list[str]:
    """The chosen portfolios, as the company's properties spell them; one that has only archived
    properties now only if already ``kept``."""
    current = {}
    for prop in properties:
        if prop.archived_dt is None and prop.portfolio.strip():
            current.setdefault(prop.portfolio.strip().lower(), prop.portfolio.strip())
    kept_lower = {str(k).strip().lower(): str(k) for k in kept}
    chosen = []
    for name in portfolios or []:
        key = str(name).strip().lower()
        if not key:
            continue
        if key in current:
            chosen.append(current[key])
        elif key in kept_lower:
            chosen.append(kept_lower[key])
        else:
            raise InvalidInput(f"{str(name).strip()!r} is not a portfolio of your properties.",
                               field="excluded_portfolios")
    return sorted(set(chosen), key=str.lower)


def _property_names(properties: list[Property], ids) -> list[str]:
    names = {p.id: p.name for p in properties}
    return [names.get(i, f"property {i}") for i in ids]


def add_panel_member(
    actor: Actor,
    *,
    name: str,
    email: str,
    organisation: str = "",
    reports_to_id: int | None = None,
    excluded_property_ids=(),
    excluded_portfolios=(),
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
    properties = _company_properties(actor.company_id)
    member = PanelMember(
        company_id=actor.company_id, name=name, email=email, organisation=organisation.strip(),
        reports_to_id=reports_to_id, excluded_property_ids=_own_properties(properties, excluded_property_ids),
        excluded_portfolios=_own_portfolios(properties, excluded_portfolios), is_reserve=is_reserve,
    )
    db.session.add(member)
    db.session.flush()
    _record(actor, member, "panel_member_added", email=email, is_reserve=is_reserve,
            excluded_property_ids=member.excluded_property_ids, excluded_portfolios=member.excluded_portfolios)
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


def set_panel_member_exclusions(actor: Actor, member: PanelMember, property_ids, portfolios=None) -> PanelMember:
    """The company's properties, and its portfolios (owner groups), whose disputes this member never sits
    on (a conflict of interest); ``portfolios`` None leaves those as they are. Archived properties, and
    portfolios left with only archived properties, may stay on the list but are not added to it.

    One history row keeps both lists before and after, with the properties' names as they were then."""
    require_supervisor(actor, member.company_id)
    properties = _company_properties(member.company_id)
    before_ids = sorted(member.excluded_property_ids or [])
    before_portfolios = list(member.excluded_portfolios or [])
    ids = _own_properties(properties, property_ids, kept=before_ids)
    chosen = before_portfolios if portfolios is None else _own_portfolios(properties, portfolios,
                                                                          kept=before_portfolios)
    if ids != before_ids or chosen != before_portfolios:
        member.excluded_property_ids, member.excluded_portfolios = ids, chosen
        _record(actor, member, "panel_member_exclusions_changed",
                before={"property_ids": before_ids, "properties": _property_names(properties, before_ids),
                        "portfolios": before_portfolios},
                after={"property_ids": ids, "properties": _property_names(properties, ids), "portfolios": chosen})
    return member
