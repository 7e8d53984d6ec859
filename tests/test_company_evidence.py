"""The company's side has its own files: staff attach them from the dispute page (checked like the
resident's), the packet freezes both sides' files with their fingerprints, the team sees both sides
labelled, and the resident sees the company's side and its files once the case is with the team, and
not before. Nothing staff keep for themselves, and none of the resident's contact details, reaches
the other side; after the packet is frozen the company's files no longer change."""
from __future__ import annotations

import hashlib
import io
import re
import zipfile
from datetime import timedelta

import pytest
from PIL import ExifTags, Image
from sqlalchemy import func, select

from resolver.actors import Actor
from resolver.extensions import db
from resolver.files import file_exists, read_bytes
from resolver.links import PUBLIC_ADDRESS
from resolver.models import (
    COMPANY_SIDE, RESIDENT_SIDE, AuditEvent, CasePacket, Dispute, EvidenceFile, Property, Resident, Unit,
)
from resolver.services import disputes, panel, personal_data
from resolver.uploads import dispute_usage

from .dispute_checks import emails
from .test_resident_support import EXECUTABLE, HTML_PAGE, ResidentForm, evidence_path, pdf, photo, plain_zip

INVOICE = pdf("Carpet cleaning invoice 4471, 12 March")
WORK_ORDER = b"Work order 88: carpet shampooed on 11 March by Clean Co.\n"
RESIDENTS_PHOTO = photo(color=(30, 90, 200), gps=False)


@pytest.fixture
def received(client, waiting):
    """The resident has sent their side, with a photo: the case can go to the team."""
    assert ResidentForm(client, waiting).send(files=[("my-carpet.jpg", RESIDENTS_PHOTO)]).status_code == 303
    db.session.expire_all()
    return waiting


@pytest.fixture
def staff(signed_in_client, manager):
    return signed_in_client(manager)


def version_of(dispute: Dispute) -> str:
    db.session.expire_all()
    return str(db.session.get(Dispute, dispute.id).version)


def attach(staff, dispute: Dispute, files, *, description: str = "", version: str | None = None):
    data = {"expected_version": version or version_of(dispute), "description": description,
            "files": [(io.BytesIO(content), name) for name, content in files]}
    return staff.post(f"/disputes/{dispute.id}/company-files", data=data, content_type="multipart/form-data")


def remove(staff, dispute: Dispute, file_id: int, *, version: str | None = None):
    return staff.post(f"/disputes/{dispute.id}/company-files/remove",
                      data={"expected_version": version or version_of(dispute), "file_id": str(file_id)})


def company_rows(dispute: Dispute) -> list[EvidenceFile]:
    db.session.expire_all()
    return list(db.session.scalars(select(EvidenceFile).where(
        EvidenceFile.dispute_id == dispute.id, EvidenceFile.side == COMPANY_SIDE).order_by(EvidenceFile.id)))


def stored(data: bytes) -> bool:
    return file_exists(hashlib.sha256(data).hexdigest())


def counts() -> tuple:
    db.session.expire_all()
    return (db.session.scalar(select(func.count(EvidenceFile.id))), db.session.scalar(select(func.count(AuditEvent.id))),
            tuple(db.session.execute(select(Dispute.id, Dispute.version).order_by(Dispute.id)).all()))


def send_to_team(dispute: Dispute, manager, make_panel, size: int = 3) -> list[str]:
    """Seat a team and send the case; returns each member's vote page."""
    dispute = db.session.get(Dispute, dispute.id)
    members = make_panel(dispute.company, size=size)
    panel.seat_panel(Actor.staff(manager), dispute, [m.id for m in members], chair_id=None)
    panel.send_to_panel(Actor.staff(manager), dispute)
    db.session.commit()
    return [re.search(re.escape(PUBLIC_ADDRESS) + r"(/p/v/\S+)", invitation.body_text).group(1)
            for invitation in emails(dispute, "panel_invitation")]


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def download(client, path: str):
    with client.get(path) as response:
        response.get_data()
    return response


# Attaching ------------------------------------------------------------------------------------------

