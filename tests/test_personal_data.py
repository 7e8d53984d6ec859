"""Personal data has a lifetime: the company's retention erases a closed dispute's resident, files and
free text (the report counts stay); staff download everything held about a resident; a supervisor
erases a resident on request; a photo's location is never kept on disk."""
from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import ExifTags, Image
from sqlalchemy import select

from resolver import clock
from resolver.extensions import db
from resolver.files import file_exists, read_bytes
from resolver.models import AuditEvent, Base, CompanyEvent, Dispute, EvidenceFile, Letter, Resident, Submission
from resolver.uploads import UploadLimits, check_file, store_checked
from resolver.walkthrough import Story, walk_dispute
from resolver.worker import run_round

from .test_resident_support import ResidentForm, pdf, photo

STATEMENT = "I scrubbed the carpet myself on the last Saturday; my neighbour Olwen saw it."
SUGGESTION = "Give back the whole cleaning charge, please."
NAME = "Philippa Quennell"


def _files(company, name: str) -> list[dict]:
    """A photo (its clean copy and, as it says nothing of where it was taken, the bytes as sent) and a PDF,
    checked and stored as the resident's form stores them; each resident's own."""
    shade = sum(name.encode()) % 200
    sent = [("kitchen.jpg", photo(gps=False, color=(shade, 90, 40))), ("inspection.pdf", pdf(f"Checklist for {name}"))]
    limits = UploadLimits.of(company)
    return store_checked([check_file(name, data, limits=limits, company=company) for name, data in sent]).files


@pytest.fixture
def closed_dispute(make_staff, make_resident, make_panel):
    """``closed_dispute(company, name=...)``: a dispute walked to its close through the real verbs, with
    the resident's statement, files, the team's votes and the sent letter; its emails sent."""

    def make(company, *, name: str = NAME, statement: str = STATEMENT) -> Dispute:
        manager = make_staff(company)
        resident = make_resident(company, name=name)
        story = Story(issue=f"{name} says the carpet-cleaning charge is unfair.", what_was_fixed="Re-inspected.",
                      company_position="The carpet needed cleaning.", category="security deposit",
                      details=statement, suggestion=SUGGESTION, suggested_cents=15000, files=_files(company, name))
        dispute = walk_dispute("closed", manager=manager, resident=resident, story=story,
                               team=lambda d: make_panel(d.company, size=3))
        db.session.commit()
        return dispute

    return make


def _stored_files(dispute_id: int) -> set[str]:
    hashes = set()
    for row in db.session.execute(select(EvidenceFile.sha256, EvidenceFile.received_sha256)
                                  .where(EvidenceFile.dispute_id == dispute_id)):
        hashes |= {sha for sha in row if sha}
    hashes |= set(db.session.scalars(select(Letter.pdf_sha256).where(Letter.dispute_id == dispute_id,
                                                                     Letter.pdf_sha256.is_not(None))))
    return hashes


def _everything_but_history() -> str:
    """Every row of every table but the two append-only histories, as text."""
    kept = []
    for table in Base.metadata.sorted_tables:
        if table.name not in ("audit_event", "company_event"):
            kept += [str(tuple(row)) for row in db.session.execute(table.select())]
    return "\n".join(kept)


def _erasures(dispute_id: int) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.dispute_id == dispute_id,
                                                            AuditEvent.action == "personal_data_erased")))


def _rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def _retention_runs_out(app, moment):
    clock.move_to(moment)
    run_round(app)  # the worker: deadlines, the outbox, then expired personal data
    db.session.expire_all()


