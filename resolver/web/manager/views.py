"""The manager's pages: the dashboard, opening a dispute, and the dispute page with its actions.

Views are thin: read the form, call one verb, commit, redirect. A refused request (another
company's dispute, a stale form, a bad date) shows its message and changes nothing.
"""
from __future__ import annotations

import io

from flask import abort, flash, g, redirect, render_template, request, send_file, url_for
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ...clock import now_utc
from ...errors import DomainError, InvalidInput, NotFound, WrongState
from ...extensions import db
from ...files import path_for
from ...models import (
    AccessLink, AuditEvent, Dispute, EvidenceFile, ExtensionRequest, Letter, LinkUse, OutboxEmail, PanelMember,
    PanelSeat, Property, Resident, Submission, Task, Unit,
)
from ...services.access import check_version, dispute_for
from ...services.disputes import create_dispute, open_dispute
from ...workdays import format_moment
from ...workflow.engine import dispute_engine
from . import blueprint, queries
from .actions import ACTIONS, available_actions, offered_now, service
from .auth import current_actor
from .diagram import workflow_svg
from .forms import MAX_ID, has_id_beyond_range, parse_amount, parse_id, parse_version, text
from .timeline import describe

ITEM_ROWS = 5
RESIDENT_CHOICES = 200  # residents listed on the form at once; the rest are found by searching
# Served inline (for thumbnails) only when the stored type is one of these; everything else downloads.
INLINE_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


@blueprint.before_request
def _ids_in_range():
    """An id in a URL too large to name any row is simply not found (the database would refuse it)."""
    if has_id_beyond_range(request.view_args):
        raise NotFound("There is no such record.")


@blueprint.after_request
def _private_pages(response):
    """Staff pages hold residents' details: never framed by another site, never kept in a shared cache."""
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "private, no-store"
    return response


# Dashboard -----------------------------------------------------------------------------------

@blueprint.get("/")
def dashboard():
    company = g.company
    args = request.args
    state = args.get("state", "")
    if state not in ("", "all") and state not in dispute_engine.definition.states:
        state = ""
    try:
        filters = queries.DashboardFilters(
            state=state,
            property_id=parse_id(args.get("property"), field="property", label="a property"),
            manager_id=parse_id(args.get("manager"), field="manager", label="a manager"),
            search=args.get("q", "").strip()[:100],
            page=int(args.get("page", "1")) if args.get("page", "1").isdigit() else 1,
        )
    except InvalidInput:
        filters = queries.DashboardFilters(state=state)
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
    )


# Opening a dispute ---------------------------------------------------------------------------

def _new_dispute_choices(company_id: int, *, search: str = "", chosen_id: str = "") -> dict:
    """The form's lists. Residents come a page at a time: a company with thousands is searched, not scrolled."""
    residents_query = (
        select(Resident, Unit.label, Property.name)
        .outerjoin(Unit, Unit.id == Resident.unit_id)
        .outerjoin(Property, Property.id == Unit.property_id)
        .where(Resident.company_id == company_id)
    )
    if search:
        pattern = f"%{search.lower()}%"
        residents_query = residents_query.where(or_(func.lower(Resident.name).like(pattern),
                                                    func.lower(Resident.email).like(pattern),
                                                    func.lower(Unit.label).like(pattern)))
    residents = db.session.execute(
        residents_query.order_by(Resident.name, Resident.id).limit(RESIDENT_CHOICES + 1)
    ).all()
    more = len(residents) > RESIDENT_CHOICES
    residents = residents[:RESIDENT_CHOICES]
    chosen = int(chosen_id) if chosen_id.isdigit() and int(chosen_id) <= MAX_ID else None
    if chosen is not None and all(row[0].id != chosen for row in residents):
        # A form shown again keeps the resident it had chosen, wherever they fall in the list.
        residents += db.session.execute(residents_query.where(Resident.id == chosen)).all()
    categories = db.session.scalars(
        select(Dispute.category).where(Dispute.company_id == company_id, Dispute.category != "").distinct()
    ).all()
    return {
        "residents": residents,
        "more_residents": more,
        "resident_search": search,
        "properties": queries.properties_of(company_id),
        "managers": [m for m in queries.staff_of(company_id) if m.role == "manager"] or queries.staff_of(company_id),
        "categories": sorted(set(categories) | {"security deposit", "repairs", "noise", "rent and fees",
                                                  "move-out charges", "parking"}),
    }


