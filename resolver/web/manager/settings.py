"""Company settings: windows, days and holidays, the time zone, the team's rules, caps, contacts,
the outside mediation service, the panel roster, staff accounts and API keys, and their history.

Every member of staff can read them; only a supervisor can change them. Each form changes one
thing through one verb (which keeps it in the company's history) and says what changed; bad input
changes nothing.
"""
from __future__ import annotations

from functools import partial
from zoneinfo import available_timezones

from flask import flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select

from ...errors import DomainError, InvalidInput, NotFound
from ...extensions import db
from ...models import ApiKey, Resident, StaffUser
from ...services import accounts, staff
from ...services.company_history import company_history
from ...services.company_settings import change_company_rules
from ...services.wording import change_company_words
from ...wording import english_name
from ...workflow.engine import dispute_engine
from ..api.keys import create_api_key, revoke_api_key
from ..unit_of_work import unit_of_work
from . import blueprint, queries
from .auth import current_actor, current_staff, supervisor_required
from .forms import refuse_unless_valid
from .roster_choices import describe_exclusions, roster_choices
from .settings_forms import (
    MB, WINDOW_FIELDS, ApiKeyForm, CompanyRulesForm, StaffChangeForm, StaffForm, words_sent,
)

def _zones() -> list[str]:
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))


def _page(status: int = 200, *, error: DomainError | None = None, new_key: str | None = None,
          rules_form: CompanyRulesForm | None = None):
    company = g.company
    return render_template(
        "manager/settings.html",
        company=company,
        can_edit=current_staff().is_supervisor,
        zones=_zones(),
        window_fields=WINDOW_FIELDS,
        panel_rules=dispute_engine.definition.panel,
        mb=MB,
        roster=roster_choices(company.id),
        staff=queries.staff_of(company.id, active_only=False),
        properties=queries.properties_of(company.id),
        keys=list(db.session.scalars(
            select(ApiKey).where(ApiKey.company_id == company.id).order_by(ApiKey.revoked_dt.is_not(None), ApiKey.id))),
        history=(history := company_history(company.id)),
        describe_change=partial(describe_change, resident_names=_resident_names(history)),
        error=error,
        new_key=new_key,
        rules_form=rules_form,
    ), status


_CHANGES = {
    "rules_changed": "changed the settings: {fields}",
    "category_changed": "changed the wording of the category “{name}”: {fields}",
    "category_added": "added the category “{name}”",
    "category_archived": "archived the category “{name}”",
    "category_restored": "restored the category “{name}”",
    "category_reset": "set the category “{name}” back to Resolver's wording",
    "category_worded": "changed the {language} wording of the category “{name}”: {fields}",
    "words_changed": "changed the {language} wording of the settings: {fields}",
    "panel_member_added": "added {name} to the roster",
    "panel_member_deactivated": "took {name} off the roster",
    "panel_member_activated": "put {name} back on the roster",
    "panel_member_reserve_changed": "made {name} {reserve}",
    "panel_member_exclusions_changed": describe_exclusions,
    "staff_added": "added {name}",
    "staff_deactivated": "switched off {name}'s account",
    "staff_activated": "switched on {name}'s account",
    "staff_role_changed": "made {name} a {role}",
    "staff_password_changed": "set a new password for {name}",
    "staff_invited": "invited {name} by email",
    "staff_invitation_sent_again": "sent {name} the invitation again",
    "staff_joined": "chose a password and joined",
    "staff_password_reset": "chose a new password from an emailed link",
    "api_key_created": "made the API key “{name}”",
    "api_key_revoked": "revoked the API key “{name}”",
    "property_added": "added the property {name}",
    "property_changed": "changed the property {name}",
    "property_archived": "archived the property {name}",
    "property_restored": "restored the property {name}",
    "unit_added": "added {name}",
    "unit_renamed": "renamed a unit: now {name}",
    "unit_archived": "archived {name}",
    "unit_restored": "restored {name}",
    "resident_added": "added the resident {name}",
    "resident_changed": "changed {name}'s details",
    "resident_moved": "moved {name} to another unit",
    "resident_archived": "archived the resident {name}",
    "resident_restored": "restored the resident {name}",
    "portfolio_imported": "imported {name}",
    "resident_exported": "exported everything held about {name}",
    "resident_erased": "erased the personal data of {name}",
}


# Settings whose column name does not read as words on its own; switches say where they now stand.
_SETTING_WORDS = {
    "token_cap_cents": "token cap",
    "concession_cap_cents": "concession cap",
    "token_step_cents": "the step tokens are rounded to",
    "idle_timeout_minutes": "minutes without activity before staff are signed out",
    "is_panel_closing_early": "closing the team's review as soon as its result cannot change",
    "retention_years": "the years personal data is kept",
}
_SWITCHES = {"is_panel_closing_early"}


