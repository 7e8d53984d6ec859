"""The dashboard: what needs the manager now, nearest deadline first, filtered, searched, paged, fast."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import insert

from resolver import clock
from resolver.actors import Actor
from resolver.extensions import db
from resolver.models import Dispute
from resolver.services import disputes

from .fixtures_manager import count_statements


def row_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-dispute="(\d+)"', html)]


@pytest.fixture
def open_for(manager):
    """``open_for(resident, state)``: a dispute for that resident, opened when asked."""

    def make(resident, state="awaiting_evidence", *, by=None, **fields):
        staff = Actor.staff(by or manager)
        dispute = disputes.create_dispute(staff, resident=resident, issue=fields.pop("issue", "The hallway light."),
                                          **fields)
        if state != "draft":
            disputes.open_dispute(staff, dispute)
        return dispute

    return make


def test_disputes_come_nearest_deadline_first_with_time_left_in_words(
    app, signed_in_client, manager, make_dispute, frozen_clock
):
    draft = make_dispute("draft")
    first = make_dispute("awaiting_evidence")           # resident's side due by the end of Sat 14 March
    frozen_clock.advance(timedelta(days=2))
    second = make_dispute("awaiting_evidence")          # due by the end of Mon 16 March
    received = make_dispute("evidence_received")        # written reply due by the end of Wed 18 March
    db.session.commit()
    frozen_clock.advance(timedelta(days=3, hours=20))   # Sun 15 March, 06:00 in Denver

    html = signed_in_client(manager).get("/").get_data(as_text=True)

    assert row_ids(html) == [first.id, second.id, received.id, draft.id]
    glance = html.split('aria-label="At a glance"')[1].split("</ul>")[0]
    assert "1 overdue" in glance and "1 due within 2 days" in glance and "0 requests for more time" in glance
    rows = html.split('<tr data-dispute="')[1:]
    assert "overdue by" in rows[0] and 'class="overdue"' in rows[0]
    assert "due in 2 days" in rows[1] and "due-soon" in rows[1]
    assert "waiting for the resident&#39;s side" in rows[1]
    assert "resident&#39;s side received" in rows[2] and "Choose the team and send the case" in rows[2]
    assert "no deadline running" in rows[3] and "Open it to send the invitation" in rows[3]


def test_finished_disputes_leave_the_default_view_but_all_shows_them(
    app, signed_in_client, manager, make_dispute
):
    live = make_dispute("awaiting_evidence")
    gone = make_dispute("draft")
    disputes.withdraw_dispute(Actor.staff(manager), gone, reason="Opened by mistake.")
    db.session.commit()
    staff = signed_in_client(manager)
    assert row_ids(staff.get("/").get_data(as_text=True)) == [live.id]
    assert set(row_ids(staff.get("/?state=all").get_data(as_text=True))) == {live.id, gone.id}
    assert row_ids(staff.get("/?state=withdrawn").get_data(as_text=True)) == [gone.id]


def test_filters_by_property_and_manager_and_search_by_resident_or_unit(
    app, signed_in_client, company, manager, make_staff, make_resident, open_for
):
    other_manager = make_staff(company, name="Robin Other")
    rivera = make_resident(company, name="Tammy Rivera", unit="4B")
    okafor = make_resident(company, name="Chidi Okafor", unit="12A")
    a = open_for(rivera)
    b = open_for(okafor, by=other_manager)
    db.session.commit()
    staff = signed_in_client(manager)

    assert row_ids(staff.get("/?q=rivera").get_data(as_text=True)) == [a.id]
    assert row_ids(staff.get("/?q=12a").get_data(as_text=True)) == [b.id]
    assert row_ids(staff.get(f"/?manager={other_manager.id}").get_data(as_text=True)) == [b.id]
    assert row_ids(staff.get(f"/?property={rivera.unit.property_id}").get_data(as_text=True)) == [a.id]
    page = staff.get("/?q=nobody-like-this").get_data(as_text=True)
    assert row_ids(page) == [] and "No dispute matches these filters" in page


def test_staff_pages_are_not_framed_or_cached(app, signed_in_client, manager):
    response = signed_in_client(manager).get("/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "private, no-store"


def test_nonsense_filters_show_everything_instead_of_failing(app, signed_in_client, manager, make_dispute):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    response = signed_in_client(manager).get("/?state=bogus&property=abc&manager=--1&page=zz")
    assert response.status_code == 200
    assert row_ids(response.get_data(as_text=True)) == [dispute.id]


def test_another_companys_disputes_never_show(
    app, signed_in_client, manager, make_company, make_staff, make_resident, make_dispute
):
    mine = make_dispute("awaiting_evidence")
    elsewhere = make_company(name="Birch Homes")
    their_manager = make_staff(elsewhere)
    theirs = disputes.create_dispute(Actor.staff(their_manager), resident=make_resident(elsewhere, name="Tammy Other"),
                                     issue="Their issue.")
    db.session.commit()
    staff = signed_in_client(manager)
    html = staff.get("/?state=all").get_data(as_text=True)
    assert row_ids(html) == [mine.id]
    assert "Tammy Other" not in html and "Birch Homes" not in html
    their_property = theirs.resident.unit.property_id
    assert row_ids(staff.get(f"/?state=all&property={their_property}").get_data(as_text=True)) == []
    assert row_ids(staff.get(f"/?state=all&manager={their_manager.id}").get_data(as_text=True)) == []


def _bulk_disputes(company, manager, resident, count: int) -> None:
    """Many disputes at once, written straight to the table (each in a state with its columns)."""
    now = clock.now_utc()
    db.session.execute(
        insert(Dispute),
        [
            {
                "company_id": company.id, "manager_id": manager.id, "resident_id": resident.id,
                "unit_id": resident.unit_id, "state": "awaiting_evidence", "version": 1,
                "issue": f"Issue {n}", "category": "", "what_was_fixed": "", "company_position": "",
                "decision_note": "", "close_reason": "", "created_dt": now, "opened_dt": now,
                "evidence_due_dt": now + timedelta(hours=(n * 7919) % 10_000),
            }
            for n in range(count)
        ],
    )
    db.session.commit()


def test_pages_of_fifty(app, signed_in_client, company, manager, resident):
    _bulk_disputes(company, manager, resident, 120)
    staff = signed_in_client(manager)
    first = staff.get("/").get_data(as_text=True)
    assert len(row_ids(first)) == 50 and "Page 1 of 3" in first
    third = staff.get("/?page=3").get_data(as_text=True)
    assert len(row_ids(third)) == 20
    everything = row_ids(first) + row_ids(staff.get("/?page=2").get_data(as_text=True)) + row_ids(third)
    assert len(set(everything)) == 120
    dues = [db.session.get(Dispute, i).evidence_due_dt for i in everything]
    assert dues == sorted(dues)
    assert "Page 3 of 3" in staff.get("/?page=99").get_data(as_text=True)


def test_the_number_of_queries_does_not_grow_with_the_disputes(app, signed_in_client, company, manager, resident):
    staff = signed_in_client(manager)
    _bulk_disputes(company, manager, resident, 3)
    with count_statements() as few:
        staff.get("/")
    _bulk_disputes(company, manager, resident, 60)
    with count_statements() as many:
        assert len(row_ids(staff.get("/").get_data(as_text=True))) == 50
    assert len(many) == len(few), many


def test_the_mailbox_wears_the_staff_pages_navigation(app, signed_in_client, manager):
    html = signed_in_client(manager).get("/mailbox/").get_data(as_text=True)
    nav = html.split('<nav aria-label="Main">')[1].split("</nav>")[0]
    for link in ("Dashboard", "Open a dispute", "Reports", "Settings", "Mailbox"):
        assert f">{link}</a>" in nav
    assert 'href="/mailbox/" aria-current="page"' in nav
    assert "Sign out" in html and manager.name in html and "<title>Mailbox — Resolver</title>" in html
