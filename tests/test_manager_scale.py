"""Every staff page and API read asks the database a fixed number of questions, however many disputes
there are: with 10,000 disputes each page runs no more SQL statements than with a dozen (no N+1
queries), and lists come a page at a time.

The pages are every GET endpoint of the staff app and the API, read from the authorisation matrix,
so a new page is measured too. Counting statements, not seconds, keeps the test exact on a busy machine.
"""
from __future__ import annotations

import gc
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from resolver import clock
from resolver.actors import Actor
from resolver.extensions import db
from resolver.files import store_bytes
from resolver.models import Dispute, EvidenceFile, Letter, Property, Resident, Task, Unit
from resolver.services import evidence
from resolver.web.api.keys import create_api_key
from resolver.web.manager import import_uploads
from resolver.web.manager.reports import build_reports
from resolver.workflow.definition import load_definition

from .fixtures_manager import count_statements
from .test_manager_authz import API, API_ROW, MATRIX, STAFF, STAFF_ROW, caught_email

pytestmark = pytest.mark.slow

MANY = 10_000
CATEGORIES = ["security deposit", "repairs", "noise", "rent and fees", ""]


def seed_residents(company, count: int) -> list[int]:
    """Residents spread over ten properties, a unit each."""
    properties = [Property(company_id=company.id, name=f"Scale Court {n}") for n in range(10)]
    db.session.add_all(properties)
    db.session.flush()
    db.session.execute(insert(Unit), [{"property_id": properties[n % 10].id, "label": f"{n}A"} for n in range(count)])
    units = db.session.scalars(select(Unit.id).where(Unit.property_id.in_([p.id for p in properties]))).all()
    db.session.execute(insert(Resident), [
        {"company_id": company.id, "unit_id": unit_id, "name": f"Resident {n} Rivera" if n % 7 == 0 else f"Resident {n}",
         "email": f"resident{n}@scale.test", "phone": ""}
        for n, unit_id in enumerate(units)
    ])
    return db.session.scalars(select(Resident.id).where(Resident.unit_id.in_(units))).all()


def seed_disputes(company, manager, residents: list[int], count: int) -> None:
    """Disputes in every state, each with the columns its state requires, opened over the last year."""
    workflow = load_definition("dispute")
    states = list(workflow.states)
    now = clock.now_utc()
    rows = []
    for n in range(count):
        state = states[n % len(states)]
        created = now - timedelta(hours=(n * 37) % (24 * 360))
        row = {
            "company_id": company.id, "manager_id": manager.id, "resident_id": residents[n % len(residents)],
            "state": state, "version": 1, "issue": f"Issue {n}", "category": CATEGORIES[n % len(CATEGORIES)],
            "what_was_fixed": "", "company_position": "", "decision_note": "", "close_reason": "",
            "created_dt": created,
        }
        for column in workflow.states[state].requires:
            if column == "decision":
                row[column] = ("uphold", "compromise", "resident")[n % 3]
            elif column.endswith("_due_dt"):
                row[column] = now + timedelta(hours=(n * 7919) % 500 - 100)  # some overdue, most not
            else:
                row[column] = created + timedelta(days=1 + n % 9)
        rows.append(row)
    for start in range(0, len(rows), 2000):
        db.session.execute(insert(Dispute), rows[start:start + 2000])
    db.session.commit()


