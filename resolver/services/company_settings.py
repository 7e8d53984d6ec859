"""The verb for a company's own rules: windows, days and holidays, the team, caps, upload limits, how
long staff stay signed in without activity, contacts and the outside mediation service (or none, chosen
on purpose). A supervisor's change, kept in the company's history with each value before and after."""
from __future__ import annotations

from ..actors import Actor
from ..errors import InvalidInput
from ..models import Company
from .company_history import record_company_event, require_supervisor

# What the rules form may set; the form checks each value's shape, this verb how they fit together.
RULE_FIELDS = (
    "evidence_window_days", "reply_window_days", "panel_window_days", "follow_up_days", "offer_valid_days",
    "time_zone", "is_business_days", "holidays", "panel_size", "is_panel_anonymous", "is_panel_closing_early",
    "token_cap_cents", "token_step_cents", "concession_cap_cents", "max_file_bytes", "max_dispute_bytes", "max_files",
    "idle_timeout_minutes", "retention_years", "supervisor_name",
    "supervisor_email", "supervisor_phone", "home_office_phone", "contact_email", "contact_phone",
    "mediation_service_name", "mediation_service_contact", "is_without_mediation",
)

MIN_TOKEN_STEP_CENTS = 100  # a gift card comes in whole dollars at the least
RETENTION_YEARS = (1, 30)  # how long a closed dispute's personal data may be kept
IDLE_MINUTES = range(5, 480 + 1)  # a session lasts 8 hours at most, idle or not


def change_company_rules(actor: Actor, company: Company, rules: dict) -> dict:
    """Set the company's rules; returns what changed ({field: [before, after]}). New deadlines use
    them; deadlines already running keep their dates."""
    require_supervisor(actor, company.id)
    unknown = set(rules) - set(RULE_FIELDS)
    if unknown:
        raise InvalidInput(f"There is no setting called {sorted(unknown)[0]!r}.")
    if rules.get("max_dispute_bytes", company.max_dispute_bytes) < rules.get("max_file_bytes", company.max_file_bytes):
        raise InvalidInput("The limit for all files together must be at least the limit for one file.",
                           field="max_dispute_mb")
    if rules.get("token_step_cents", company.token_step_cents) < MIN_TOKEN_STEP_CENTS:
        raise InvalidInput("Round recommended tokens to at least $1.00.", field="token_step")
    low, high = RETENTION_YEARS
    if not low <= rules.get("retention_years", company.retention_years) <= high:
        raise InvalidInput(f"Keep personal data for a whole number of years from {low} to {high}.",
                           field="retention_years")
    if rules.get("idle_timeout_minutes", company.idle_timeout_minutes) not in IDLE_MINUTES:
        raise InvalidInput("Sign staff out after a whole number of minutes from 5 to 480 (8 hours).",
                           field="idle_timeout_minutes")
    rules = _mediation_chosen(company, rules)
    changed = {}
    for name, value in rules.items():
        before = getattr(company, name)
        if before != value:
            changed[name] = [before, value]
            setattr(company, name, value)
    if changed:
        record_company_event(actor, company.id, "rules_changed", subject_kind="company", subject_id=company.id,
                             subject_label=company.name, data={"changed": changed})
    return changed


def _mediation_chosen(company: Company, rules: dict) -> dict:
    """A service named, or none on purpose: never both. Naming one is choosing it; choosing none
    clears the name, so no letter offers a service the company turned down."""
    rules = dict(rules)
    name = (rules.get("mediation_service_name", company.mediation_service_name) or "").strip()
    if rules.get("is_without_mediation"):
        rules.update(mediation_service_name="", mediation_service_contact="")
    elif name:
        rules["is_without_mediation"] = False
    elif rules.get("is_without_mediation") is False:
        raise InvalidInput("Give the outside mediation service's name, or choose none.",
                           field="mediation_service_name")
    return rules