def test_staff_attach_the_companys_files_with_a_description_checked_like_the_residents(staff, received, manager):
    taken = photo(taken="2026:03:01 10:00:00")  # with the place it was taken
    sent = attach(staff, received, [("move-in kitchen.jpg", taken), ("invoice.pdf", INVOICE)],
                  description="Move-in photo and the cleaning invoice")
    assert sent.status_code == 303 and sent.headers["Location"].endswith("#company-side-h")
    kitchen, invoice = company_rows(received)
    assert (kitchen.added_by_id, kitchen.submission_id, kitchen.description) == (
        manager.id, None, "Move-in photo and the cleaning invoice")
    assert invoice.content_type == "application/pdf" and invoice.sha256 == hashlib.sha256(INVOICE).hexdigest()
    # The photo is served without its location, as the resident's are; when it was taken is kept.
    assert kitchen.content_type == "image/jpeg" and kitchen.captured_dt is not None
    served = read_bytes(kitchen.sha256)
    assert kitchen.sha256 != hashlib.sha256(taken).hexdigest()
    assert not Image.open(io.BytesIO(served)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    # The resident's room is their own: the company's files are counted on their side only.
    assert dispute_usage(received.id, RESIDENT_SIDE)[0] == 1 and dispute_usage(received.id, COMPANY_SIDE)[0] == 2

    html = page(staff, f"/disputes/{received.id}")
    assert "Download move-in kitchen.jpg" in html and "Move-in photo and the cleaning invoice" in html
    assert f"added by {manager.name} on" in html
    assert f"{manager.name} added “move-in kitchen.jpg” and “invoice.pdf” to the company&#39;s side." in html
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "company_files_added")).one()
    assert [f["sha256"] for f in event.data["company_files"]] == [kitchen.sha256, invoice.sha256]


@pytest.mark.parametrize("name, content, says", [
    ("invoice.pdf", EXECUTABLE, "is a program"),
    ("work-order.pdf", HTML_PAGE, "web page or a drawing"),
    ("photos.zip", plain_zip(), "is a zip archive"),
    ("blank.pdf", b"", "is empty"),
])
def test_a_forbidden_or_disguised_file_is_refused_and_nothing_is_kept(staff, received, name, content, says):
    before = counts()
    sent = attach(staff, received, [("work-order.txt", WORK_ORDER), (name, content)], description="The work order")
    html = sent.get_data(as_text=True)
    assert sent.status_code == 422
    assert says in html and "Nothing was changed." in html
    assert 'value="The work order"' in html  # what was typed is still there
    assert counts() == before and not stored(WORK_ORDER)


def test_a_send_without_a_file_or_with_a_long_description_is_refused(staff, received):
    before = counts()
    assert "Choose at least one file" in attach(staff, received, []).get_data(as_text=True)
    too_long = attach(staff, received, [("work-order.txt", WORK_ORDER)], description="x" * 301)
    assert too_long.status_code == 422 and "under 300 characters" in too_long.get_data(as_text=True)
    assert counts() == before and not stored(WORK_ORDER)


def test_the_companys_files_have_their_own_limits_and_leave_the_residents_room(client, staff, waiting, company):
    company.max_files = 2
    db.session.commit()
    assert attach(staff, waiting, [("a.txt", b"Work order 1\n"), ("b.txt", b"Work order 2\n")]).status_code == 303
    third = attach(staff, waiting, [("c.txt", b"Work order 3\n")])
    assert third.status_code == 422
    assert "The company&#39;s side already has 2, so 0 more can be added." in third.get_data(as_text=True)
    # The resident may still send their two files.
    sent = ResidentForm(client, waiting).send(files=[("one.txt", b"My notes\n"), ("two.txt", b"More notes\n")])
    assert sent.status_code == 303


# The packet, the team and the resident --------------------------------------------------------------------

def test_the_packet_holds_both_sides_files_with_their_fingerprints(staff, received, manager, make_panel):
    attach(staff, received, [("invoice.pdf", INVOICE)], description="Cleaning invoice")
    send_to_team(received, manager, make_panel)
    packet = db.session.scalars(select(CasePacket).where(CasePacket.dispute_id == received.id)).one()
    listed = {f["side"]: f for f in packet.content["evidence"]}
    assert set(listed) == {"company", "resident"}
    assert listed["company"]["sha256"] == hashlib.sha256(INVOICE).hexdigest()
    assert listed["company"]["description"] == "Cleaning invoice"
    resident_file = db.session.scalars(select(EvidenceFile).where(EvidenceFile.side == RESIDENT_SIDE)).one()
    assert listed["resident"]["sha256"] == resident_file.sha256
    assert panel.files_on(packet.content, COMPANY_SIDE) == [listed["company"]]


