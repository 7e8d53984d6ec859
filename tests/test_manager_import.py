"""The import and export pages: upload a CSV, read its preview, confirm it (even after a reload, without
uploading again); a wrong file is refused with its reason and nothing is written."""
from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from resolver import create_app
from resolver.extensions import db
from resolver.files import file_store
from resolver.models import CompanyEvent, Property, Resident, Unit
from resolver.services.portfolio_csv import MAX_BYTES, MAX_ROWS

from .fixtures_manager import StaffClient, sign_in


@pytest.fixture
def company(make_company):
    """A company set up but for its portfolio, which these tests build themselves."""
    return make_company(with_property=False)

ROLL = ("Tenant ID,Property Name,Address,Unit,Tenant Name,Email Address,Phone Number,Monthly Rent\n"
        "T-1,Willow Court,1 Willow Way,4B,Tammy Rivera,tammy@mail.test,+1 303 555 0142,1200\n"
        "T-2,Willow Court,1 Willow Way,4C,Ray Okafor,ray@mail,,1100\n"
        ",Willow Court,1 Willow Way,5A,,,,\n")
_PREVIEW = re.compile(r"/import/[A-Za-z0-9_.\-]+")
_FINGERPRINT = re.compile(r'name="fingerprint" value="([0-9a-f]{64})"')


def upload(staff, data: bytes, name: str = "rent-roll.csv"):
    # The body is built here, in memory: the test client would spool a large one to a file it never closes.
    boundary = "resolver-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{staff.csrf()}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return staff.client.post("/import", input_stream=io.BytesIO(body),
                             content_type=f"multipart/form-data; boundary={boundary}")


def rows_written(company_id) -> tuple[int, int, int, int]:
    db.session.expire_all()
    return (
        db.session.scalar(select(func.count(Property.id)).where(Property.company_id == company_id)),
        db.session.scalar(select(func.count(Unit.id)).join(Property).where(Property.company_id == company_id)),
        db.session.scalar(select(func.count(Resident.id)).where(Resident.company_id == company_id)),
        db.session.scalar(select(func.count(CompanyEvent.id)).where(CompanyEvent.company_id == company_id)),
    )


def kept_files(app) -> list[str]:
    """The uploads kept between preview and confirmation, by their keys in the file store."""
    return sorted(key for key in file_store(app).keys("imports/") if key.endswith(".csv"))


@pytest.fixture
def staff(signed_in_client, manager, company):
    db.session.commit()
    return signed_in_client(manager)


def test_upload_preview_reload_and_confirm_without_uploading_again(app, staff, company):
    assert staff.get("/import").status_code == 200
    response = upload(staff, ROLL.encode())
    assert response.status_code == 303
    preview_url = response.headers["Location"]
    assert _PREVIEW.fullmatch(preview_url)
    page = staff.get(preview_url).get_data(as_text=True)
    assert "<strong>2</strong> new" in page and "<strong>1</strong> wrong" in page
    assert "“ray@mail” is not an email address" in page
    assert "Columns not imported: Monthly Rent." in page
    assert rows_written(company.id) == (0, 0, 0, 0)

    again = staff.get(preview_url)  # a reload (or coming back later) shows the same preview
    assert again.status_code == 200 and _FINGERPRINT.search(again.get_data(as_text=True))
    fingerprint = _FINGERPRINT.search(page).group(1)
    done = staff.post(preview_url, {"fingerprint": fingerprint})
    assert done.status_code == 303 and done.headers["Location"] == "/import"
    message = staff.get("/import").get_data(as_text=True)
    assert "Imported rent-roll.csv: 1 property, 2 units and 1 resident added; 0 residents changed; " \
           "1 wrong row skipped." in message
    assert rows_written(company.id) == (1, 2, 1, 1)
    assert kept_files(app) == []  # the residents' details are not kept once imported
    assert staff.post(preview_url, {"fingerprint": fingerprint}).status_code == 404  # and cannot be imported twice