def _setting_in_words(name: str, change) -> str:
    words = _SETTING_WORDS.get(name, name.replace("_", " "))
    if name in _SWITCHES and isinstance(change, list) and len(change) == 2:
        return f"{words} ({'on' if change[1] else 'off'})"
    return words


def _resident_names(history) -> dict[int, str]:
    """The current names of the residents the history speaks of: it keeps only their number."""
    ids = {event.data["resident_id"] for event in history if (event.data or {}).get("resident_id")}
    if not ids:
        return {}
    rows = db.session.execute(select(Resident.id, Resident.name).where(Resident.id.in_(ids)))
    return {row.id: row.name for row in rows}


def describe_change(event, resident_names: dict[int, str] | None = None) -> str:
    """One line of the company's history, in words; a resident by their name now (``resident_names``)."""
    data = event.data or {}
    if callable(line := _CHANGES.get(event.action)):
        return line(event)
    changed = data.get("changed", {})  # the settings with before and after; a resident's fields by name only
    changes = changed.items() if isinstance(changed, dict) else ((field, None) for field in changed)
    fields = ", ".join(_setting_in_words(field, change) for field, change in changes)
    name = (resident_names or {}).get(data.get("resident_id")) or event.subject_label
    return _CHANGES.get(event.action, event.action.replace("_", " ") + " ({name})").format(
        name=name, fields=fields, role=data.get("after", ""), language=english_name(data.get("language", "")),
        reserve="a reserve" if data.get("is_reserve") else "a regular member")


def _done(message: str, anchor: str):
    flash(message, "success")
    return redirect(url_for("manager.settings") + f"#{anchor}", 303)


def _refused(error: DomainError, **_):
    # A refused rules form is shown as it was typed; the other forms are a line or two.
    rules_form = CompanyRulesForm() if request.endpoint == "manager.settings_company" else None
    return _page(error.status_code, error=error, rules_form=rules_form)


@blueprint.get("/settings")
def settings():
    return _page()


# The company's rules ------------------------------------------------------------------------------

@blueprint.post("/settings/company")
@supervisor_required
@unit_of_work(refused=_refused)
def settings_company():
    form, actor = refuse_unless_valid(CompanyRulesForm()), current_actor()
    change_company_rules(actor, g.company, form.rules)
    for language, words in words_sent(form).items():  # the mediation service in other languages
        change_company_words(actor, g.company, language, words)
    return _done("Saved. New deadlines use these settings; deadlines already running keep their dates.", "rules")


# Staff accounts -----------------------------------------------------------------------------------

@blueprint.post("/settings/staff")
@supervisor_required
@unit_of_work(refused=_refused)
def settings_staff_add():
    form = refuse_unless_valid(StaffForm())
    user = accounts.invite_staff_user(current_actor(), g.company, name=form.name.data, email=form.email.data,
                                      role=form.role.data).user
    return _done(f"{user.name} is invited: an email to {user.email} brings a link to choose a password "
                 f"(it works for {accounts.LIFETIME_WORDS['set_password']}).", "staff")


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
    form = refuse_unless_valid(StaffChangeForm())
    change = form.change.data
    if change == "deactivate":
        staff.set_staff_active(actor, user, is_active=False)
        message = f"{user.name} can no longer sign in, and is signed out everywhere."
    elif change == "activate":
        staff.set_staff_active(actor, user, is_active=True)
        message = f"{user.name} can sign in again."
    elif change == "role":
        staff.set_staff_role(actor, user, form.role.data)
        message = f"{user.name} is a {user.role} now."
    elif change == "password":
        staff.change_staff_password(actor, user, form.password.data)
        message = f"{user.name}'s password is changed; their other sessions have ended."
    elif change == "invite":
        accounts.send_invitation_again(actor, user)
        message = f"A new invitation is on its way to {user.email}; the link in the earlier one no longer works."
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
    form = refuse_unless_valid(ApiKeyForm())
    acting = db.session.get(StaffUser, form.acting_user_id.data)
    if acting is None:
        raise InvalidInput("Choose the staff member the key acts for.", field="acting_user_id")
    row, key = create_api_key(current_staff(), name=form.name.data, acting_user=acting)
    return _new_key_page(key)


@blueprint.post("/settings/api-keys/<int:key_id>/revoke")
@supervisor_required
@unit_of_work
def settings_api_key_revoke(key_id: int):
    refuse_unless_valid(FlaskForm())  # nothing to read but the CSRF token
    key = db.session.get(ApiKey, key_id)
    if key is None or key.company_id != g.company.id:
        raise NotFound("There is no such key.")
    revoke_api_key(current_staff(), key)
    return _done(f"The key “{key.name}” no longer works.", "api-keys")
