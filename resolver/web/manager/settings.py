"""Company settings: windows, days and holidays, the time zone, the team's rules, caps, contacts,
the outside mediation service, the panel roster, staff accounts and API keys.

Every member of staff can read them; only a supervisor can change them. Each form changes one
thing and says what changed; bad input changes nothing.
"""
from __future__ import annotations

import re
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from ...errors import DomainError, InvalidInput, NotAllowed, NotFound
from ...extensions import db
from ...models import ApiKey, Company, PanelMember, StaffUser
from ...workflow.engine import dispute_engine
from ..api.keys import create_api_key, revoke_api_key
from . import blueprint, queries
from .auth import current_staff, set_password, supervisor_required
from .forms import parse_amount, parse_id, text

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
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
    if (value or required) and not _EMAIL.match(value):
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
        error=error,
        new_key=new_key,
    ), status


def _done(message: str, anchor: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("manager.settings") + f"#{anchor}", 303)


def _refused(error: DomainError):
    db.session.rollback()
    return _page(error.status_code, error=error)


@blueprint.get("/settings")
def settings():
    return _page()


# The company's rules ------------------------------------------------------------------------------

def update_company(company: Company, form) -> None:
    for name, label in WINDOW_FIELDS.items():
        raw = (form.get(name) or "").strip()
        if not raw.isdigit() or not 1 <= int(raw) <= 90:
            raise InvalidInput(f"{label}: a whole number of days from 1 to 90.", field=name)
        setattr(company, name, int(raw))
    zone = text(form, "time_zone", limit=64)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"{zone!r} is not a time zone (e.g. America/Denver).", field="time_zone") from None
    company.time_zone = zone
    company.is_business_days = form.get("is_business_days") == "on"
    holidays = []
    for line in (form.get("holidays") or "").replace(",", "\n").splitlines():
        if line.strip():
            try:
                holidays.append(date.fromisoformat(line.strip()).isoformat())
            except ValueError:
                raise InvalidInput(f"{line.strip()!r} is not a date; write one per line like 2026-12-25.",
                                   field="holidays") from None
    company.holidays = sorted(set(holidays))
    size = (form.get("panel_size") or "").strip()
    if not size.isdigit() or int(size) % 2 == 0 or not 1 <= int(size) <= 9:
        raise InvalidInput("The team's size must be an odd number from 1 to 9, so a vote cannot tie on seats.",
                           field="panel_size")
    company.panel_size = int(size)
    company.is_panel_anonymous = form.get("is_panel_anonymous") == "on"
    token = parse_amount(form.get("token_cap"), field="token_cap", label="The token cap")
    concession = parse_amount(form.get("concession_cap"), field="concession_cap", label="The concession cap")
    if token is None or concession is None:
        raise InvalidInput("Give both caps (0 means none may be offered).", field="token_cap" if token is None
                           else "concession_cap")
    company.token_cap_cents, company.concession_cap_cents = token, concession
    for name, (label, low, high) in UPLOAD_LIMITS.items():
        raw = (form.get(name) or "").strip()
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise InvalidInput(f"{label}: a whole number from {low} to {high}.", field=name)
    company.max_file_bytes = int(form["max_file_mb"]) * MB
    company.max_dispute_bytes = int(form["max_dispute_mb"]) * MB
    company.max_files = int(form["max_files"])
    if company.max_dispute_bytes < company.max_file_bytes:
        raise InvalidInput("The limit for all files together must be at least the limit for one file.",
                           field="max_dispute_mb")
    company.supervisor_name = text(form, "supervisor_name", limit=200)
    company.supervisor_email = _email(form, "supervisor_email")
    company.supervisor_phone = text(form, "supervisor_phone", limit=40)
    company.home_office_phone = text(form, "home_office_phone", limit=40)
    company.contact_email = _email(form, "contact_email")
    company.contact_phone = text(form, "contact_phone", limit=40)
    company.mediation_service_name = text(form, "mediation_service_name", limit=200)
    company.mediation_service_contact = text(form, "mediation_service_contact", limit=2000)


@blueprint.post("/settings/company")
@supervisor_required
def settings_company():
    try:
        update_company(g.company, request.form)
        db.session.flush()
    except DomainError as error:
        return _refused(error)
    return _done("Saved. New deadlines use these settings; deadlines already running keep their dates.", "rules")


# The panel roster ---------------------------------------------------------------------------------

def _exclusions(form, company_id: int) -> list[int]:
    ids = []
    for raw in form.getlist("excluded_property_ids"):
        property_id = parse_id(raw, field="excluded_property_ids", label="properties")
        if property_id not in {p.id for p in queries.properties_of(company_id)}:
            raise InvalidInput("Choose your company's own properties.", field="excluded_property_ids")
        ids.append(property_id)
    return ids


def _reports_to(form, company_id: int) -> int | None:
    staff_id = parse_id(form.get("reports_to_id"), field="reports_to_id", label="the staff member")
    if staff_id is not None and staff_id not in {s.id for s in queries.staff_of(company_id, active_only=False)}:
        raise InvalidInput("Choose one of your company's staff.", field="reports_to_id")
    return staff_id


