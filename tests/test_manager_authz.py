"""Who may reach what: every endpoint in ``app.url_map`` × every role × its own company and another.

``MATRIX`` names, for each endpoint, who it is for. An endpoint added without an entry fails
``test_every_endpoint_has_its_place_in_the_matrix``, so nobody ships a page without deciding who may
see it. Roles: nobody signed in; a manager and a supervisor of company A (whose rows every URL names);
a manager and a supervisor of company B; a member of A's staff whose account was switched off; and,
for the API, no key, a made-up key, a revoked key, A's key and B's key.

Expectations:
- nobody signed in: staff pages go to the sign-in page; the API answers 401 without a valid key;
- staff of the company: pages answer; a supervisor-only change answers 403 to a manager;
- staff of another company: anything naming the first company's rows is "not found", lists show
  none of its rows, and nothing of the first company changes whatever they post;
- residents' and team members' pages open only with their own link: no staff session opens them,
  and a link reaches only the files of its own dispute.
"""
from __future__ import annotations

import json
import uuid
from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from resolver import clock
from resolver.actors import Actor
from resolver.extensions import db
from resolver.files import store_bytes
from resolver.links import issue_link, token_for
from resolver.mailcatcher import mailbox_folder, store_message
from resolver.models import (
    ApiKey, Company, Dispute, EvidenceFile, InboundMail, LadderRequest, Letter, OutboxEmail, PanelMember, Property, Resident, StaffUser,
    Submission, Task, Unit,
)
from resolver.services import evidence
from resolver.web.manager import import_uploads
from resolver.web.api.keys import create_api_key, revoke_api_key

from .fixtures_manager import PASSWORD, csrf_from, give_password, sign_in

# Who each endpoint is for.
PUBLIC = "anyone"                      # the sign-in page, the API's description, health, static files
SIGN_OUT = "signed-in staff: sign out"
STAFF = "the company's staff"          # names no row: answers with the staff member's own company
STAFF_ROW = "the company's staff, for a row of their company"
SUPERVISOR = "the company's supervisors"
SUPERVISOR_ROW = "the company's supervisors, for a row of their company"
API = "a company API key"
API_ROW = "a company API key, for a row of its company"
LINK = "the holder of an emailed link"  # residents and team members: no account, no session
PASSWORD_HELP = "anyone: asking for a link to choose a password"  # the same answer, known address or not
PASSWORD_LINK = "the holder of an emailed set-password link"  # staff who have no password (yet)