def test_seven_years_after_closing_the_worker_erases_the_resident_and_keeps_the_counts(
    app, company, closed_dispute, signed_in_client, manager, smtp, frozen_clock
):
    old = closed_dispute(company)
    old_files, old_closed, old_resident, old_email = _stored_files(old.id), old.closed_dt, old.resident_id, old.resident.email
    run_round(app)  # the emails of the close go out
    assert len(old_files) == 4 and all(file_exists(sha) for sha in old_files)
    clock.move_to(old_closed + timedelta(days=365))
    recent = closed_dispute(company, name="Bartholomew Oyelaran", statement="The stain was there when I moved in.")
    recent_files, recent_id = _stored_files(recent.id), recent.id
    run_round(app)

    _retention_runs_out(app, old_closed.replace(year=old_closed.year + 7) + timedelta(days=1))

    resident = db.session.get(Resident, old_resident)
    assert (resident.name, resident.email, resident.phone, resident.erased_dt is not None) == ("Erased resident", "", "", True)
    assert not any(file_exists(sha) for sha in old_files)
    everything = _everything_but_history()
    for said in (NAME, old_email, STATEMENT, f"{NAME} says the carpet-cleaning charge"):
        assert said not in everything, said
    assert STATEMENT not in str([(e.reason, e.data) for e in db.session.scalars(select(AuditEvent))])
    submission = db.session.scalars(select(Submission).where(Submission.dispute_id == old.id)).one()
    assert (submission.details, submission.suggested_resolution, submission.suggested_amount_cents) == (
        "(erased)", "(erased)", 15000)
    assert not db.session.scalars(select(EvidenceFile).where(EvidenceFile.dispute_id == old.id)).all()
    [erased] = _erasures(old.id)
    assert erased.actor_kind == "system"
    assert erased.data["why"] == "retention" and erased.data["files"] == 2
    assert {"contact_details", "evidence_files", "free_text", "letters"} <= set(erased.data["erased"])

    # The dispute closed six years ago is left alone.
    kept = db.session.get(Dispute, recent_id)
    assert kept.personal_data_erased_dt is None and kept.resident.name == "Bartholomew Oyelaran"
    assert all(file_exists(sha) for sha in recent_files) and not _erasures(recent_id)
    assert db.session.scalars(select(Submission).where(Submission.dispute_id == recent_id)).one().details == (
        "The stain was there when I moved in.")

    # A second sweep finds nothing more to do.
    run_round(app)
    assert len(_erasures(old.id)) == 1

    # What the reports count is still there: seen from the month the old dispute was written up.
    clock.move_to(old_closed + timedelta(days=3))
    staff = signed_in_client(manager)
    by_month = _rows_of(staff.get("/reports/by-month.csv?months=3"))
    month = next(row for row in by_month if row[0] == old_closed.strftime("%Y-%m"))
    assert month[-1] == "1" and month[1] == "1"  # one dispute, the company upheld
    assert _rows_of(staff.get("/reports/categories.csv?months=3"))[1:] == [["Security deposit deduction", "1"]]
    offers = next(row for row in _rows_of(staff.get("/reports/offers.csv?months=3")) if row[0] == month[0])
    assert offers[1:3] == ["1", "25.00"]


def test_a_company_that_keeps_data_two_years_has_it_erased_sooner(
    app, make_company, company, closed_dispute, smtp, frozen_clock
):
    brief = make_company(retention_years=2)
    theirs, ours = closed_dispute(brief), closed_dispute(company, name="Ottoline Vanderpump")
    run_round(app)
    theirs_id, ours_id, closed = theirs.id, ours.id, theirs.closed_dt

    _retention_runs_out(app, closed.replace(year=closed.year + 2) - timedelta(days=1))
    assert not _erasures(theirs_id)

    _retention_runs_out(app, closed.replace(year=closed.year + 2) + timedelta(days=1))
    assert _erasures(theirs_id) and db.session.get(Dispute, theirs_id).resident.name == "Erased resident"
    assert not _erasures(ours_id)  # seven years, the default, for the other company