@blueprint.post("/settings/roster")
@supervisor_required
def settings_roster_add():
    form, company = request.form, g.company
    try:
        name = text(form, "name", limit=200)
        if not name:
            raise InvalidInput("Give the member's name.", field="name")
        email = _email(form, "email", required=True)
        if db.session.scalars(select(PanelMember).where(PanelMember.company_id == company.id,
                                                        PanelMember.email == email)).first():
            raise InvalidInput(f"{email} is already on the roster.", field="email")
        db.session.add(PanelMember(
            company_id=company.id, name=name, email=email, organisation=text(form, "organisation", limit=200),
            reports_to_id=_reports_to(form, company.id), excluded_property_ids=_exclusions(form, company.id),
            is_reserve=form.get("is_reserve") == "on",
        ))
        db.session.flush()
    except DomainError as error:
        return _refused(error)
    return _done(f"{name} is on the roster.", "roster")


def _member(member_id: int) -> PanelMember:
    member = db.session.get(PanelMember, member_id)
    if member is None or member.company_id != g.company.id:
        raise NotFound("There is no such member on your roster.")
    return member


@blueprint.post("/settings/roster/<int:member_id>")
@supervisor_required
def settings_roster_update(member_id: int):
    member = _member(member_id)
    change = request.form.get("change")
    if change == "deactivate":
        member.is_active = False
        message = f"{member.name} is off the roster. Teams already seated keep them."
    elif change == "activate":
        member.is_active = True
        message = f"{member.name} is back on the roster."
    elif change == "reserve":
        member.is_reserve = not member.is_reserve
        message = f"{member.name} is {'a reserve' if member.is_reserve else 'a regular member'} now."
    else:
        return _refused(InvalidInput("Choose what to change.", field="change"))
    return _done(message, "roster")


# Staff accounts -----------------------------------------------------------------------------------

@blueprint.post("/settings/staff")
@supervisor_required
def settings_staff_add():
    form, company = request.form, g.company
    try:
        name = text(form, "name", limit=200)
        if not name:
            raise InvalidInput("Give the person's name.", field="name")
        email = _email(form, "email", required=True)
        role = form.get("role")
        if role not in ("manager", "supervisor"):
            raise InvalidInput("Choose manager or supervisor.", field="role")
        if db.session.scalars(select(StaffUser).where(StaffUser.email == email)).first():
            raise InvalidInput(f"{email} already has an account.", field="email")
        user = StaffUser(company_id=company.id, name=name, email=email, role=role)
        set_password(user, form.get("password", ""))
        db.session.add(user)
        db.session.flush()
    except DomainError as error:
        return _refused(error)
    return _done(f"{name} can sign in now with {email} and the password you chose.", "staff")


def _staff_member(user_id: int) -> StaffUser:
    user = db.session.get(StaffUser, user_id)
    if user is None or user.company_id != g.company.id:
        raise NotFound("There is no such person in your company.")
    return user


@blueprint.post("/settings/staff/<int:user_id>")
@supervisor_required
def settings_staff_update(user_id: int):
    user = _staff_member(user_id)
    change = request.form.get("change")
    try:
        if user.id == current_staff().id and change in ("deactivate", "role"):
            raise NotAllowed("You cannot switch off or demote your own account; ask another supervisor.")
        if change == "deactivate":
            user.is_active = False
            message = f"{user.name} can no longer sign in, and is signed out everywhere."
        elif change == "activate":
            user.is_active = True
            message = f"{user.name} can sign in again."
        elif change == "role":
            role = request.form.get("role")
            if role not in ("manager", "supervisor"):
                raise InvalidInput("Choose manager or supervisor.", field="role")
            user.role = role
            message = f"{user.name} is a {role} now."
        elif change == "password":
            set_password(user, request.form.get("password", ""))
            message = f"{user.name}'s password is changed; their other sessions have ended."
        else:
            raise InvalidInput("Choose what to change.", field="change")
        db.session.flush()
    except DomainError as error:
        return _refused(error)
    return _done(message, "staff")


# API keys -----------------------------------------------------------------------------------------

@blueprint.post("/settings/api-keys")
@supervisor_required
def settings_api_key_add():
    form = request.form
    try:
        acting_id = parse_id(form.get("acting_user_id"), field="acting_user_id", label="the staff member")
        acting = db.session.get(StaffUser, acting_id) if acting_id else None
        if acting is None:
            raise InvalidInput("Choose the staff member the key acts for.", field="acting_user_id")
        row, key = create_api_key(current_staff(), name=form.get("name", ""), acting_user=acting)
        db.session.commit()
    except DomainError as error:
        return _refused(error)
    # Shown once, on this response only: it is not kept anywhere Resolver can show it again.
    response, status = _page(200, new_key=key)
    return response, status, {"Cache-Control": "no-store"}


@blueprint.post("/settings/api-keys/<int:key_id>/revoke")
@supervisor_required
def settings_api_key_revoke(key_id: int):
    key = db.session.get(ApiKey, key_id)
    if key is None or key.company_id != g.company.id:
        raise NotFound("There is no such key.")
    revoke_api_key(current_staff(), key)
    return _done(f"The key “{key.name}” no longer works.", "api-keys")