MATRIX = {
    "static": PUBLIC,
    "health.healthz": PUBLIC,
    "manager.login": PUBLIC,
    "manager.forgot_password": PASSWORD_HELP,
    "manager.choose_password": PASSWORD_LINK,
    "api.openapi": PUBLIC,
    "api.docs": PUBLIC,
    "manager.logout": SIGN_OUT,
    "manager.dashboard": STAFF,
    "manager.new_dispute": STAFF,
    "manager.reports": STAFF,
    "manager.report_csv": STAFF,
    "manager.settings": STAFF,
    "manager.portfolio_import": STAFF,
    "manager.portfolio_export": STAFF,
    "manager.portfolio_import_preview": STAFF_ROW,
    "manager.portfolio_import_confirm": STAFF_ROW,
    "manager.dispute_page": STAFF_ROW,
    "manager.dispute_action": STAFF_ROW,
    "manager.record_call_page": STAFF_ROW,
    "manager.record_call": STAFF_ROW,
    "manager.evidence_file": STAFF_ROW,
    "manager.add_company_files": STAFF_ROW,
    "manager.remove_company_file": STAFF_ROW,
    "manager.letter_pdf": STAFF_ROW,
    "manager.task_calendar": STAFF_ROW,
    "manager.answer_ladder_request": STAFF_ROW,
    "manager.record_paper_submission": STAFF_ROW,
    "manager.paper_receipt": STAFF_ROW,
    "manager.properties": STAFF,
    "manager.new_property": STAFF,
    "manager.property_page": STAFF_ROW,
    "manager.edit_property": STAFF_ROW,
    "manager.archive_property": STAFF_ROW,
    "manager.restore_property": STAFF_ROW,
    "manager.add_unit": STAFF_ROW,
    "manager.rename_unit": STAFF_ROW,
    "manager.archive_unit": STAFF_ROW,
    "manager.restore_unit": STAFF_ROW,
    "manager.residents": STAFF,
    "manager.new_resident": STAFF,
    "manager.resident_page": STAFF_ROW,
    "manager.edit_resident": STAFF_ROW,
    "manager.archive_resident": STAFF_ROW,
    "manager.restore_resident": STAFF_ROW,
    "manager.export_resident": STAFF_ROW,
    "manager.resident_erasure": STAFF_ROW,
    "manager.erase_resident": SUPERVISOR_ROW,
    "manager.settings_company": SUPERVISOR,
    "manager.settings_roster_add": SUPERVISOR,
    "manager.settings_staff_add": SUPERVISOR,
    "manager.settings_api_key_add": SUPERVISOR,
    "manager.settings_category_add": SUPERVISOR,
    # A category's key names the company's own wording of it (every company has a "noise"), not a row.
    "manager.settings_category_update": SUPERVISOR,
    "manager.settings_roster_update": SUPERVISOR_ROW,
    "manager.settings_staff_update": SUPERVISOR_ROW,
    "manager.settings_api_key_revoke": SUPERVISOR_ROW,
    "manager.unmatched_mail": STAFF,
    "manager.attach_mail": STAFF_ROW,
    "manager.dismiss_mail": STAFF_ROW,
    "mailbox.inbox": STAFF,
    "mailbox.message": STAFF_ROW,
    "mailbox.message_html": STAFF_ROW,
    "mailbox.attachment": STAFF_ROW,
    "mailbox.original": STAFF_ROW,
    "api.list_disputes": API,
    "api.create": API,
    "api.get_dispute": API_ROW,
    "api.list_properties": API,
    "api.create_property": API,
    "api.get_property": API_ROW,
    "api.update_property": API_ROW,
    "api.archive_property": API_ROW,
    "api.restore_property": API_ROW,
    "api.list_units": API_ROW,
    "api.create_unit": API_ROW,
    "api.get_unit": API_ROW,
    "api.update_unit": API_ROW,
    "api.archive_unit": API_ROW,
    "api.restore_unit": API_ROW,
    "api.list_residents": API,
    "api.list_categories": API,
    "api.create_resident": API,
    "api.get_resident": API_ROW,
    "api.update_resident": API_ROW,
    "api.archive_resident": API_ROW,
    "api.restore_resident": API_ROW,
    "resident.evidence_form": LINK,
    "resident.send_evidence": LINK,
    "resident.evidence_status": LINK,
    "resident.evidence_receipt": LINK,
    "resident.evidence_file": LINK,
    "resident.ask_more_time": LINK,
    "resident.evidence_language": LINK,
    "resident.outcome_page": LINK,
    "resident.outcome_pdf": LINK,
    "resident.confirm_receipt": LINK,
    "resident.answer_offer": LINK,
    "resident.ask_for_mediation": LINK,
    "resident.ask_supervisor": LINK,
    "resident.outcome_language": LINK,
    "panel.vote_page": LINK,
    "panel.cast_vote": LINK,
    "panel.step_aside": LINK,
    "panel.decide": LINK,
    "panel.evidence_file": LINK,
}
STAFF_KINDS = {SIGN_OUT, STAFF, STAFF_ROW, SUPERVISOR, SUPERVISOR_ROW}
ROW_KINDS = {STAFF_ROW, SUPERVISOR_ROW, API_ROW}
SECRET = "Tamsin Zebedee-Quill"  # company A's resident: must never appear to company B
NOT_A_LINK = "not-a-real-link"


def kind_of(rule) -> str:
    return MATRIX[rule.endpoint]


def rules_of(app, *kinds):
    return [rule for rule in app.url_map.iter_rules() if MATRIX.get(rule.endpoint) in kinds]


def methods_of(rule) -> list[str]:
    return sorted(m for m in rule.methods if m not in ("HEAD", "OPTIONS"))


