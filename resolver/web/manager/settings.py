"""Company settings: windows, days and holidays, the time zone, the team's rules, caps, contacts,
the outside mediation service, the panel roster, staff accounts and API keys, and their history.

Every member of staff can read them; only a supervisor can change them. Each form changes one
thing through one verb (which keeps it in the company's history) and says what changed; bad input
changes nothing.
"""
from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from ...errors import DomainError, InvalidInput, NotFound
from ...extensions import db
from ...models import ApiKey, PanelMember, StaffUser
from ...services import roster, staff
from ...services.company_history import company_history
from ...services.company_settings import change_company_rules
from ...services.people import is_email_address
from ...workflow.engine import dispute_engine
from ..api.keys import create_api_key, revoke_api_key
from ..unit_of_work import unit_of_work
from . import blueprint, queries
from .auth import current_actor, current_staff, supervisor_required
from .forms import parse_amount, parse_id, text

WINDOW_FIELDS = {
    "evidence_window_days": "The resident's window",
    "reply_window_days": "The written reply window",
    "panel_window_days": "The team's window",
    "follow_up_days": "The follow-up",
    "offer_valid_days": "How long an offer stays open",
}

MB = 1024 * 1024
# What a resident may upload (checked on the server against the bytes received).
UPLOAD_LIMITS = {
    "max_file_mb": ("The largest file (MB)", 1, 50),
    "max_dispute_mb": ("All files together (MB)", 1, 500),
    "max_files": ("How many files", 1, 100),
}


def _zones() -> list[str]:
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))


def _email(form, name: str, *, required: bool = False) -> str:
    value = text(form, name, limit=254).lower()
    if (value or required) and not is_email_address(value):
        raise InvalidInput("That is not an email address.", field=name)
    return value


def _page(status: int = 200, *, error: DomainError | None = None, new_key: str | None = None):
    company = g.company
    return render_template(
        "manager/settings.html",
        company=company,
        can_edit=current_staff().is_supervisor,
        zones=_zones(),
        window_fields=WINDOW_FIELDS,
        panel_rules=dispute_engine.definition.panel,
        mb=MB,
        roster=list(db.session.scalars(
            select(PanelMember).where(PanelMember.company_id == company.id)
            .order_by(PanelMember.is_active.desc(), PanelMember.name))),
        staff=queries.staff_of(company.id, active_only=False),
        properties=queries.properties_of(company.id),
        keys=list(db.session.scalars(
            select(ApiKey).where(ApiKey.company_id == company.id).order_by(ApiKey.revoked_dt.is_not(None), ApiKey.id))),
        history=company_history(company.id),
        describe_change=describe_change,
        error=error,
        new_key=new_key,
    ), status


_CHANGES = {
    "rules_changed": "changed the settings: {fields}",
    "panel_member_added": "added {name} to the roster",
    "panel_member_deactivated": "took {name} off the roster",
    "panel_member_activated": "put {name} back on the roster",
    "panel_member_reserve_changed": "made {name} {reserve}",
    "panel_member_exclusions_changed": "changed the properties {name} never sits on",
    "staff_added": "added {name}",
    "staff_deactivated": "switched off {name}'s account",
    "staff_activated": "switched on {name}'s account",
    "staff_role_changed": "made {name} a {role}",
    "staff_password_changed": "set a new password for {name}",
    "api_key_created": "made the API key “{name}”",
    "api_key_revoked": "revoked the API key “{name}”",
}


def describe_change(event) -> str:
    """One line of the company's history, in words."""
    data = event.data or {}
    fields = ", ".join(name.replace("_", " ") for name in data.get("changed", {}))
    return _CHANGES.get(event.action, event.action.replace("_", " ") + " ({name})").format(
        name=event.subject_label, fields=fields, role=data.get("after", ""),
        reserve="a reserve" if data.get("is_reserve") else "a regular member")