def _unit_from_form(form, company_id: int) -> Unit | None:
    property_id = parse_id(form.get("property_id"), field="property_id", label="a property")
    label = text(form, "unit_label", limit=40)
    if property_id is None:
        if label:
            raise InvalidInput("Choose the property the unit is in.", field="property_id")
        return None
    prop = db.session.get(Property, property_id)
    if prop is None or prop.company_id != company_id:
        raise InvalidInput("Choose one of your company's properties.", field="property_id")
    if not label:
        raise InvalidInput("Say which unit (for example 4B).", field="unit_label")
    unit = db.session.scalars(select(Unit).where(Unit.property_id == prop.id, Unit.label == label)).first()
    if unit is None:
        unit = Unit(property_id=prop.id, label=label)
        db.session.add(unit)
        db.session.flush()
    return unit


def _resident_from_form(form, company_id: int, unit: Unit | None) -> Resident:
    choice = form.get("resident_choice", "existing")
    if choice == "existing" and not (form.get("resident_id") or "").strip() and (
        text(form, "new_name", limit=200) or text(form, "new_email", limit=254)
    ):
        choice = "new"  # nobody chosen from the list, but a new resident typed in: that is the one meant
    if choice == "existing":
        resident_id = parse_id(form.get("resident_id"), field="resident_id", label="the resident")
        if resident_id is None:
            raise InvalidInput("Choose the resident, or enter a new one.", field="resident_id")
        resident = db.session.get(Resident, resident_id)
        if resident is None or resident.company_id != company_id:
            raise InvalidInput("Choose one of your company's residents.", field="resident_id")
        return resident
    name = text(form, "new_name", limit=200)
    email = text(form, "new_email", limit=254).lower()
    if not name:
        raise InvalidInput("Enter the new resident's name.", field="new_name")
    if not email or "@" not in email or "." not in email.rsplit("@", 1)[-1]:
        raise InvalidInput("Enter the new resident's email address; the invitation goes there.", field="new_email")
    resident = Resident(company_id=company_id, name=name, email=email, phone=text(form, "new_phone", limit=40),
                        unit_id=unit.id if unit is not None else None)
    db.session.add(resident)
    db.session.flush()
    return resident


def _items_from_form(form) -> list[dict]:
    items = []
    for index in range(ITEM_ROWS):
        description = text(form, f"item-{index}-description", limit=300)
        raw_amount = form.get(f"item-{index}-amount", "")
        reason = text(form, f"item-{index}-reason", limit=5000)
        if not (description or raw_amount.strip() or reason):
            continue
        if not description:
            raise InvalidInput(f"Disputed item {index + 1} needs a description.", field=f"item-{index}-description")
        amount = parse_amount(raw_amount, field=f"item-{index}-amount", label=f"The amount for {description!r}")
        items.append({"description": description, "amount_cents": amount or 0, "company_reason": reason})
    return items


@blueprint.route("/disputes/new", methods=["GET", "POST"])
def new_dispute():
    company = g.company
    error = None
    status = 200
    if request.method == "POST":
        form = request.form
        actor = current_actor()
        try:
            unit = _unit_from_form(form, company.id)
            resident = _resident_from_form(form, company.id, unit)
            manager_id = parse_id(form.get("manager_id"), field="manager_id", label="the manager")
            manager = None
            if manager_id is not None:
                manager = next((m for m in queries.staff_of(company.id) if m.id == manager_id), None)
                if manager is None:
                    raise InvalidInput("Choose one of your company's managers.", field="manager_id")
            dispute = create_dispute(
                actor,
                resident=resident,
                unit=unit,
                manager=manager,
                issue=text(form, "issue"),
                what_was_fixed=text(form, "what_was_fixed"),
                company_position=text(form, "company_position"),
                category=text(form, "category", limit=80),
                items=_items_from_form(form),
            )
            is_open = form.get("intent") == "open"
            if is_open:
                open_dispute(actor, dispute)
            db.session.commit()
        except DomainError as refused:
            db.session.rollback()
            error, status = refused, refused.status_code
        else:
            if is_open:
                flash(f"The invitation is on its way to {resident.name} <{resident.email}>. They have until "
                      f"{_moment(dispute.evidence_due_dt)} to send their side.", "success")
            else:
                flash("Saved as a draft. Nothing has been sent yet.", "success")
            return redirect(url_for("manager.dispute_page", dispute_id=dispute.id), 303)
    return render_template("manager/new_dispute.html", form=request.form, error=error, item_rows=ITEM_ROWS,
                           company=company,
                           **_new_dispute_choices(company.id, search=request.args.get("who", "").strip()[:100],
                                                  chosen_id=request.form.get("resident_id", ""))), status


def _moment(value):
    return format_moment(value, g.company) if value else ""


