"""Reports: the numbers behind the charts, the charts as SVG, and the CSV exports."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

from resolver.actors import Actor
from resolver.extensions import db
from resolver.models import Vote
from resolver.services import categories, disputes


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_reports_count_what_happened(app, signed_in_client, manager, make_dispute, frozen_clock):
    sent = make_dispute("outcome_sent")             # the team upheld, with a $25 coffee card
    make_dispute("lapsed")
    withdrawn = make_dispute("draft", category="noise")
    disputes.withdraw_dispute(Actor.staff(manager), withdrawn, reason="Opened by mistake.")
    make_dispute("evidence_received", category="noise")
    db.session.commit()
    staff = signed_in_client(manager)

    html = staff.get("/reports").get_data(as_text=True)
    for title in ("Disputes by month and outcome", "Days from opening to the letter",
                  "Written replies inside the reply window", "Residents&#39; sides received vs lapsed",
                  "Tokens and concessions offered", "How fast team members vote", "Time to first response",
                  "Most common categories", "Lessons learned, for training"):
        assert title in html, title
    assert html.count("<svg") == 8 and "<script" not in html  # the lessons are a list, without a chart
    assert not any(f'{attr}="http' in html for attr in ("src", "href"))  # nothing from elsewhere
    assert "4 disputes written up in the period." in html
    assert "100% of 1 written reply went inside the reply window" in html
    assert "2 received, 1 lapsed without a reply." in html

    by_month = rows_of(staff.get("/reports/by-month.csv"))
    assert by_month[0] == ["month", "Company upheld", "Compromise", "Resident granted", "Withdrawn", "Lapsed",
                           "Still open", "total"]
    march = next(row for row in by_month if row[0] == "2026-03")
    assert march[1:] == ["1", "0", "0", "1", "1", "1", "4"]
    offers = rows_of(staff.get("/reports/offers.csv"))
    march = next(row for row in offers if row[0] == "2026-03")
    assert march[1:3] == ["1", "25.00"]
    by_category = rows_of(staff.get("/reports/categories.csv"))
    assert by_category[1:] == [["Noise or neighbour", "2"], ["Security deposit deduction", "2"]]
    votes = rows_of(staff.get("/reports/panel-response.csv"))
    assert sum(int(n) for _, n in votes[1:]) == db.session.query(Vote).count() > 0
    assert sent.id


def test_reports_cover_only_the_companys_own_disputes(
    app, signed_in_client, manager, make_company, make_staff, make_resident, make_dispute
):
    make_dispute("evidence_received")
    elsewhere = make_company()
    theirs = make_staff(elsewhere)
    disputes.create_dispute(Actor.staff(theirs), resident=make_resident(elsewhere), issue="x", category="parking")
    db.session.commit()
    rows = rows_of(signed_in_client(manager).get("/reports/categories.csv"))
    assert rows[1:] == [["Security deposit deduction", "1"]]


def test_csv_cells_that_look_like_formulas_are_written_as_text(
    app, signed_in_client, supervisor, manager, company, make_dispute
):
    categories.add_category(Actor.staff(supervisor), company, {
        "label": "=HYPERLINK(\"http://evil.test\")", "matter": "the matter", "concession": "credited to you",
        "task": "Credit {amount}", "token": "gift card"})
    make_dispute("draft", category="hyperlink_http_evil_test")
    db.session.commit()
    rows = rows_of(signed_in_client(manager).get("/reports/categories.csv"))
    assert rows[1][0].startswith("'=")


def test_unknown_reports_and_periods(app, signed_in_client, manager):
    staff = signed_in_client(manager)
    assert staff.get("/reports/nothing.csv").status_code == 404
    assert staff.get("/reports?months=7").status_code == 200  # an unknown period falls back to 12 months
    assert len(rows_of(staff.get("/reports/by-month.csv?months=3"))) == 4


def test_disputes_are_counted_by_their_categorys_name_as_the_company_words_it(
    app, signed_in_client, supervisor, manager, company, make_dispute
):
    make_dispute("draft", category="deposit")
    make_dispute("draft", category="security deposit")  # a name for it: stored as its key
    old = make_dispute("draft", category="noise")
    old.category = "move-out"  # free text typed before categories were keys: counted with the one it names
    categories.change_category(Actor.staff(supervisor), company, "deposit", {"label": "Deposit charges"})
    db.session.commit()
    rows = rows_of(signed_in_client(manager).get("/reports/categories.csv"))
    assert rows[1:] == [["Deposit charges", "3"]]


def test_a_dispute_counts_in_the_month_it_was_written_up_on_the_companys_clock(
    app, signed_in_client, manager, make_dispute, frozen_clock
):
    # Denver is seven hours behind UTC until 8 March: 1 March 05:00 UTC is still 28 February there.
    frozen_clock.freeze(datetime(2026, 3, 1, 5, 0, tzinfo=timezone.utc))
    make_dispute("draft")
    frozen_clock.freeze(datetime(2026, 3, 1, 7, 0, tzinfo=timezone.utc))  # midnight in Denver
    make_dispute("draft")
    make_dispute("draft")
    db.session.commit()

    rows = rows_of(signed_in_client(manager).get("/reports/by-month.csv?months=3"))
    assert [(row[0], row[-1]) for row in rows[1:]] == [("2026-01", "0"), ("2026-02", "1"), ("2026-03", "2")]