def _done(message: str, anchor: str):
    flash(message, "success")
    return redirect(url_for("manager.settings") + f"#{anchor}", 303)


def _refused(error: DomainError, **_):
    return _page(error.status_code, error=error)


@blueprint.get("/settings")
def settings():
    return _page()


# The company's rules ------------------------------------------------------------------------------

def rules_from_form(form) -> dict:
    """The rules form read into the company's columns, each value checked for its shape."""
    rules = {}
    for name, label in WINDOW_FIELDS.items():
        raw = (form.get(name) or "").strip()
        if not raw.isdigit() or not 1 <= int(raw) <= 90:
            raise InvalidInput(f"{label}: a whole number of days from 1 to 90.", field=name)
        rules[name] = int(raw)
    zone = text(form, "time_zone", limit=64)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"{zone!r} is not a time zone (e.g. America/Denver).", field="time_zone") from None
    rules["time_zone"] = zone
    rules["is_business_days"] = form.get("is_business_days") == "on"
    holidays = []
    for line in (form.get("holidays") or "").replace(",", "\n").splitlines():
        if line.strip():
            try:
                holidays.append(date.fromisoformat(line.strip()).isoformat())
            except ValueError:
                raise InvalidInput(f"{line.strip()!r} is not a date; write one per line like 2026-12-25.",
                                   field="holidays") from None
    rules["holidays"] = sorted(set(holidays))
    size = (form.get("panel_size") or "").strip()
    if not size.isdigit() or int(size) % 2 == 0 or not 1 <= int(size) <= 9:
        raise InvalidInput("The team's size must be an odd number from 1 to 9, so a vote cannot tie on seats.",
                           field="panel_size")
    rules["panel_size"] = int(size)
    rules["is_panel_anonymous"] = form.get("is_panel_anonymous") == "on"
    token = parse_amount(form.get("token_cap"), field="token_cap", label="The token cap")
    concession = parse_amount(form.get("concession_cap"), field="concession_cap", label="The concession cap")
    if token is None or concession is None:
        raise InvalidInput("Give both caps (0 means none may be offered).", field="token_cap" if token is None
                           else "concession_cap")
    rules["token_cap_cents"], rules["concession_cap_cents"] = token, concession
    for name, (label, low, high) in UPLOAD_LIMITS.items():
        raw = (form.get(name) or "").strip()
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise InvalidInput(f"{label}: a whole number from {low} to {high}.", field=name)
    rules["max_file_bytes"] = int(form["max_file_mb"]) * MB
    rules["max_dispute_bytes"] = int(form["max_dispute_mb"]) * MB
    rules["max_files"] = int(form["max_files"])
    for name, limit in (("supervisor_name", 200), ("supervisor_phone", 40), ("home_office_phone", 40),
                        ("contact_phone", 40), ("mediation_service_name", 200), ("mediation_service_contact", 2000)):
        rules[name] = text(form, name, limit=limit)
    rules["supervisor_email"] = _email(form, "supervisor_email")
    rules["contact_email"] = _email(form, "contact_email")
    return rules


@blueprint.post("/settings/company")
@supervisor_required
@unit_of_work(refused=_refused)
def settings_company():
    change_company_rules(current_actor(), g.company, rules_from_form(request.form))
    return _done("Saved. New deadlines use these settings; deadlines already running keep their dates.", "rules")


# The panel roster ---------------------------------------------------------------------------------

def _property_ids(form) -> list[int]:
    return [parse_id(raw, field="excluded_property_ids", label="properties")
            for raw in form.getlist("excluded_property_ids") if (raw or "").strip()]


@blueprint.post("/settings/roster")
@supervisor_required
@unit_of_work(refused=_refused)
def settings_roster_add():
    form = request.form
    member = roster.add_panel_member(
        current_actor(), name=text(form, "name", limit=200), email=text(form, "email", limit=254),
        organisation=text(form, "organisation", limit=200),
        reports_to_id=parse_id(form.get("reports_to_id"), field="reports_to_id", label="the staff member"),
        excluded_property_ids=_property_ids(form), is_reserve=form.get("is_reserve") == "on",
    )
    return _done(f"{member.name} is on the roster.", "roster")


