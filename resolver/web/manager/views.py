"""The manager's pages: the dashboard, opening a dispute, and the dispute page with its actions.

Views are thin: read the form, call one verb, redirect; the request's unit of work commits. A
refused request (another company's dispute, a stale form, a bad date) shows its message and changes
nothing.
"""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from ...clock import now_utc
from ...errors import DomainError, InvalidInput, NotFound
from ...extensions import db
from ...models import Company, EvidenceFile, Letter, Property, Resident, Task, Unit
from ...services.access import dispute_for
from ...services.categories import categories_of
from ...services.disputes import create_dispute, open_dispute
from ...services.people import NewResident, find_or_add_resident
from ...services.portfolio import current_properties
from ...services.readiness import missing_to_open
from ...uploads import served_name
from ...text import LIKE_ESCAPE, ascii_whole_number, like_pattern
from ...workdays import format_moment
from ...workflow.engine import dispute_engine
from ..downloads import send_stored
from ..unit_of_work import unit_of_work
from . import blueprint, queries
from .actions import ACTIONS, not_offered, offered_now
from .auth import current_actor, current_staff
from .dispute_page import INLINE_IMAGE_TYPES, dispute_page_context
from .escalations import escalations_for
from .forms import (
    ITEM_ROWS, MAX_ID, DashboardForm, EditLetterForm, NewDisputeForm, has_id_beyond_range, refuse_unless_valid,
)
from .setup_checklist import unfinished_checklist

RESIDENT_CHOICES = 200  # residents listed on the form at once; the rest are found by searching


@blueprint.before_request
def _ids_in_range():
    """An id in a URL too large to name any row is simply not found (the database would refuse it)."""
    if has_id_beyond_range(request.view_args):
        raise NotFound(_("There is no such record."))


# Dashboard -----------------------------------------------------------------------------------

@blueprint.get("/")
def dashboard():
    company = g.company
    args = request.args
    state = args.get("state", "")
    if state not in ("", "all") and state not in dispute_engine.definition.states:
        state = ""
    chosen = DashboardForm(args)
    if chosen.validate():
        filters = queries.DashboardFilters(
            state=state, property_id=chosen.property.data, manager_id=chosen.manager.data,
            search=args.get("q", "").strip()[:100],
            page=ascii_whole_number(args.get("page"), low=1, high=queries.MAX_PAGE) or 1,
        )
    else:
        filters = queries.DashboardFilters(state=state)  # a garbled filter shows everything
    page = queries.dashboard(company.id, filters)
    return render_template(
        "manager/dashboard.html",
        page=page,
        glance=queries.at_a_glance(company.id, now_utc(), manager_id=filters.manager_id),
        company=company,
        states=dispute_engine.definition.states,
        open_states=queries.open_states(),
        properties=queries.properties_of(company.id),
        managers=queries.staff_of(company.id, active_only=False),
        setup=unfinished_checklist(company),
        # Up the ladder: what waits for a supervisor (a split team, a reply at risk or late).
        escalations=escalations_for(company.id, now_utc()) if current_staff().is_supervisor else None,
    )


# Opening a dispute ---------------------------------------------------------------------------