# The dispute page ----------------------------------------------------------------------------

def _windows(dispute: Dispute, events: list[AuditEvent]) -> list[dict]:
    """Every deadline the dispute has had: when it is due, whether it is running, and its extensions."""
    rows = []
    for window in dispute_engine.definition.windows.values():
        due = getattr(dispute, window.due_column)
        if due is None:
            continue
        is_running = dispute.state in window.active_in
        breached = window.name == "reply" and dispute.reply_breached_dt is not None
        extensions = [e for e in events if e.action == "extend" and (e.data or {}).get("window") == window.name]
        rows.append({"name": window.name, "due": due, "is_running": is_running, "breached": breached,
                     "extensions": extensions})
    return rows


def _page_context(dispute: Dispute) -> dict:
    company = dispute.company
    events = list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.dispute_id == dispute.id).order_by(AuditEvent.occurred_dt, AuditEvent.id)
    ))
    submissions = list(db.session.scalars(
        select(Submission).where(Submission.dispute_id == dispute.id)
        .options(selectinload(Submission.files)).order_by(Submission.received_dt, Submission.id)
    ))
    requests = list(db.session.scalars(
        select(ExtensionRequest).where(ExtensionRequest.dispute_id == dispute.id).order_by(ExtensionRequest.id)
    ))
    seats = list(db.session.scalars(
        select(PanelSeat).where(PanelSeat.dispute_id == dispute.id)
        .options(selectinload(PanelSeat.member), selectinload(PanelSeat.vote)).order_by(PanelSeat.id)
    ))
    letters = list(db.session.scalars(
        select(Letter).where(Letter.dispute_id == dispute.id).order_by(Letter.version.desc())
    ))
    tasks = list(db.session.scalars(select(Task).where(Task.dispute_id == dispute.id).order_by(Task.id)))
    roster = list(db.session.scalars(
        select(PanelMember).where(PanelMember.company_id == company.id, PanelMember.is_active.is_(True))
        .order_by(PanelMember.is_reserve, PanelMember.name)
    ))
    emails = db.session.execute(
        select(OutboxEmail.created_dt, OutboxEmail.to_name, OutboxEmail.to_addr, OutboxEmail.subject,
               OutboxEmail.status, OutboxEmail.sent_dt, OutboxEmail.attempts, OutboxEmail.last_error)
        .where(OutboxEmail.dispute_id == dispute.id).order_by(OutboxEmail.created_dt, OutboxEmail.id)
    ).all()
    # Whether the resident has opened their links: a manager wondering "did they see it?" can tell.
    link_visits = db.session.execute(
        select(AccessLink.purpose, func.count(LinkUse.id), func.max(LinkUse.used_dt))
        .join(LinkUse, LinkUse.link_id == AccessLink.id)
        .where(AccessLink.dispute_id == dispute.id, AccessLink.resident_id.is_not(None), LinkUse.outcome == "ok",
               LinkUse.method == "GET")
        .group_by(AccessLink.purpose)
    ).all()
    allowed = dispute_engine.allowed(dispute)
    actions = available_actions(dispute, allowed=allowed, requests=requests, seats=seats, letters=letters,
                                tasks=tasks)
    return {
        "dispute": dispute,
        "company": company,
        "events": [(event, describe(event, company, dispute.decision)) for event in events],
        "submissions": submissions,
        "requests": requests,
        "pending_request": next((r for r in requests if r.status == "pending"), None),
        "seats": seats,
        "letters": letters,
        "tasks": tasks,
        "emails": emails,
        "link_visits": {purpose: (count, last) for purpose, count, last in link_visits},
        "roster": roster,
        "windows": _windows(dispute, events),
        "allowed": allowed,
        "actions": actions,
        "panel_progress": _panel_progress(dispute, seats),
        "proposal": _proposal(dispute, actions),
        "diagram": workflow_svg(dispute.state, allowed),
        "inline_types": INLINE_IMAGE_TYPES,
    }


def _panel_progress(dispute: Dispute, seats: list[PanelSeat]):
    progress = service("panel", "panel_progress")
    if progress is not None and seats:
        try:
            return progress(dispute)
        except (DomainError, TypeError):
            return None
    return None


def _proposal(dispute: Dispute, actions: dict) -> dict:
    """Who the panel helper suggests for the team, and any conflicts it sees, for the seat form."""
    proposal = {}
    if "replace_seat" in actions:
        replacement = service("panel", "propose_replacement")
        found = replacement(dispute) if replacement is not None else None
        proposal["replacement"] = found.id if found is not None else None
    if "seat_panel" not in actions:
        return proposal
    propose = service("panel", "propose_panel")
    conflicts_for = service("panel", "conflicts_for")
    try:
        if propose is not None:
            proposed = propose(dispute)
            proposal["ids"] = {getattr(m, "id", m) for m in proposed}
        if conflicts_for is not None:
            proposal["conflicts"] = conflicts_for(dispute)
    except (DomainError, TypeError):
        pass
    return proposal