def test_the_team_sees_both_sides_labelled_and_downloads_the_same_bytes(client, staff, received, manager, make_panel):
    attach(staff, received, [("invoice.pdf", INVOICE)], description="Cleaning invoice")
    vote_page = send_to_team(received, manager, make_panel)[0]
    html = page(client, vote_page)
    company_part = html[html.index('id="company-files"'):html.index('id="resident-files"')]
    resident_part = html[html.index('id="resident-files"'):]
    assert "The company&#39;s files" in company_part and "invoice.pdf" in company_part
    assert "Cleaning invoice" in company_part and hashlib.sha256(INVOICE).hexdigest() in company_part
    assert "The resident&#39;s files" in resident_part and "my-carpet.jpg" in resident_part
    assert "invoice.pdf" not in resident_part

    invoice = company_rows(received)[0]
    for_team = download(client, f"{vote_page}/files/{invoice.id}")
    for_staff = download(staff, f"/disputes/{received.id}/files/{invoice.id}?download=1")
    assert for_team.status_code == for_staff.status_code == 200
    assert for_team.data == for_staff.data == INVOICE


def test_the_resident_sees_the_companys_side_only_once_the_case_is_with_the_team(
        client, staff, received, manager, make_panel):
    attach(staff, received, [("invoice.pdf", INVOICE)], description="Cleaning invoice")
    invoice = company_rows(received)[0]
    status, file_path = evidence_path(received, "/status"), evidence_path(received, f"/files/{invoice.id}")
    before = page(client, status)
    assert "Our side" not in before and "invoice.pdf" not in before and "Cleaning invoice" not in before
    assert download(client, file_path).status_code == 404

    vote_page = send_to_team(received, manager, make_panel)[0]
    html = page(client, status)
    assert "Our side" in html and "The carpet needed professional cleaning." in html
    assert "invoice.pdf" in html and "Cleaning invoice" in html and hashlib.sha256(INVOICE).hexdigest() in html
    theirs = download(client, file_path)
    assert theirs.status_code == 200 and theirs.data == INVOICE
    assert theirs.data == download(client, f"{vote_page}/files/{invoice.id}").data
    # The same headers as the resident's own files: a download, never a page.
    assert theirs.headers["Content-Disposition"] == "attachment; filename=invoice.pdf"
    assert theirs.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in theirs.headers["Content-Security-Policy"] and "no-store" in theirs.headers["Cache-Control"]


def test_nothing_staff_keep_to_themselves_nor_the_residents_contact_details_reach_the_other_side(
        client, staff, received, manager, make_panel, company):
    resident = db.session.get(Resident, received.resident_id)
    # The resident has moved since: their new address is theirs, not the disputed unit's.
    home = Property(company_id=company.id, name="Juniper Heights", address="77 Larkspur Lane", portfolio="South")
    db.session.add(home)
    db.session.flush()
    new_unit = Unit(property_id=home.id, label="12C")
    db.session.add(new_unit)
    db.session.flush()
    resident.unit_id = new_unit.id
    received.company_position = f"When I called {resident.name} on {resident.phone} ({resident.email}) ..."
    db.session.commit()
    email, phone, surname = resident.email, resident.phone, resident.name.split()[-1]
    attach(staff, received, [(f"{resident.name} {phone}.pdf", INVOICE)],
           description=f"Invoice, as emailed to {email}")
    # What staff keep to themselves: why a deadline moved, why a conflicted member sits anyway.
    staff_only = ["STAFF ONLY: her lawyer friend may call", "STAFF ONLY: Panelist is Dana's cousin, fine"]
    disputes.extend_window(Actor.staff(manager), db.session.get(Dispute, received.id), window="reply",
                           new_due=received.reply_due_dt + timedelta(days=2), reason=staff_only[0])
    members = make_panel(company, size=3)
    panel.seat_panel(Actor.staff(manager), received, [m.id for m in members], chair_id=None,
                     conflict_note=staff_only[1])
    panel.send_to_panel(Actor.staff(manager), received)
    db.session.commit()
    invoice = company_rows(received)[0]

    seen = []
    for invitation in emails(received, "panel_invitation"):
        vote_page = re.search(re.escape(PUBLIC_ADDRESS) + r"(/p/v/\S+)", invitation.body_text).group(1)
        seen.append(("vote page", page(client, vote_page)))
        named = download(client, f"{vote_page}/files/{invoice.id}").headers["Content-Disposition"]
        seen.append(("team's download", named))
    seen.append(("resident's page", page(client, evidence_path(received, "/status"))))
    seen.append(("resident's download",
                 download(client, evidence_path(received, f"/files/{invoice.id}")).headers["Content-Disposition"]))
    assert "Invoice, as emailed to [email removed]" in seen[0][1]
    for where, text in seen:
        for secret in staff_only:
            assert secret not in text, f"{where} shows a staff-only note"
        if where != "resident's page":  # their own details on their own page are theirs
            for detail in (email, phone, re.sub(r"\D", "", phone), surname, "Juniper Heights", "77 Larkspur Lane", "12C"):
                assert detail not in text, f"{where} shows the resident's {detail!r}"


# After the packet is frozen, and the wrong dispute ----------------------------------------------------------

