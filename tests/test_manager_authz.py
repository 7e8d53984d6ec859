"""Who may reach what: every staff and API endpoint in ``app.url_map``, for every role, in its own
company and in another. New endpoints join the matrix by themselves; one whose URL needs a value
the matrix does not know fails ``test_the_matrix_knows_every_url_parameter`` until it is added.

Expectations:
- nobody signed in: staff pages go to the sign-in page; the API answers 401 without a valid key;
- staff of the company: pages answer; a supervisor-only change answers 403 to a manager;
- staff of another company: anything naming the first company's rows is "not found", lists show
  none of its rows, and nothing of the first company changes whatever they post.
"""
from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from resolver.actors import Actor
from resolver.extensions import db
from resolver.files import store_bytes
from resolver.models import (
    ApiKey, Company, Dispute, EvidenceFile, Letter, PanelMember, StaffUser,
)
from resolver.services import evidence
from resolver.web.api.keys import create_api_key, revoke_api_key

from .fixtures_manager import PASSWORD, csrf_from, give_password, sign_in

AUDIENCES = ("manager", "api")
PUBLIC = {"manager.login", "api.openapi", "api.docs"}
SECRET = "Tamsin Zebedee-Quill"  # company A's resident: must never appear to company B


def staff_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint.split(".")[0] in AUDIENCES]


def methods_of(rule) -> list[str]:
    return sorted(m for m in rule.methods if m not in ("HEAD", "OPTIONS"))


def is_supervisor_only(app, endpoint: str) -> bool:
    return getattr(app.view_functions[endpoint], "is_supervisor_only", False)


@pytest.fixture
def world(app, make_company, make_staff, make_resident, make_panel):
    """Company A with a dispute carrying evidence and a letter, and company B with its own staff."""
    a, b = make_company(name="Aspen Property Co"), make_company(name="Birch Homes")
    people = {
        "manager_a": make_staff(a, "manager"), "supervisor_a": make_staff(a, "supervisor"),
        "manager_b": make_staff(b, "manager"), "supervisor_b": make_staff(b, "supervisor"),
    }
    colleague = make_staff(a, "manager", name="Colleague A")
    resident = make_resident(a, name=SECRET)
    make_resident(b, name="Bram Birch")
    staff = Actor.staff(people["manager_a"])
    from resolver.services import disputes

    dispute = disputes.create_dispute(staff, resident=resident, issue=f"{SECRET}'s hallway light.")
    disputes.open_dispute(staff, dispute)
    sha = store_bytes(b"%PDF-1.4 evidence")
    evidence.submit_evidence(
        Actor.resident(resident), dispute, form_key=uuid.uuid4().hex, details="Here it is.", suggested_resolution="",
        files=[{"original_name": "a.pdf", "content_type": "application/pdf", "size_bytes": 17, "sha256": sha}],
    )
    letter = Letter(dispute_id=dispute.id, version=1, status="draft", subject="Your dispute", body_text="Dear...",
                    pdf_sha256=store_bytes(b"%PDF-1.4 letter"))
    db.session.add(letter)
    member = make_panel(a, size=1)[0]
    key_a, raw_a = create_api_key(people["supervisor_a"], name="A sync", acting_user=people["manager_a"])
    spare, _ = create_api_key(people["supervisor_a"], name="A spare", acting_user=people["manager_a"])
    _, raw_b = create_api_key(people["supervisor_b"], name="B sync", acting_user=people["manager_b"])
    revoked, raw_revoked = create_api_key(people["supervisor_a"], name="A old", acting_user=people["manager_a"])
    revoke_api_key(people["supervisor_a"], revoked)
    for user in people.values():
        give_password(user)
    db.session.commit()
    return {
        "a": a, "b": b, "people": people, "dispute": dispute, "letter": letter, "member": member,
        "colleague": colleague, "spare_key": spare, "keys": {"a": raw_a, "b": raw_b, "revoked": raw_revoked},
        "file": db.session.scalars(select(EvidenceFile).where(EvidenceFile.dispute_id == dispute.id)).one(),
    }


def url_values(world) -> dict:
    """What each URL parameter is filled with: always company A's rows."""
    return {
        "dispute_id": world["dispute"].id,
        "file_id": world["file"].id,
        "letter_id": world["letter"].id,
        "name": "withdraw",
        "member_id": world["member"].id,
        "user_id": world["colleague"].id,
        "key_id": world["spare_key"].id,
        "slug": "by-month",
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
    }
    return json.dumps(rows, sort_keys=True, default=str)


# A form that would change something if the request were let through.
HARMFUL_FORM = {
    "expected_version": "2", "reason": "Taken over", "change": "deactivate", "role": "manager",
    "password": "hijacked password", "window": "reply", "new_due": "2026-04-30", "name": "Hijack",
    "email": "hijack@evil.test", "evidence_window_days": "1", "reply_window_days": "1", "panel_window_days": "1",
    "follow_up_days": "1", "offer_valid_days": "1", "time_zone": "UTC", "panel_size": "1", "token_cap": "0",
    "concession_cap": "0", "acting_user_id": "1", "issue": "Hijacked", "resident_choice": "existing",
}


def test_the_matrix_knows_every_url_parameter(app, world):
    values = url_values(world)
    unknown = {f"{rule.endpoint}: {name}" for rule in staff_rules(app) for name in rule.arguments
               if name not in values}
    assert not unknown, f"add these to url_values(): {sorted(unknown)}"
    assert len(staff_rules(app)) >= 10