@blueprint.get("/disputes/<int:dispute_id>")
def dispute_page(dispute_id: int):
    dispute = dispute_for(current_actor(), dispute_id)
    return render_template("manager/dispute.html", **_page_context(dispute))


@blueprint.post("/disputes/<int:dispute_id>/actions/<name>")
def dispute_action(dispute_id: int, name: str):
    actor = current_actor()
    dispute = dispute_for(actor, dispute_id)
    action = ACTIONS.get(name)
    if action is None:
        raise NotFound(f"There is no action called {name!r}.")
    try:
        # A stale form is told so first, whatever it asked for.
        check_version(dispute, parse_version(request.form.get("expected_version")))
        if name not in offered_now(dispute):
            raise WrongState(f"“{action.label}” is not possible for a dispute that is {dispute.state_label}. "
                             "Reload the page to see what you can do now.")
        message = action.run(actor, dispute, request.form)
        db.session.commit()
    except DomainError as refused:
        db.session.rollback()
        dispute = dispute_for(actor, dispute_id)
        return render_template("manager/dispute.html", error=refused, **_page_context(dispute)), refused.status_code
    flash(message, "success")
    return redirect(url_for("manager.dispute_page", dispute_id=dispute.id), 303)


# Files: evidence and letters, to the company's own staff only ----------------------------------

def _no_sniff(response, *, inline: bool):
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    if not inline:
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blueprint.get("/disputes/<int:dispute_id>/files/<int:file_id>")
def evidence_file(dispute_id: int, file_id: int):
    dispute = dispute_for(current_actor(), dispute_id)
    stored = db.session.scalars(
        select(EvidenceFile).where(EvidenceFile.id == file_id, EvidenceFile.dispute_id == dispute.id)
    ).first()
    if stored is None:
        raise NotFound("That file is not part of this dispute.")
    path = path_for(stored.sha256)
    if not path.exists():
        abort(410, "The file is missing from storage.")
    inline = stored.content_type in INLINE_IMAGE_TYPES and request.args.get("download") != "1"
    # Evidence is size-capped per company, so the bytes are read whole: no file handle outlives the request.
    response = send_file(io.BytesIO(path.read_bytes()),
                         mimetype=stored.content_type if inline else "application/octet-stream",
                         as_attachment=not inline, download_name=stored.original_name, conditional=True,
                         etag=stored.sha256)
    return _no_sniff(response, inline=inline)


@blueprint.get("/disputes/<int:dispute_id>/letters/<int:letter_id>.pdf")
def letter_pdf(dispute_id: int, letter_id: int):
    dispute = dispute_for(current_actor(), dispute_id)
    letter = db.session.scalars(select(Letter).where(Letter.id == letter_id, Letter.dispute_id == dispute.id)).first()
    if letter is None or not letter.pdf_sha256:
        raise NotFound("That letter has no PDF yet.")
    path = path_for(letter.pdf_sha256)
    if not path.exists():
        abort(410, "The letter's PDF is missing from storage.")
    response = send_file(io.BytesIO(path.read_bytes()), mimetype="application/pdf", as_attachment=True,
                         download_name=f"dispute-{dispute.id}-letter-v{letter.version}.pdf", etag=letter.pdf_sha256)
    return _no_sniff(response, inline=False)


@blueprint.get("/disputes/<int:dispute_id>/tasks/<int:task_id>.ics")
def task_calendar(dispute_id: int, task_id: int):
    """The calendar reminder made with a follow-up task (the same one its email carried)."""
    dispute = dispute_for(current_actor(), dispute_id)
    task = db.session.scalars(select(Task).where(Task.id == task_id, Task.dispute_id == dispute.id)).first()
    sha256 = (task.detail or {}).get("ics_sha256") if task is not None else None
    if not sha256:
        raise NotFound("That task has no calendar reminder.")
    path = path_for(sha256)
    if not path.exists():
        abort(410, "The reminder is missing from storage.")
    response = send_file(io.BytesIO(path.read_bytes()), mimetype="text/calendar", as_attachment=True,
                         download_name=f"dispute-{dispute.id}-task-{task.id}.ics", etag=sha256)
    return _no_sniff(response, inline=False)


from . import reports, settings  # noqa: E402,F401  (more routes)