def is_supervisor_only(app, endpoint: str) -> bool:
    return getattr(app.view_functions[endpoint], "is_supervisor_only", False)


def caught_email(company_id: int) -> str:
    """An email Resolver sent for company A and caught, with an attachment, as the mailbox keeps it:
    the outbox row whose Message-ID it carries says whose it is."""
    sent = OutboxEmail(company_id=company_id, template="test_note", message_id=f"<{uuid.uuid4().hex}@resolver.test>",
                       to_addr="tamsin@mail.test", subject="Please send your side", body_text="Hello",
                       status="sent", sent_dt=clock.now_utc(), next_attempt_dt=clock.now_utc())
    db.session.add(sent)
    db.session.commit()
    message = EmailMessage()
    message["Subject"] = f"Please send your side, {SECRET}"
    message["From"] = "Resolver <resolver@localhost>"
    message["To"] = "tamsin@mail.test"
    message["Message-ID"] = sent.message_id
    message.set_content(f"Hello {SECRET}, http://resolver.test/r/e/tok3n")
    message.add_alternative(f"<p>Hello {SECRET}</p>", subtype="html")
    message.add_attachment(b"%PDF-1.4 letter", maintype="application", subtype="pdf", filename="Letter.pdf")
    return store_message(mailbox_folder(), bytes(message))


def _with_evidence(actor_resident, dispute, body: bytes) -> None:
    sha = store_bytes(body)
    evidence.submit_evidence(
        Actor.resident(actor_resident), dispute, form_key=uuid.uuid4().hex, details="Here it is.",
        suggested_resolution="",
        files=[{"original_name": "a.pdf", "content_type": "application/pdf", "size_bytes": len(body), "sha256": sha}],
    )