def _new_dispute_choices(company_id: int, *, search: str = "", chosen_id: str = "") -> dict:
    """The form's lists. Residents come a page at a time: a company with thousands is searched, not scrolled."""
    residents_query = (
        select(Resident, Unit.label, Property.name)
        .outerjoin(Unit, Unit.id == Resident.unit_id)
        .outerjoin(Property, Property.id == Unit.property_id)
        .where(Resident.company_id == company_id, Resident.archived_dt.is_(None))  # archived: not offered
    )
    if search:
        pattern = like_pattern(search)
        residents_query = residents_query.where(or_(*(func.lower(column).like(pattern, escape=LIKE_ESCAPE)
                                                      for column in (Resident.name, Resident.email, Unit.label))))
    residents = db.session.execute(
        residents_query.order_by(Resident.name, Resident.id).limit(RESIDENT_CHOICES + 1)
    ).all()
    more = len(residents) > RESIDENT_CHOICES
    residents = residents[:RESIDENT_CHOICES]
    chosen = ascii_whole_number(chosen_id, low=1, high=MAX_ID)
    if chosen is not None and all(row[0].id != chosen for row in residents):
        # A form shown again keeps the resident it had chosen, wherever they fall in the list.
        residents += db.session.execute(residents_query.where(Resident.id == chosen)).all()
    return {
        "residents": residents,
        "more_residents": more,
        "resident_search": search,
        "properties": current_properties(company_id),
        "managers": [m for m in queries.staff_of(company_id) if m.role == "manager"] or queries.staff_of(company_id),
        "categories": categories_of(db.session.get(Company, company_id)),
    }


def _resident_from_form(form: NewDisputeForm) -> dict:
    """Who the dispute is about, as the form says it: one of the list, or a new resident; and where."""
    who = {"property_id": form.property_id.data, "unit_label": form.unit_label.data}
    if not form.is_new_resident:
        return {**who, "resident_id": form.resident_id.data}
    return {**who, "new": NewResident(name=form.new_name.data, email=form.new_email.data, phone=form.new_phone.data)}


def _new_dispute_page(error: DomainError | None = None, status: int = 200, **_):
    company = g.company
    return render_template("manager/new_dispute.html", form=request.form, error=error, item_rows=ITEM_ROWS,
                           company=company, missing_to_open=missing_to_open(company),
                           **_new_dispute_choices(company.id, search=request.args.get("who", "").strip()[:100],
                                                  chosen_id=request.form.get("resident_id", ""))), status


def _new_dispute_refused(error: DomainError, **_):
    return _new_dispute_page(error, error.status_code)


@blueprint.route("/disputes/new", methods=["GET", "POST"])
@unit_of_work(refused=_new_dispute_refused)
def new_dispute():
    if request.method != "POST":
        return _new_dispute_page()
    form, company, actor = refuse_unless_valid(NewDisputeForm()), g.company, current_actor()
    resident, unit = find_or_add_resident(actor, **_resident_from_form(form))
    manager = None
    if form.manager_id.data is not None:
        manager = next((m for m in queries.staff_of(company.id) if m.id == form.manager_id.data), None)
        if manager is None:
            raise InvalidInput(_("Choose one of your company's managers."), field="manager_id")
    dispute = create_dispute(
        actor, resident=resident, unit=unit, manager=manager, issue=form.issue.data,
        what_was_fixed=form.what_was_fixed.data, company_position=form.company_position.data,
        category=form.category.data, items=form.items,
    )
    if form.intent.data == "open":
        open_dispute(actor, dispute)
        flash(_("The invitation is on its way to %(resident)s <%(email)s>. They have until %(due)s to send their "
                "side.", resident=resident.name, email=resident.email, due=_moment(dispute.evidence_due_dt)), "success")
    else:
        flash(_("Saved as a draft. Nothing has been sent yet."), "success")
    return redirect(url_for("manager.dispute_page", dispute_id=dispute.id), 303)


def _moment(value):
    return format_moment(value, g.company) if value else ""


# The dispute page ----------------------------------------------------------------------------

@blueprint.get("/disputes/<int:dispute_id>")
def dispute_page(dispute_id: int):
    dispute = dispute_for(current_actor(), dispute_id)
    return render_template("manager/dispute.html", **dispute_page_context(dispute))


def _action_refused(error: DomainError, dispute_id: int, name: str):
    """The dispute page again, as it is now, with what was refused and why."""
    if isinstance(error, NotFound):
        raise error  # no such dispute here, or no such action: nothing to show the page of
    dispute = dispute_for(current_actor(), dispute_id)
    # A letter's edit that was refused is shown as typed; the other forms are a line or two.
    letter_form = EditLetterForm() if name == "edit_letter" else None
    return render_template("manager/dispute.html", error=error, letter_form=letter_form,
                           **dispute_page_context(dispute)), error.status_code