def test_an_upload_previewed_on_one_machine_is_imported_on_another_sharing_the_bucket(
        app, staff, company, manager, bucket_url, tmp_path):
    app.config["STORAGE_URL"] = bucket_url
    url = upload_url(staff, ROLL)
    assert kept_files(app) and not list((tmp_path / "instance").rglob("*.csv"))  # in the bucket, not on this disk
    other = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "other-machine"),
                        "DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": app.config["SECRET_KEY"],
                        "STORAGE_URL": bucket_url, "PUBLIC_BASE_URL": app.config["PUBLIC_BASE_URL"]})
    there = other.test_client()
    assert sign_in(there, manager.email).status_code == 302
    staff_there = StaffClient(there, manager)
    try:
        page = staff_there.get(url).get_data(as_text=True)
        assert "<strong>2</strong> new" in page
        done = staff_there.post(url, {"fingerprint": _FINGERPRINT.search(page).group(1)})
        assert done.status_code == 303
    finally:
        with other.app_context():
            db.engine.dispose()
    assert rows_written(company.id) == (1, 2, 1, 1)
    assert kept_files(app) == []


def test_the_second_upload_of_the_same_file_previews_all_unchanged(app, staff, company):
    url = upload_url(staff, ROLL)
    first = staff.get(url).get_data(as_text=True)
    assert staff.post(url, {"fingerprint": _FINGERPRINT.search(first).group(1)}).status_code == 303
    second = staff.get(upload(staff, ROLL.encode()).headers["Location"]).get_data(as_text=True)
    assert "<strong>2</strong> unchanged" in second and "<strong>0</strong> new" in second
    assert "Nothing to import" in second and 'name="fingerprint"' not in second


def upload_url(staff, text: str) -> str:
    return upload(staff, text.encode()).headers["Location"]


def test_a_change_made_after_the_preview_is_shown_not_applied(app, staff, company):
    url = upload_url(staff, ROLL)
    fingerprint = _FINGERPRINT.search(staff.get(url).get_data(as_text=True)).group(1)
    db.session.add(Property(company_id=company.id, name="Willow Court", address="1 Willow Way"))
    db.session.commit()
    response = staff.post(url, {"fingerprint": fingerprint})
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "changed since this preview was made, so nothing was imported" in page
    assert "new property Willow Court" not in page and "<strong>2</strong> new" in page
    assert rows_written(company.id) == (1, 0, 0, 0)
    assert staff.post(url, {"fingerprint": _FINGERPRINT.search(page).group(1)}).status_code == 303
    assert rows_written(company.id) == (1, 2, 1, 1)


def test_an_altered_or_another_company_s_upload_is_refused(app, staff, company, make_company, make_staff,
                                                           signed_in_client):
    url = upload_url(staff, ROLL)
    fingerprint = _FINGERPRINT.search(staff.get(url).get_data(as_text=True)).group(1)
    altered = url[:-3] + ("abc" if not url.endswith("abc") else "xyz")
    response = staff.post(altered, {"fingerprint": fingerprint})
    assert response.status_code == 404 and "was altered" in response.get_data(as_text=True)
    assert staff.get(altered).status_code == 404
    stranger = signed_in_client(make_staff(make_company(), "supervisor"))
    assert stranger.get(url).status_code == 404
    assert stranger.post(url, {"fingerprint": fingerprint}).status_code == 404
    assert staff.post(url, {"fingerprint": "0" * 64}).status_code == 409  # a preview that was never shown
    assert rows_written(company.id) == (0, 0, 0, 0)


def test_a_kept_file_whose_bytes_changed_on_disk_is_refused(app, staff, company):
    url = upload_url(staff, ROLL)
    fingerprint = _FINGERPRINT.search(staff.get(url).get_data(as_text=True)).group(1)
    (key,) = kept_files(app)
    file_store(app).delete(key)
    file_store(app).write(key, io.BytesIO(ROLL.replace("Tammy", "Mallory").encode()))
    response = staff.post(url, {"fingerprint": fingerprint})
    assert response.status_code == 404 and "changed after it was uploaded" in response.get_data(as_text=True)
    assert rows_written(company.id) == (0, 0, 0, 0)