def test_after_the_case_goes_to_the_team_the_companys_files_no_longer_change(staff, received, manager, make_panel):
    attach(staff, received, [("invoice.pdf", INVOICE)])
    invoice = company_rows(received)[0]
    send_to_team(received, manager, make_panel)
    before = counts()
    late = attach(staff, received, [("work-order.txt", WORK_ORDER)])
    assert late.status_code == 409
    assert "The case has gone to the resolution team" in late.get_data(as_text=True)
    assert counts() == before and not stored(WORK_ORDER)
    taken_back = remove(staff, received, invoice.id)
    assert taken_back.status_code == 409 and "can no longer be added or removed" in taken_back.get_data(as_text=True)
    assert counts() == before and stored(INVOICE)
    html = page(staff, f"/disputes/{received.id}")
    assert "Attach to the company" not in html and "Remove invoice.pdf" not in html and invoice.original_name in html


def test_staff_remove_a_file_before_the_team_sees_it_and_the_history_keeps_both(
        staff, received, manager, make_panel):
    attach(staff, received, [("invoice.pdf", INVOICE), ("work-order.txt", WORK_ORDER)])
    invoice, work_order = company_rows(received)
    assert remove(staff, received, work_order.id).status_code == 303
    assert [f.id for f in company_rows(received)] == [invoice.id]
    assert not stored(WORK_ORDER) and stored(INVOICE)
    html = page(staff, f"/disputes/{received.id}")
    assert f"{manager.name} removed “work-order.txt” from the company&#39;s side." in html
    send_to_team(received, manager, make_panel)
    packet = db.session.scalars(select(CasePacket).where(CasePacket.dispute_id == received.id)).one()
    assert [f["name"] for f in panel.files_on(packet.content, COMPANY_SIDE)] == ["invoice.pdf"]


def test_a_page_drawn_before_a_change_is_refused_and_keeps_nothing(staff, received):
    old = version_of(received)
    attach(staff, received, [("invoice.pdf", INVOICE)])
    before = counts()
    stale = attach(staff, received, [("work-order.txt", WORK_ORDER)], version=old)
    assert stale.status_code == 409 and "changed while you were looking" in stale.get_data(as_text=True)
    assert counts() == before and not stored(WORK_ORDER)


def test_another_dispute_or_another_company_finds_nothing_and_changes_nothing(
        app, staff, received, make_dispute, make_company, make_staff, signed_in_client):
    attach(staff, received, [("invoice.pdf", INVOICE)])
    invoice = company_rows(received)[0]
    other = make_dispute("awaiting_evidence")
    db.session.commit()
    before = counts()
    # The right company, the wrong dispute: the file is not on it.
    assert remove(staff, other, invoice.id).status_code == 404
    resident_file = db.session.scalars(select(EvidenceFile).where(EvidenceFile.side == RESIDENT_SIDE)).one()
    assert remove(staff, received, resident_file.id).status_code == 404  # the resident's are not staff's to remove
    # Another company: the dispute itself is not found.
    stranger = signed_in_client(make_staff(make_company(name="Birch Homes"), "manager"))
    assert remove(stranger, received, invoice.id).status_code == 404
    assert attach(stranger, received, [("work-order.txt", WORK_ORDER)]).status_code == 404
    assert counts() == before and stored(INVOICE) and not stored(WORK_ORDER)


# Personal data ------------------------------------------------------------------------------------------

def test_erasing_the_resident_keeps_the_companys_files_and_exports_none_of_them(
        app, staff, received, manager, supervisor):
    attach(staff, received, [("invoice.pdf", INVOICE)], description="Invoice for Tammy's carpet")
    residents_photo = db.session.scalars(select(EvidenceFile.sha256).where(EvidenceFile.side == RESIDENT_SIDE)).one()
    resident = db.session.get(Resident, received.resident_id)
    exported = personal_data.export_resident(Actor.staff(manager), resident)
    names = zipfile.ZipFile(io.BytesIO(exported)).namelist()
    assert any(name.endswith("my-carpet.jpg") for name in names) and not any("invoice" in name for name in names)

    disputes.withdraw_dispute(Actor.staff(manager), db.session.get(Dispute, received.id), reason="Settled by phone.")
    files = personal_data.erase_resident(Actor.staff(supervisor), resident, reason="They asked by email.")
    db.session.commit()
    personal_data.remove_files(files)
    invoice = company_rows(received)[0]
    assert invoice.description == personal_data.ERASED and stored(INVOICE)
    assert not file_exists(residents_photo)
    assert db.session.scalar(select(func.count(EvidenceFile.id)).where(EvidenceFile.side == RESIDENT_SIDE)) == 0