@pytest.fixture
def world(app, make_company, make_staff, make_resident, make_panel):
    """Company A with a dispute carrying evidence, a letter and caught mail; company B with its own."""
    a, b = make_company(name="Aspen Property Co"), make_company(name="Birch Homes")
    people = {
        "manager_a": make_staff(a, "manager"), "supervisor_a": make_staff(a, "supervisor"),
        "manager_b": make_staff(b, "manager"), "supervisor_b": make_staff(b, "supervisor"),
        "switched_off_a": make_staff(a, "manager", name="Former Manager"),
    }
    colleague = make_staff(a, "manager", name="Colleague A")
    resident = make_resident(a, name=SECRET)
    bram = make_resident(b, name="Bram Birch")
    from resolver.services import disputes

    staff = Actor.staff(people["manager_a"])
    dispute = disputes.create_dispute(staff, resident=resident, issue=f"{SECRET}'s hallway light.")
    disputes.open_dispute(staff, dispute)
    _with_evidence(resident, dispute, b"%PDF-1.4 evidence")
    theirs = disputes.create_dispute(Actor.staff(people["manager_b"]), resident=bram, issue="Birch's fence.")
    disputes.open_dispute(Actor.staff(people["manager_b"]), theirs)
    _with_evidence(bram, theirs, b"%PDF-1.4 Birch evidence")
    letter = Letter(dispute_id=dispute.id, version=1, status="draft", subject="Your dispute", body_text="Dear...",
                    pdf_sha256=store_bytes(b"%PDF-1.4 letter"))
    db.session.add(letter)
    task = Task(dispute_id=dispute.id, assignee_id=people["manager_a"].id, kind="review", title="Call Tamsin",
                detail={"ics_sha256": store_bytes(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")})
    db.session.add(task)
    db.session.flush()
    ladder_request = LadderRequest(letter_id=letter.id, dispute_id=dispute.id, task_id=task.id,
                                   due_dt=clock.now_utc() + timedelta(days=3))
    db.session.add(ladder_request)
    member = make_panel(a, size=1)[0]
    key_a, raw_a = create_api_key(people["supervisor_a"], name="A sync", acting_user=people["manager_a"])
    spare, _ = create_api_key(people["supervisor_a"], name="A spare", acting_user=people["manager_a"])
    _, raw_b = create_api_key(people["supervisor_b"], name="B sync", acting_user=people["manager_b"])
    revoked, raw_revoked = create_api_key(people["supervisor_a"], name="A old", acting_user=people["manager_a"])
    revoke_api_key(people["supervisor_a"], revoked)
    link = issue_link(dispute, "evidence", resident=resident, expires_dt=clock.now_utc() + timedelta(days=30))
    for user in people.values():
        give_password(user)
    unmatched = InboundMail(key=uuid.uuid4().hex, via="imap", outcome="unmatched", reason="window closed",
                            from_addr="tamsin@mail.test", subject="Re: my side", company_id=a.id, dispute_id=dispute.id,
                            text=f"{SECRET} writes: the light was broken.", attachments=[],
                            raw_sha256=store_bytes(f"Subject: Re: my side\n\n{SECRET}".encode()))
    db.session.add(unmatched)
    upload = import_uploads.keep(f"Property,Unit,Tenant\nAspen Court,1A,{SECRET}\n".encode(), "a.csv", a.id)
    db.session.commit()
    files = {f.dispute_id: f for f in db.session.scalars(select(EvidenceFile))}
    return {
        "a": a, "b": b, "people": people, "dispute": dispute, "theirs": theirs, "letter": letter,
        "member": member, "colleague": colleague, "spare_key": spare, "task": task, "ladder_request": ladder_request,
        "keys": {"a": raw_a, "b": raw_b, "revoked": raw_revoked},
        "file": files[dispute.id], "their_file": files[theirs.id],
        "submission": db.session.scalars(select(Submission).where(Submission.dispute_id == dispute.id)).first(),
        "message_id": caught_email(a.id), "resident_token": token_for(link), "upload": upload,
        "home": resident.unit, "unmatched": unmatched,
    }


def url_values(world) -> dict:
    """What each URL parameter is filled with: always company A's rows (and a link nobody was sent)."""
    return {
        "dispute_id": world["dispute"].id,
        "file_id": world["file"].id,
        "letter_id": world["letter"].id,
        "task_id": world["task"].id,
        "request_id": world["ladder_request"].id,
        "name": "withdraw",
        "key": "noise",
        "member_id": world["member"].id,
        "user_id": world["colleague"].id,
        "key_id": world["spare_key"].id,
        "slug": "by-month",
        "message_id": world["message_id"],
        "index": 0,
        "token": NOT_A_LINK,
        "submission_id": world["submission"].id,
        "filename": "resolver.css",
        "upload": world["upload"],
        "property_id": world["home"].property_id,
        "unit_id": world["home"].id,
        "resident_id": world["dispute"].resident_id,
        "mail_id": world["unmatched"].id,
    }


def build(rule, values) -> str:
    return rule.build({name: values[name] for name in rule.arguments})[1]


def snapshot_of_a(world) -> str:
    """Everything of company A a stranger could try to change."""
    db.session.expire_all()
    a = db.session.get(Company, world["a"].id)
    rows = {
        "company": {c.key: str(getattr(a, c.key)) for c in Company.__table__.columns},
        "disputes": [(d.id, d.state, d.version, d.evidence_due_dt and d.evidence_due_dt.isoformat(), d.manager_id)
                     for d in db.session.scalars(select(Dispute).where(Dispute.company_id == a.id))],
        "staff": [(s.id, s.role, s.is_active, s.password_hash)
                  for s in db.session.scalars(select(StaffUser).where(StaffUser.company_id == a.id))],
        "roster": [(m.id, m.is_active, m.is_reserve)
                   for m in db.session.scalars(select(PanelMember).where(PanelMember.company_id == a.id))],
        "keys": [(k.id, str(k.revoked_dt)) for k in db.session.scalars(select(ApiKey).where(ApiKey.company_id == a.id))],
        "letters": [(x.id, x.status, x.body_text) for x in db.session.scalars(select(Letter))],
        "submissions": [x.id for x in db.session.scalars(select(Submission))],
        "unmatched mail": [(m.id, m.outcome) for m in db.session.scalars(select(InboundMail))],
        "properties": [(p.id, p.name, p.address, p.external_id, str(p.archived_dt))
                       for p in db.session.scalars(select(Property).where(Property.company_id == a.id))],
        "units": [(u.id, u.property_id, u.label, str(u.archived_dt)) for u in db.session.scalars(
            select(Unit).join(Property, Property.id == Unit.property_id).where(Property.company_id == a.id))],
        "residents": [(r.id, r.name, r.email, r.unit_id, str(r.archived_dt))
                      for r in db.session.scalars(select(Resident).where(Resident.company_id == a.id))],
    }
    return json.dumps(rows, sort_keys=True, default=str)


# A form that would change something if the request were let through.
HARMFUL_FORM = {
    "expected_version": "2", "reason": "Taken over", "change": "deactivate", "role": "manager",
    "password": "hijacked password", "window": "reply", "new_due": "2026-04-30", "name": "Hijack",
    "email": "hijack@evil.test", "evidence_window_days": "1", "reply_window_days": "1", "panel_window_days": "1",
    "follow_up_days": "1", "offer_valid_days": "1", "time_zone": "UTC", "panel_size": "1", "token_cap": "0",
    "concession_cap": "0", "acting_user_id": "1", "issue": "Hijacked", "resident_choice": "existing",
    "details": "Hijacked side", "vote": "resident", "answer": "accepted",
}


def signed_in(app, user):
    client = app.test_client()
    assert sign_in(client, user.email, PASSWORD).status_code == 302
    return client


def staff_token(client) -> str:
    return csrf_from(client.get("/disputes/new").get_data(as_text=True))


def test_every_endpoint_has_its_place_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert not endpoints - set(MATRIX), f"say who may reach these in MATRIX: {sorted(endpoints - set(MATRIX))}"
    assert not set(MATRIX) - endpoints, f"no longer served, remove from MATRIX: {sorted(set(MATRIX) - endpoints)}"
    wrongly_marked = [endpoint for endpoint, kind in MATRIX.items()
                      if is_supervisor_only(app, endpoint) != (kind in (SUPERVISOR, SUPERVISOR_ROW))]
    assert not wrongly_marked, f"supervisor_required and MATRIX disagree: {wrongly_marked}"


def test_the_matrix_knows_every_url_parameter(app, world):
    values = url_values(world)
    unknown = {f"{rule.endpoint}: {name}" for rule in app.url_map.iter_rules() for name in rule.arguments
               if name not in values}
    assert not unknown, f"add these to url_values(): {sorted(unknown)}"


def test_nobody_signed_in_reaches_only_public_pages(app, world):
    values = url_values(world)
    before = snapshot_of_a(world)
    problems = []
    for rule in app.url_map.iter_rules():
        url = build(rule, values)
        kind = kind_of(rule)
        for method in methods_of(rule):
            client = app.test_client()
            data = None
            if method == "POST":
                data = {**HARMFUL_FORM, "csrf_token": csrf_from(client.get("/login").get_data(as_text=True))}
            response = client.open(url, method=method, data=data)
            response.close()  # a static file is streamed from disk
            if kind == PUBLIC:
                ok = response.status_code == 200 if method == "GET" else response.status_code == 401
            elif kind in (API, API_ROW):
                ok = response.status_code == 401 and response.is_json
            elif kind == LINK:
                ok = response.status_code == 404
            elif kind == PASSWORD_HELP:
                ok = response.status_code == 200
            elif kind == PASSWORD_LINK:
                ok = response.status_code == 404 and "not one we sent" in response.get_data(as_text=True)
            else:
                ok = response.status_code == 302 and response.headers["Location"].startswith("/login")
            if not ok:
                problems.append(f"{method} {url} ({kind}) -> {response.status_code}")
    assert not problems, problems
    assert snapshot_of_a(world) == before


def test_a_switched_off_account_reaches_nothing_it_could_before(app, world):
    user = world["people"]["switched_off_a"]
    client = signed_in(app, user)
    token = staff_token(client)
    user.is_active = False
    db.session.commit()
    values = url_values(world)
    problems = []
    for rule in rules_of(app, *STAFF_KINDS):
        for method in methods_of(rule):
            response = client.open(build(rule, values), method=method, data={**HARMFUL_FORM, "csrf_token": token}
                                   if method == "POST" else None)
            if not (response.status_code == 302 and response.headers["Location"].startswith("/login")):
                problems.append(f"{method} {rule.rule} -> {response.status_code}")
    assert not problems, problems


def test_a_form_without_its_csrf_token_is_refused(app, world):
    values = url_values(world)
    problems = []
    staff = signed_in(app, world["people"]["supervisor_a"])
    before = snapshot_of_a(world)
    posts = [rule for rule in app.url_map.iter_rules() if "POST" in rule.methods and kind_of(rule) not in (API, API_ROW)]
    for rule in posts:
        response = staff.post(build(rule, {**values, "token": world["resident_token"]}), data=HARMFUL_FORM)
        # A team member's page checks the link first, so a link of another purpose is refused before the form.
        if response.status_code != 400 and not (rule.endpoint.startswith("panel.") and response.status_code == 403):
            problems.append(f"POST {rule.rule} -> {response.status_code}")
    assert not problems, problems
    assert snapshot_of_a(world) == before
    assert {r.endpoint for r in posts} >= {"resident.send_evidence", "panel.cast_vote", "manager.login"}


@pytest.mark.parametrize("role", ["manager_a", "supervisor_a"])
def test_the_companys_own_staff_reach_every_staff_page(app, world, role):
    """GETs answer 200; POSTs (with an empty form) get past the door: refused only for the input,
    or, for a manager, for a supervisor's change."""
    values = url_values(world)
    user = world["people"][role]
    client = signed_in(app, user)
    token = staff_token(client)
    problems = []
    for rule in rules_of(app, *STAFF_KINDS):
        url = build(rule, values)
        kind = kind_of(rule)
        for method in methods_of(rule):
            if method == "GET":
                response = client.get(url)
                if response.status_code != 200:
                    problems.append(f"GET {url} -> {response.status_code}")
                continue
            response = client.post(url, data={"csrf_token": token})
            if kind == SIGN_OUT:
                ok = response.status_code == 302
                client = signed_in(app, user)
                token = staff_token(client)
            elif kind in (SUPERVISOR, SUPERVISOR_ROW) and role.startswith("manager"):
                ok = response.status_code == 403
            else:
                ok = response.status_code not in (302, 401, 403, 404, 500)
            if not ok:
                problems.append(f"POST {url} as {role} -> {response.status_code}")
    assert not problems, problems


@pytest.mark.parametrize("role", ["manager_a", "supervisor_a", "manager_b"])
def test_a_staff_session_opens_no_residents_or_team_members_page(app, world, role):
    """Those pages open with the person's own link only; being signed in as staff adds nothing."""
    values = url_values(world)
    client = signed_in(app, world["people"][role])
    token = staff_token(client)
    problems = []
    for rule in rules_of(app, LINK):
        url = build(rule, values)
        for method in methods_of(rule):
            response = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
            if response.status_code != 404 or SECRET in response.get_data(as_text=True):
                problems.append(f"{method} {url} -> {response.status_code}")
    assert not problems, problems


def test_a_link_reaches_only_the_files_of_its_own_dispute(app, world, client):
    own = client.get(f"/r/e/{world['resident_token']}/files/{world['file'].id}")
    assert own.status_code == 200 and own.data == b"%PDF-1.4 evidence"
    own.close()  # the file is streamed from storage
    assert client.get(f"/r/e/{world['resident_token']}/files/{world['their_file'].id}").status_code == 404


def test_staff_reach_only_files_of_the_dispute_the_url_names(app, world):
    staff = signed_in(app, world["people"]["manager_a"])
    dispute = world["dispute"].id
    assert staff.get(f"/disputes/{dispute}/files/{world['file'].id}").status_code == 200
    assert staff.get(f"/disputes/{dispute}/files/{world['their_file'].id}").status_code == 404
    letter = world["letter"].id
    assert staff.get(f"/disputes/{world['theirs'].id}/letters/{letter}.pdf").status_code == 404


@pytest.mark.parametrize("role", ["manager_b", "supervisor_b"])
def test_another_companys_staff_find_nothing_and_change_nothing(app, world, role):
    values = url_values(world)
    user = world["people"][role]
    client = signed_in(app, user)
    token = staff_token(client)
    before = snapshot_of_a(world)
    problems = []
    for rule in rules_of(app, STAFF, STAFF_ROW, SUPERVISOR, SUPERVISOR_ROW):
        url = build(rule, values)
        kind = kind_of(rule)
        for method in methods_of(rule):
            if method == "GET":
                response = client.get(url)
                body = response.get_data(as_text=True)
                if kind in ROW_KINDS:
                    ok = response.status_code == 404
                else:
                    ok = response.status_code == 200 and SECRET not in body and "Aspen Property Co" not in body
            else:
                form = {**HARMFUL_FORM, "csrf_token": token, "resident_id": str(world["dispute"].resident_id),
                        "member_ids": str(world["member"].id), "acting_user_id": str(world["people"]["manager_a"].id),
                        "property_id": str(world["home"].property_id), "unit_label": "9Z"}
                response = client.post(url, data=form)
                if kind in (SUPERVISOR, SUPERVISOR_ROW) and role.startswith("manager"):
                    ok = response.status_code == 403  # refused for the role before any row is looked up
                elif kind in ROW_KINDS:
                    ok = response.status_code == 404
                else:  # acts on their own company: must not reach A's rows through the form
                    ok = response.status_code in (303, 200, 422) and SECRET not in response.get_data(as_text=True)
            if not ok:
                problems.append(f"{method} {url} as {role} -> {response.status_code}")
    assert not problems, problems
    assert snapshot_of_a(world) == before


@pytest.mark.parametrize("holder", ["none", "garbage", "revoked", "a", "b"])
def test_the_api_by_key(app, world, holder):
    values = url_values(world)
    headers = {
        "none": {},
        "garbage": {"Authorization": "Bearer rsv_notarealkeyatall"},
        "revoked": {"Authorization": f"Bearer {world['keys']['revoked']}"},
        "a": {"Authorization": f"Bearer {world['keys']['a']}"},
        "b": {"Authorization": f"Bearer {world['keys']['b']}"},
    }[holder]
    client = app.test_client()
    before = snapshot_of_a(world)
    problems = []
    for rule in [r for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")]:
        url = build(rule, values)
        kind = kind_of(rule)
        for method in methods_of(rule):
            # Names company A's rows wherever a body can; a new row's name and label differ from a change's.
            body = {"resident": {"id": world["dispute"].resident_id}, "issue": "Hijack", "open": False,
                    "property_id": world["home"].property_id, "unit": "9Z",
                    **({"name": "Hijack", "label": "9Z"} if method == "POST" else {"name": "Hijacked", "label": "9Y"})}
            response = client.open(url, method=method, headers=headers, json=body if method in ("POST", "PATCH") else None)
            text = response.get_data(as_text=True)
            if kind == PUBLIC:
                ok = response.status_code == 200
            elif holder in ("none", "garbage", "revoked"):
                ok = response.status_code == 401 and response.is_json
            elif holder == "b":
                if kind == API_ROW or url.endswith("/disputes") and method == "POST":
                    ok = response.status_code in (404, 422)
                elif method == "POST":  # adds to its own company, never to A's property
                    ok = response.status_code in (201, 422) and SECRET not in text
                else:
                    ok = response.status_code == 200 and SECRET not in text
            else:
                ok = response.status_code in (200, 201)
            if not ok:
                problems.append(f"{method} {url} with key {holder} -> {response.status_code} {text[:200]}")
    assert not problems, problems
    if holder != "a":
        assert snapshot_of_a(world) == before


def test_a_staff_session_alone_opens_no_api_endpoint(app, world):
    client = signed_in(app, world["people"]["supervisor_a"])
    values = url_values(world)
    for rule in rules_of(app, API, API_ROW):
        for method in methods_of(rule):
            response = client.open(build(rule, values), method=method, json={"issue": "x"} if method == "POST" else None)
            assert response.status_code == 401 and response.is_json, f"{method} {rule.rule}"