@pytest.fixture
def busy_company(app, company, manager, supervisor, resident, make_dispute):
    """Disputes made through the real verbs (a team voting, a letter sent, evidence with a file), so
    each page shows everything it can; then room for thousands more written straight to the table."""
    on_panel = make_dispute("panel_review")
    sent = make_dispute("outcome_sent")
    with_evidence = make_dispute("awaiting_evidence")
    evidence.submit_evidence(
        Actor.resident(resident), with_evidence, form_key=uuid.uuid4().hex, details="Photos attached.",
        suggested_resolution="Refund the charge.",
        files=[{"original_name": "hall.pdf", "content_type": "application/pdf", "size_bytes": 9,
                "sha256": store_bytes(b"%PDF-1.4 ")}],
    )
    make_dispute("awaiting_evidence")
    make_dispute("draft")
    db.session.commit()
    _, key = create_api_key(supervisor, name="Scale sync", acting_user=manager)
    db.session.commit()
    letter = db.session.scalars(select(Letter).where(Letter.dispute_id == sent.id)).first()
    stored = db.session.scalars(select(EvidenceFile)).first()
    task = Task(dispute_id=sent.id, assignee_id=manager.id, kind="review", title="Call the resident",
                detail={"ics_sha256": store_bytes(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")})
    db.session.add(task)
    db.session.commit()
    return {
        "residents": seed_residents(company, 400), "key": key, "panel": on_panel, "sent": sent,
        "evidence": with_evidence, "letter": letter, "file": stored, "message_id": caught_email(company.id),
        "task": task,
    }


def pages(app, busy) -> list[tuple[str, dict]]:
    """Every GET page of the staff app and the API (from the matrix), plus the dashboard's filters."""
    dispute = busy["sent"]
    values = {
        "dispute_id": dispute.id, "letter_id": busy["letter"].id if busy["letter"] else 0,
        "file_id": busy["file"].id if busy["file"] else 0, "message_id": busy["message_id"], "index": 0,
        "task_id": busy["task"].id,
        "upload": import_uploads.keep(b"Property,Unit,Tenant\nScale Court 0,1A,Tammy Rivera\n", "roll.csv",
                                      dispute.company_id),
        "resident_id": dispute.resident_id, "unit_id": dispute.unit_id, "property_id": dispute.unit.property_id,
    }
    api = {"Authorization": f"Bearer {busy['key']}"}
    found = []
    for rule in app.url_map.iter_rules():
        kind = MATRIX.get(rule.endpoint)
        if kind not in (STAFF, STAFF_ROW, API, API_ROW) or "GET" not in rule.methods:
            continue
        if rule.endpoint == "manager.report_csv":
            for report in build_reports(dispute.company, 12):
                found.append((rule.build({"slug": report.slug})[1], {}))
            continue
        if rule.endpoint in ("manager.evidence_file", "manager.paper_receipt"):  # the dispute with the file
            values_here = {**values, "dispute_id": busy["file"].dispute_id, "submission_id": busy["file"].submission_id}
        else:
            values_here = values
        unknown = rule.arguments - set(values_here)
        assert not unknown, f"say what {rule.endpoint} is measured with: add {sorted(unknown)} to pages()"
        url = rule.build({name: values_here[name] for name in rule.arguments})[1]
        found.append((url, api if kind in (API, API_ROW) else {}))
    for dispute_url in (busy["panel"], busy["evidence"]):
        found.append((f"/disputes/{dispute_url.id}", {}))
    manager_id = dispute.manager_id
    property_id = db.session.scalars(select(Property.id).where(  # one with residents: Scale Court 0
        Property.company_id == dispute.company_id, Property.name == "Scale Court 0")).one()
    found += [
        ("/?page=150", {}), ("/?q=rivera", {}), ("/?state=all", {}), (f"/?state=panel_review&manager={manager_id}", {}),
        (f"/?property={property_id}", {}), ("/reports?months=24", {}), ("/api/v1/disputes?page=120", api),
        ("/api/v1/disputes?state=all&q=rivera", api), ("/properties?q=scale", {}), ("/residents?q=rivera&page=2", {}),
        ("/api/v1/residents?q=rivera&status=all", api), (f"/api/v1/residents?property_id={property_id}", api),
    ]
    return found


def statements_per_page(client, urls) -> dict[str, int]:
    counts = {}
    # What lives now (the app, the test's own rows) is set aside from the collections below, as the
    # run's modules are (tests/conftest.py): each then walks only what the requests made, the rows an
    # earlier request could have left among them, a quarter of a second a page less. It stays set aside
    # for the rest of the run (a few megabytes).
    gc.collect()
    gc.freeze()
    for url, headers in urls:
        client.get(url, headers=headers).close()  # templates compiled, caches warm: only the data differs
        # The requests share the test's session: a row an earlier request left would be found without a
        # statement, or not, as the garbage collector happened to run. Every count starts alike: what is
        # unreachable collected, what the test still holds expired.
        gc.collect()
        db.session.expire_all()
        with count_statements() as statements:
            response = client.get(url, headers=headers)
            assert response.status_code == 200, f"{url} -> {response.status_code}"
            response.close()
        counts[url] = len(statements)
    return counts


def test_ten_thousand_disputes_ask_no_more_of_the_database_than_a_dozen(
    app, signed_in_client, company, manager, supervisor, busy_company
):
    staff = signed_in_client(supervisor)
    seed_disputes(company, manager, busy_company["residents"], 12)
    urls = pages(app, busy_company)
    assert len(urls) >= 25
    few = statements_per_page(staff.client, urls)

    seed_disputes(company, manager, busy_company["residents"], MANY)
    assert db.session.query(Dispute).count() >= MANY
    many = statements_per_page(staff.client, urls)

    grew = {url: (few[url], many[url]) for url in few if many[url] > few[url]}
    assert not grew, f"statements grew with the number of disputes (few, many): {grew}"
    # Lists come a page at a time.
    dashboard = staff.get("/?state=all").get_data(as_text=True)
    assert len(re.findall(r'<tr data-dispute="\d+"', dashboard)) == 50
    assert re.search(r"Page 1 of (\d+)", dashboard) and int(re.search(r"Page 1 of (\d+)", dashboard).group(1)) > 200
    listed = staff.get("/api/v1/disputes?state=all", headers={"Authorization": f"Bearer {busy_company['key']}"})
    body = listed.get_json()
    assert len(body["disputes"]) == 50 and body["total"] >= MANY and body["pages"] > 200