def test_nobody_signed_in_reaches_only_the_sign_in_page(app, world):
    values = url_values(world)
    problems = []
    for rule in staff_rules(app):
        if rule.endpoint in PUBLIC:
            continue
        url = build(rule, values)
        for method in methods_of(rule):
            client = app.test_client()
            data = None
            if method == "POST":
                data = {**HARMFUL_FORM, "csrf_token": csrf_from(client.get("/login").get_data(as_text=True))}
            response = client.open(url, method=method, data=data)
            if rule.endpoint.startswith("api."):
                ok = response.status_code == 401 and response.is_json
            else:
                ok = response.status_code == 302 and response.headers["Location"].startswith("/login")
            if not ok:
                problems.append(f"{method} {url} -> {response.status_code}")
    assert not problems, problems


def test_the_mailbox_also_needs_a_staff_sign_in(app, world):
    """The mailbox (another area) relies on this sign-in: nobody signed in is sent to it."""
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("mailbox.")]
    problems = []
    for rule in rules:
        url = rule.build({name: 1 for name in rule.arguments})[1]
        response = app.test_client().get(url)
        if not (response.status_code == 302 and response.headers["Location"].startswith("/login")):
            problems.append(f"GET {url} -> {response.status_code}")
    assert rules and not problems, problems


def test_a_form_without_its_csrf_token_is_refused(app, world):
    values = url_values(world)
    problems = []
    staff = app.test_client()
    sign_in(staff, world["people"]["supervisor_a"].email, PASSWORD)
    before = snapshot_of_a(world)
    for rule in staff_rules(app):
        if rule.endpoint.startswith("api.") or "POST" not in rule.methods:
            continue
        response = staff.post(build(rule, values), data=HARMFUL_FORM)
        if response.status_code != 400:
            problems.append(f"POST {rule.rule} -> {response.status_code}")
    assert not problems, problems
    assert snapshot_of_a(world) == before


@pytest.mark.parametrize("role", ["manager_a", "supervisor_a"])
def test_the_companys_own_staff_reach_every_page(app, world, role):
    """GETs answer 200; POSTs (with an empty form) get past the door: refused only for the input,
    or, for a manager, for a supervisor's change."""
    values = url_values(world)
    user = world["people"][role]
    client = app.test_client()
    sign_in(client, user.email)
    token = csrf_from(client.get("/disputes/new").get_data(as_text=True))
    problems = []
    for rule in staff_rules(app):
        if rule.endpoint.startswith("api.") or rule.endpoint in PUBLIC:
            continue
        url = build(rule, values)
        for method in methods_of(rule):
            if method == "GET":
                response = client.get(url)
                if response.status_code != 200:
                    problems.append(f"GET {url} -> {response.status_code}")
                continue
            response = client.post(url, data={"csrf_token": token})
            if rule.endpoint == "manager.logout":
                ok = response.status_code == 302
                sign_in(client, user.email)
                token = csrf_from(client.get("/disputes/new").get_data(as_text=True))
            elif is_supervisor_only(app, rule.endpoint) and role.startswith("manager"):
                ok = response.status_code == 403
            else:
                ok = response.status_code not in (302, 401, 403, 404, 500)
            if not ok:
                problems.append(f"POST {url} as {role} -> {response.status_code}")
    assert not problems, problems


@pytest.mark.parametrize("role", ["manager_b", "supervisor_b"])
def test_another_companys_staff_find_nothing_and_change_nothing(app, world, role):
    values = url_values(world)
    user = world["people"][role]
    client = app.test_client()
    sign_in(client, user.email)
    token = csrf_from(client.get("/disputes/new").get_data(as_text=True))
    before = snapshot_of_a(world)
    problems = []
    for rule in staff_rules(app):
        if rule.endpoint.startswith("api.") or rule.endpoint in PUBLIC or rule.endpoint == "manager.logout":
            continue
        url = build(rule, values)
        names_a_row = bool(rule.arguments - {"name", "slug"})
        for method in methods_of(rule):
            if method == "GET":
                response = client.get(url)
                body = response.get_data(as_text=True)
                if names_a_row:
                    ok = response.status_code == 404
                else:
                    ok = response.status_code == 200 and SECRET not in body and "Aspen Property Co" not in body
            else:
                form = {**HARMFUL_FORM, "csrf_token": token, "resident_id": str(world["dispute"].resident_id),
                        "member_ids": str(world["member"].id), "acting_user_id": str(world["people"]["manager_a"].id)}
                response = client.post(url, data=form)
                if is_supervisor_only(app, rule.endpoint) and role.startswith("manager"):
                    ok = response.status_code == 403  # refused for the role before any row is looked up
                elif names_a_row:
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
    for rule in staff_rules(app):
        if not rule.endpoint.startswith("api."):
            continue
        url = build(rule, values)
        for method in methods_of(rule):
            body = {"resident": {"id": world["dispute"].resident_id}, "issue": "Hijack", "open": False}
            response = client.open(url, method=method, headers=headers, json=body if method == "POST" else None)
            text = response.get_data(as_text=True)
            if rule.endpoint in PUBLIC:
                ok = response.status_code == 200
            elif holder in ("none", "garbage", "revoked"):
                ok = response.status_code == 401 and response.is_json
            elif holder == "b":
                ok = (response.status_code in (404, 422) if (rule.arguments or method == "POST")
                      else response.status_code == 200 and SECRET not in text)
            else:
                ok = response.status_code in (200, 201)
            if not ok:
                problems.append(f"{method} {url} with key {holder} -> {response.status_code} {text[:200]}")
    assert not problems, problems
    if holder != "a":
        assert snapshot_of_a(world) == before