@blueprint.post("/disputes/<int:dispute_id>/actions/<name>")
@unit_of_work(refused=_action_refused)
def dispute_action(dispute_id: int, name: str):
    actor = current_actor()
    dispute = dispute_for(actor, dispute_id)
    action = ACTIONS.get(name)
    if action is None:
        raise NotFound(_("There is no action called %(name)s.", name=repr(name)))
    form = action.form()
    if problem := form.version_problem():
        raise problem  # a form without its version cannot say whether it is stale: nothing else is read
    if name not in offered_now(dispute):
        raise not_offered(action, dispute, form.expected_version.data)
    # The version is checked by the verb: a form drawn before someone else's change is told so.
    message = action.run(actor, dispute, refuse_unless_valid(form))
    flash(message, "success")
    return redirect(url_for("manager.dispute_page", dispute_id=dispute.id), 303)


# Files: evidence and letters, to the company's own staff only ----------------------------------

def _sandboxed(response):
    # nosniff, no Referer and no-store come with every response (resolver.web.security_headers).
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def _send_or_gone(sha256: str, missing: str, **options):
    """A stored file, streamed, revalidated by its hash; 410 with ``missing`` when storage no longer has it."""
    try:
        return _sandboxed(send_stored(sha256, etag=sha256, **options))
    except FileNotFoundError:
        abort(410, missing)


@blueprint.get("/disputes/<int:dispute_id>/files/<int:file_id>")
def evidence_file(dispute_id: int, file_id: int):
    dispute = dispute_for(current_actor(), dispute_id)
    stored = db.session.scalars(
        select(EvidenceFile).where(EvidenceFile.id == file_id, EvidenceFile.dispute_id == dispute.id)
    ).first()
    if stored is None:
        raise NotFound(_("That file is not part of this dispute."))
    inline = stored.content_type in INLINE_IMAGE_TYPES and request.args.get("download") != "1"
    return _send_or_gone(stored.sha256, _("The file is missing from storage."),
                         mimetype=stored.content_type if inline else "application/octet-stream",
                         as_attachment=not inline, download_name=served_name(stored.original_name, stored.content_type))


@blueprint.get("/disputes/<int:dispute_id>/letters/<int:letter_id>.pdf")
def letter_pdf(dispute_id: int, letter_id: int):
    dispute = dispute_for(current_actor(), dispute_id)
    letter = db.session.scalars(select(Letter).where(Letter.id == letter_id, Letter.dispute_id == dispute.id)).first()
    if letter is None or not letter.pdf_sha256:
        raise NotFound(_("That letter has no PDF yet."))
    return _send_or_gone(letter.pdf_sha256, _("The letter's PDF is missing from storage."), mimetype="application/pdf",
                         as_attachment=True, download_name=f"dispute-{dispute.id}-letter-v{letter.version}.pdf")


@blueprint.get("/disputes/<int:dispute_id>/tasks/<int:task_id>.ics")
def task_calendar(dispute_id: int, task_id: int):
    """The calendar reminder made with a follow-up task (the same one its email carried)."""
    dispute = dispute_for(current_actor(), dispute_id)
    task = db.session.scalars(select(Task).where(Task.id == task_id, Task.dispute_id == dispute.id)).first()
    sha256 = (task.detail or {}).get("ics_sha256") if task is not None else None
    if not sha256:
        raise NotFound(_("That task has no calendar reminder."))
    return _send_or_gone(sha256, _("The reminder is missing from storage."), mimetype="text/calendar", as_attachment=True,
                         download_name=f"dispute-{dispute.id}-task-{task.id}.ics")


from . import calls, category_settings, imports, paper_mail, portfolio, reports, residents, roster_settings, settings  # noqa: E402,F401  (more routes)