def test_an_upload_is_kept_for_a_day(app, staff, company, manager, frozen_clock, signed_in_client):
    url = upload_url(staff, ROLL)
    frozen_clock.freeze(frozen_clock.now_utc() + timedelta(days=1, minutes=1))
    response = signed_in_client(manager).get(url)  # signed in again: a session lasts 8 hours
    assert response.status_code == 404 and "no longer kept" in response.get_data(as_text=True)
    assert kept_files(app) == []


def _xlsx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return out.getvalue()


@pytest.mark.parametrize(("data", "name", "says"), [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "rent-roll.csv", "This file is a PDF, not a CSV"),
    (_xlsx(), "rent-roll.csv", "This file is an Excel workbook (.xlsx), not a CSV"),
    ("Property,Unit,Tenant\nCafé Lofts,1,Zoë\n".encode("cp1252"), "roll.csv", "not saved as UTF-8: line 2"),
    ("Property,Unit\n1,2\n".encode("utf-16"), "roll.csv", "saved as UTF-16"),
    (b"Property Name,Tenant,Email\nWillow Court,Tammy,t@mail.test\n", "roll.csv",
     "no column for the unit (“Unit”, “Unit Number” or “Apt”). Each row needs the property and the unit. "
     "Columns found: “Property Name”, “Tenant”, “Email”."),
    (b"", "empty.csv", "The file is empty"),
    (b"\xef\xbb\xbf\r\n\r\n", "blank.csv", "The file is empty"),
    (b"Property,Unit\n", "header.csv", "column names but no rows"),
    (("Property,Unit\n" + "Willow Court,1\n" * (MAX_ROWS + 1)).encode(), "big.csv",
     f"more than {MAX_ROWS:,} rows"),
    (b"Property,Unit,x\n" + b"Willow Court,1," + b"y" * MAX_BYTES + b"\n", "huge.csv", "larger than 5 MB"),
])
def test_a_wrong_file_is_refused_with_its_reason_and_nothing_is_kept_or_written(app, staff, company, data, name,
                                                                                says):
    response = upload(staff, data, name)
    page = response.get_data(as_text=True)
    assert response.status_code in (413, 422)
    assert says in page and "Nothing was changed." in page and 'role="alert"' in page
    assert kept_files(app) == [] and rows_written(company.id) == (0, 0, 0, 0)


def test_no_file_chosen_is_refused(app, staff, company):
    response = staff.post("/import", {})
    assert response.status_code == 422 and "Choose the CSV file to import." in response.get_data(as_text=True)


class CountingStream(io.RawIOBase):
    """A request body of ``size`` bytes that counts what is read of it (seeking, as the test client
    does to measure it, reads nothing)."""

    def __init__(self, size: int):
        self.size, self.position, self.read_bytes = size, 0, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=0):
        self.position = {0: offset, 1: self.position + offset, 2: self.size + offset}[whence]
        return self.position

    def tell(self):
        return self.position

    def readinto(self, buffer):
        n = max(0, min(len(buffer), self.size - self.position))
        buffer[:n] = b"x" * n
        self.position += n
        self.read_bytes += n
        return n


def test_a_50_mb_upload_is_refused_without_being_read(app, staff, company):
    body = CountingStream(50 * 1024 * 1024)
    response = staff.client.post("/import", input_stream=body, content_length=body.size,
                                 content_type="multipart/form-data; boundary=xyz")
    assert response.status_code == 413
    assert "larger than 5 MB" in response.get_data(as_text=True)
    assert body.read_bytes == 0
    assert rows_written(company.id) == (0, 0, 0, 0)


def test_the_export_downloads_what_the_import_reads_back_unchanged(app, staff, company):
    url = upload_url(staff, ROLL.replace("ray@mail,", "ray@mail.test,"))
    staff.post(url, {"fingerprint": _FINGERPRINT.search(staff.get(url).get_data(as_text=True)).group(1)})
    response = staff.get("/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbfexternal_id,property,address,portfolio,unit,resident_name")
    assert b"'+1 303 555 0142" in response.data  # a phone number a spreadsheet would read as a formula
    again = staff.get(upload(staff, response.data, "export.csv").headers["Location"]).get_data(as_text=True)
    assert "<strong>3</strong> unchanged" in again and "<strong>0</strong> changed" in again