def test_a_supervisor_sets_how_long_personal_data_is_kept(app, signed_in_client, supervisor, manager, company):
    staff = signed_in_client(supervisor)
    page = staff.get("/settings").get_data(as_text=True)
    assert 'name="retention_years"' in page and 'value="7"' in page
    assert staff.post("/settings/company", {**_rules(company), "retention_years": "31"}).status_code == 422
    db.session.expire_all()
    assert db.session.get(type(company), company.id).retention_years == 7
    assert staff.post("/settings/company", {**_rules(company), "retention_years": "3"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(type(company), company.id).retention_years == 3
    assert "the years personal data is kept" in staff.get("/settings").get_data(as_text=True)
    assert signed_in_client(manager).post("/settings/company", {"retention_years": "1"}).status_code == 403


def _rules(company) -> dict:
    return {
        "evidence_window_days": "5", "reply_window_days": "7", "panel_window_days": "3", "follow_up_days": "7",
        "offer_valid_days": "30", "time_zone": company.time_zone, "panel_size": "3", "token_cap": "50",
        "concession_cap": "500", "max_file_mb": "10", "max_dispute_mb": "50", "max_files": "20",
        "supervisor_email": company.supervisor_email, "contact_email": company.contact_email,
        "mediation_service_name": company.mediation_service_name,
    }


def test_a_manager_downloads_everything_held_about_a_resident(
    app, company, closed_dispute, signed_in_client, manager, smtp
):
    dispute = closed_dispute(company)
    resident_id, dispute_id = dispute.resident_id, dispute.id
    served = {f.original_name: read_bytes(f.sha256)
              for f in db.session.scalars(select(EvidenceFile).where(EvidenceFile.dispute_id == dispute_id))}
    staff = signed_in_client(manager)
    page = staff.get(f"/residents/{resident_id}").get_data(as_text=True)
    assert "Download everything held about them" in page

    response = staff.post(f"/residents/{resident_id}/export")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "no-store" in response.headers["Cache-Control"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    held = json.loads(archive.read("resident.json"))
    assert (held["resident"]["name"], held["resident"]["email"]) == (NAME, dispute.resident.email)
    [case] = held["disputes"]
    assert case["id"] == dispute_id and case["state"] == "closed"
    [sent] = case["submissions"]
    assert (sent["details"], sent["suggested_resolution"]) == (STATEMENT, SUGGESTION)
    files = {f["original_name"]: f for f in sent["files"]}
    assert set(files) == {"kitchen.jpg", "inspection.pdf"}
    for name, data in served.items():
        assert archive.read(files[name]["file"]) == data
    assert archive.read(files["kitchen.jpg"]["file_as_received"])[:2] == b"\xff\xd8"
    [letter] = case["letters"]
    assert archive.read(letter["file"]).startswith(b"%PDF") and NAME.split()[0] in letter["body_text"]
    assert case["offer_answers"] == [] and case["emails_to_the_resident"]
    actions = [event["action"] for event in case["history"]]
    assert actions[0] == "create" and "submit_evidence" in actions and "personal_data_erased" not in actions
    assert all(event["actor"] == "a member of the resolution team" for event in case["history"]
               if event["actor_kind"] == "panel")

    [exported] = db.session.scalars(select(CompanyEvent).where(CompanyEvent.action == "resident_exported")).all()
    assert (exported.actor_id, exported.data["resident_id"]) == (manager.id, resident_id)
    name = db.session.get(Resident, resident_id).name  # the history page reads it from the resident's row
    assert f"exported everything held about {name}" in staff.get("/settings").get_data(as_text=True)


def test_a_supervisor_erases_a_resident_on_request_once_their_disputes_are_over(
    app, company, closed_dispute, signed_in_client, supervisor, manager, make_dispute, smtp
):
    dispute = closed_dispute(company)
    resident_id, dispute_id, files = dispute.resident_id, dispute.id, _stored_files(dispute.id)
    open_one = make_dispute("awaiting_evidence")
    open_one.resident_id = resident_id
    db.session.commit()
    staff = signed_in_client(supervisor)
    assert "Erase their personal data on request" in staff.get(f"/residents/{resident_id}").get_data(as_text=True)
    confirm = staff.get(f"/residents/{resident_id}/erase").get_data(as_text=True)
    assert "What is erased" in confirm and f"Dispute {dispute_id}" in confirm

    form = {"reason": "Asked by email on 3 May.", "is_confirmed": "y"}
    refused = staff.post(f"/residents/{resident_id}/erase", form)
    assert refused.status_code == 409
    assert (f"Nothing was erased: dispute {open_one.id} (waiting for the resident&#39;s side) is still open"
            in refused.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(Resident, resident_id).name == NAME and all(file_exists(sha) for sha in files)

    _withdraw(manager, open_one.id)
    unconfirmed = staff.post(f"/residents/{resident_id}/erase", {"reason": "Asked by email on 3 May."})
    assert unconfirmed.status_code == 422 and "cannot be brought back" in unconfirmed.get_data(as_text=True)
    assert signed_in_client(manager).post(f"/residents/{resident_id}/erase", form).status_code == 403

    done = staff.post(f"/residents/{resident_id}/erase", form)
    assert done.status_code == 303
    db.session.expire_all()
    resident = db.session.get(Resident, resident_id)
    assert (resident.name, resident.email, resident.phone) == ("Erased resident", "", "")
    assert not any(file_exists(sha) for sha in files)
    assert STATEMENT not in _everything_but_history() and NAME not in _everything_but_history()
    [erased] = _erasures(dispute_id)
    assert erased.data["why"] == "request" and erased.actor_id == supervisor.id
    [event] = db.session.scalars(select(CompanyEvent).where(CompanyEvent.action == "resident_erased")).all()
    assert event.reason == "Asked by email on 3 May." and event.data["disputes"] == 2
    assert "erased the personal data of Erased resident" in staff.get("/settings").get_data(as_text=True)
    assert signed_in_client(manager).get(f"/disputes/{dispute_id}").status_code == 200


def _withdraw(manager, dispute_id: int) -> None:
    from resolver.actors import Actor
    from resolver.services import disputes

    disputes.withdraw_dispute(Actor.staff(manager), db.session.get(Dispute, dispute_id), reason="Settled directly.")
    db.session.commit()


def test_a_photo_that_says_where_it_was_taken_is_kept_nowhere_with_its_location(app, client, make_dispute):
    waiting = make_dispute("awaiting_evidence")
    db.session.commit()
    assert ResidentForm(client, waiting).send(files=[("balcony.jpg", photo(gps=True))]).status_code == 303
    stored = [path for path in Path(app.config["UPLOAD_FOLDER"]).rglob("*") if path.is_file()]
    assert len(stored) == 2  # the clean copy, and the photo as sent but for where it was taken
    for path in stored:
        data = path.read_bytes()
        assert b"GPS" not in data
        assert not Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    record = db.session.scalars(select(EvidenceFile)).one()
    assert b"Resolver Test Camera" in read_bytes(record.received_sha256)