def _member(member_id: int) -> PanelMember:
    member = db.session.get(PanelMember, member_id)
    if member is None or member.company_id != g.company.id:
        raise NotFound("There is no such member on your roster.")
    return member


@blueprint.post("/settings/roster/<int:member_id>")
@supervisor_required
@unit_of_work(refused=_refused)
def settings_roster_update(member_id: int):
    member, actor = _member(member_id), current_actor()
    change = request.form.get("change")
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
        roster.set_panel_member_exclusions(actor, member, _property_ids(request.form))
        count = len(member.excluded_property_ids)
        message = (f"{member.name} never sits on disputes about {count} of your properties now." if count
                   else f"{member.name} may sit on disputes about any of your properties now.")
    else:
        raise InvalidInput("Choose what to change.", field="change")
    return _done(message, "roster")


# Staff accounts -----------------------------------------------------------------------------------

@blueprint.post("/settings/staff")
@supervisor_required
@unit_of_work(refused=_refused)
def settings_staff_add():
    form = request.form
    user = staff.add_staff_user(current_actor(), name=text(form, "name", limit=200),
                                email=text(form, "email", limit=254), role=form.get("role", ""),
                                password=form.get("password", ""))
    return _done(f"{user.name} can sign in now with {user.email} and the password you chose.", "staff")


def _staff_member(user_id: int) -> StaffUser:
    user = db.session.get(StaffUser, user_id)
    if user is None or user.company_id != g.company.id:
        raise NotFound("There is no such person in your company.")
    return user


@blueprint.post("/settings/staff/<int:user_id>")
@supervisor_required
@unit_of_work(refused=_refused)
def settings_staff_update(user_id: int):
    user, actor = _staff_member(user_id), current_actor()
    change = request.form.get("change")
    if change == "deactivate":
        staff.set_staff_active(actor, user, is_active=False)
        message = f"{user.name} can no longer sign in, and is signed out everywhere."
    elif change == "activate":
        staff.set_staff_active(actor, user, is_active=True)
        message = f"{user.name} can sign in again."
    elif change == "role":
        staff.set_staff_role(actor, user, request.form.get("role"))
        message = f"{user.name} is a {user.role} now."
    elif change == "password":
        staff.change_staff_password(actor, user, request.form.get("password", ""))
        message = f"{user.name}'s password is changed; their other sessions have ended."
    else:
        raise InvalidInput("Choose what to change.", field="change")
    return _done(message, "staff")


# API keys -----------------------------------------------------------------------------------------

def _new_key_page(key: str):
    # Shown once, on this response only: it is not kept anywhere Resolver can show it again.
    response, status = _page(200, new_key=key)
    return response, status, {"Cache-Control": "no-store"}


@blueprint.post("/settings/api-keys")
@supervisor_required
@unit_of_work(refused=_refused)
def settings_api_key_add():
    form = request.form
    acting_id = parse_id(form.get("acting_user_id"), field="acting_user_id", label="the staff member")
    acting = db.session.get(StaffUser, acting_id) if acting_id else None
    if acting is None:
        raise InvalidInput("Choose the staff member the key acts for.", field="acting_user_id")
    row, key = create_api_key(current_staff(), name=form.get("name", ""), acting_user=acting)
    return _new_key_page(key)


@blueprint.post("/settings/api-keys/<int:key_id>/revoke")
@supervisor_required
@unit_of_work
def settings_api_key_revoke(key_id: int):
    key = db.session.get(ApiKey, key_id)
    if key is None or key.company_id != g.company.id:
        raise NotFound("There is no such key.")
    revoke_api_key(current_staff(), key)
    return _done(f"The key “{key.name}” no longer works.", "api-keys")
