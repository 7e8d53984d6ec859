"""Evidence files through the real HTTP stack: what is refused and why, the limits from the
company's settings, photos served without their location, and a disk that fails mid-upload."""
from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from resolver.extensions import db
from resolver.files import file_exists, read_bytes
from resolver.models import EvidenceFile, Submission

from .test_resident_support import (
    EXECUTABLE, HTML_PAGE, SVG_WITH_SCRIPT, ResidentForm, counts, dispute_snapshot, docx, evidence_path, pdf, photo,
    plain_zip,
)


@pytest.fixture
def waiting(make_dispute):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    return dispute


def stored_anything(data: bytes) -> bool:
    return file_exists(hashlib.sha256(data).hexdigest())


def macro_docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        archive.writestr("word/vbaProject.bin", b"\x00macro")
    return out.getvalue()


MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
OLD_WORD = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512
GIF_WITH_SCRIPT = b"GIF89a<script>alert(1)</script>"
PDF_WITH_SCRIPT = pdf().replace(b"/Type /Catalog", b"/Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >>")


REFUSED = [
    ("empty.jpg", b"", "is empty"),
    ("photo.jpg", EXECUTABLE, "is a program"),
    ("photo.jpg", b"#!/bin/sh\nrm -rf ~\n", "is a program"),
    ("photo.jpg", HTML_PAGE, "web page or a drawing"),
    ("letter.html", HTML_PAGE, "web page or a drawing"),
    ("drawing.svg", SVG_WITH_SCRIPT, "web page or a drawing"),
    ("note.txt", b"<p>Hello</p><img src=x onerror=alert(1)>", "web page or a drawing"),
    ("photo.jpg", GIF_WITH_SCRIPT, "damaged"),
    ("photos.zip", plain_zip(), "is a zip archive"),
    ("letter.docx", macro_docx(), "contains macros"),
    ("letter.doc", OLD_WORD, "older Office file"),
    ("report.pdf", PDF_WITH_SCRIPT, "built-in scripts"),
    ("clip.mp4", MP4, "video"),
    ("IMG_0001.HEIC", HEIC, "JPEG"),
    ("data.bin", bytes(range(256)) * 4, "cannot recognise"),
]


@pytest.mark.parametrize("name, content, says", REFUSED, ids=[f"{name}: {says}" for name, _, says in REFUSED])
def test_a_forbidden_or_disguised_file_is_refused_with_a_reason_and_nothing_is_kept(client, waiting, name, content, says):
    before, snapshot = counts(), dispute_snapshot(waiting.id)
    good = photo(color=(10, 200, 30))
    sent = ResidentForm(client, waiting).send(details="Words I do not want to lose.",
                                              files=[("good.jpg", good), (name, content)])
    html = sent.get_data(as_text=True)
    assert sent.status_code == 422
    assert says in html and f"“{name}”" in html
    assert "Words I do not want to lose." in html and "attach them again" in html
    assert counts() == before and dispute_snapshot(waiting.id) == snapshot
    assert not stored_anything(good) and (not content or not stored_anything(content))


def test_a_file_over_the_size_limit_is_refused(client, waiting):
    big = b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024)  # the default limit is 10 MB a file
    sent = ResidentForm(client, waiting).send(files=[("scan.pdf", big)])
    html = sent.get_data(as_text=True)
    assert sent.status_code == 422
    assert "“scan.pdf” is 10.0 MB; each file can be at most 10.0 MB" in html
    assert db.session.query(Submission).count() == 0 and not stored_anything(big)


def test_too_many_files_are_refused_counting_what_was_sent_before(client, waiting, company):
    company.max_files = 3
    db.session.commit()
    sent = ResidentForm(client, waiting).send(files=[(f"p{i}.jpg", photo(color=(i, i, i))) for i in range(4)])
    assert sent.status_code == 422
    assert "You attached 4 files; up to 3 files can be sent for this dispute" in sent.get_data(as_text=True)
    assert db.session.query(EvidenceFile).count() == 0

    assert ResidentForm(client, waiting).send(files=[("a.jpg", photo(color=(1, 1, 1))),
                                                      ("b.jpg", photo(color=(2, 2, 2)))]).status_code == 303
    again = ResidentForm(client, waiting).send(files=[("c.jpg", photo(color=(3, 3, 3))),
                                                       ("d.jpg", photo(color=(4, 4, 4)))])
    assert again.status_code == 422
    assert "You have already sent 2, so 1 more can be added" in again.get_data(as_text=True)
    assert db.session.query(EvidenceFile).count() == 2


def test_files_over_the_dispute_total_are_refused(client, waiting, company):
    company.max_dispute_bytes = 3000
    company.max_file_bytes = 2000
    db.session.commit()
    one, two = pdf("a" * 1400), pdf("b" * 1400)
    sent = ResidentForm(client, waiting).send(files=[("one.pdf", one), ("two.pdf", two)])
    assert sent.status_code == 422
    assert "Together these files come to 3 KB; up to 3 KB can be sent for this dispute" in sent.get_data(as_text=True)
    assert db.session.query(EvidenceFile).count() == 0 and not stored_anything(one)


def test_a_send_far_over_the_limit_gets_a_clear_page_not_a_crash(client, waiting, company):
    company.max_dispute_bytes = 50_000  # the request may carry this plus room for the text
    db.session.commit()
    before = counts()
    sent = ResidentForm(client, waiting).send(files=[("huge.pdf", b"%PDF-1.4\n" + b"0" * (2 * 1024 * 1024))])
    html = sent.get_data(as_text=True)
    assert sent.status_code == 413
    assert "That was too much to send at once" in html and "Nothing was saved" in html
    assert "Back to the form" in html
    assert counts() == before


def test_a_disk_that_fails_mid_upload_leaves_nothing_and_the_resident_can_send_again(app, client, waiting, monkeypatch):
    first, second = photo(color=(50, 50, 50), gps=False, taken=None), pdf("second")
    real_fsync, calls = os.fsync, []

    def failing_fsync(fd):
        if stat.S_ISREG(os.fstat(fd).st_mode):
            calls.append(fd)
            if len(calls) == 2:  # the first file is written, then the disk fills up
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    before, snapshot = counts(), dispute_snapshot(waiting.id)
    form = ResidentForm(client, waiting)
    sent = form.send(details="Please keep this.", files=[("one.jpg", first), ("two.pdf", second)])
    html = sent.get_data(as_text=True)
    assert sent.status_code == 503
    assert "We could not save your files just now, so nothing was sent" in html and "Please keep this." in html
    assert counts() == before and dispute_snapshot(waiting.id) == snapshot
    assert not stored_anything(first) and not stored_anything(second)
    assert not list(Path(app.config["UPLOAD_FOLDER"]).rglob(".incoming-*"))  # no half-written file either

    monkeypatch.setattr(os, "fsync", real_fsync)
    assert form.send(details="Please keep this.", files=[("one.jpg", first), ("two.pdf", second)]).status_code == 303
    assert [f.original_name for f in db.session.scalars(db.select(EvidenceFile))] == ["one.jpg", "two.pdf"]


def test_a_file_is_on_disk_under_its_name_before_the_send_is_recorded(client, waiting, monkeypatch):
    """The file's bytes and then its name in the folder are flushed to disk before the row commits,
    so a power cut right after the receipt cannot lose what the receipt lists."""
    flushed, real_fsync, real_commit = [], os.fsync, db.session.commit

    def noting_fsync(fd):
        flushed.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        return real_fsync(fd)

    def noting_commit():
        flushed.append("commit")
        return real_commit()

    monkeypatch.setattr(os, "fsync", noting_fsync)
    form = ResidentForm(client, waiting)
    form.open()
    flushed.clear()
    monkeypatch.setattr(db.session, "commit", noting_commit)
    assert form.send(files=[("notes.txt", b"Called the office on 2 March.\n")]).status_code == 303
    first_commit_after_files = flushed.index("commit", flushed.index("file"))
    assert flushed[:first_commit_after_files][-2:] == ["file", "folder"]


def test_a_disk_that_fails_as_the_name_is_written_leaves_nothing(client, waiting, monkeypatch):
    real_fsync = os.fsync

    def failing_folder_fsync(fd):
        # The folders are made; the file is written and renamed; flushing its new name fails.
        if stat.S_ISDIR(os.fstat(fd).st_mode) and any(len(name) == 64 for name in os.listdir(fd)):
            raise OSError(errno.EIO, "Input/output error")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_folder_fsync)
    data = pdf("written, renamed, then the disk failed")
    before = counts()
    sent = ResidentForm(client, waiting).send(files=[("report.pdf", data)])
    assert sent.status_code == 503 and "nothing was sent" in sent.get_data(as_text=True)
    assert counts() == before and not stored_anything(data)


def test_a_database_failing_as_the_send_commits_leaves_no_files(app, waiting, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from resolver.web.resident import views

    real_submit = views.submit_evidence

    def submit_then_lose_the_database(*args, **kwargs):
        real_submit(*args, **kwargs)
        raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    data = pdf("sent as the database went away")
    before = counts()
    form = ResidentForm(app.test_client(), waiting)
    form.open()
    monkeypatch.setattr(views, "submit_evidence", submit_then_lose_the_database)
    with pytest.raises(OperationalError):
        form.send(files=[("report.pdf", data)])
    db.session.rollback()
    assert counts() == before and not stored_anything(data)


@pytest.mark.parametrize("fmt, content_type", [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")])
def test_a_photo_is_served_without_its_location_but_keeps_when_it_was_taken(client, waiting, fmt, content_type):
    original = photo(taken="2026:03:08 14:30:00", fmt=fmt)
    assert ResidentForm(client, waiting).send(files=[("bedroom.jpg", original)]).status_code == 303
    stored = db.session.scalars(db.select(EvidenceFile)).one()
    # 2:30 PM in Denver on 8 March 2026 (daylight time began that morning) is 20:30 UTC
    assert stored.captured_dt == datetime(2026, 3, 8, 20, 30, tzinfo=timezone.utc)
    assert stored.content_type == content_type
    assert stored.sha256 != hashlib.sha256(original).hexdigest()
    if fmt == "JPEG":  # kept for the record as sent, but for where it was taken
        kept = read_bytes(stored.received_sha256)
        assert b"GPS" not in kept and b"Resolver Test Camera" in kept and kept != original
    else:  # it cannot be kept as sent without the place: only the clean copy is kept
        assert stored.received_sha256 is None

    with client.get(evidence_path(waiting, f"/files/{stored.id}")) as served:
        assert served.status_code == 200
        data = served.data
    assert hashlib.sha256(data).hexdigest() == stored.sha256
    image = Image.open(io.BytesIO(data))
    assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert b"GPS" not in data and b"Resolver Test Camera" not in data
    assert image.size == (64, 48)
    receipt = client.get(evidence_path(waiting, f"/receipt/{stored.submission_id}")).get_data(as_text=True)
    assert "taken 2:30 PM on Sunday 8 March 2026" in receipt and "kept without its location data" in receipt


def test_a_camera_offset_is_used_for_the_capture_time(client, waiting):
    ResidentForm(client, waiting).send(files=[("away.jpg", photo(taken="2026:03:08 14:30:00", offset="+01:00"))])
    assert db.session.scalars(db.select(EvidenceFile)).one().captured_dt == datetime(2026, 3, 8, 13, 30, tzinfo=timezone.utc)


def test_the_type_comes_from_the_content_not_the_name(client, waiting):
    sent = ResidentForm(client, waiting).send(files=[("photo.jpg", pdf()), ("notes", b"Dates I called the office:\n2 March\n"),
                                                      ("lease", docx())])
    assert sent.status_code == 303
    kinds = {f.original_name: f.content_type for f in db.session.scalars(db.select(EvidenceFile))}
    assert kinds == {
        "photo.jpg": "application/pdf",
        "notes": "text/plain; charset=utf-8",
        "lease": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    }
    disguised = db.session.scalars(db.select(EvidenceFile).where(EvidenceFile.original_name == "photo.jpg")).one()
    with client.get(evidence_path(waiting, f"/files/{disguised.id}")) as served:
        assert served.mimetype == "application/pdf"
        assert served.headers["Content-Disposition"] == "attachment; filename=photo.pdf"  # opens as what it is


def test_a_file_is_downloaded_never_shown_as_a_page_and_only_through_the_link(client, waiting, make_dispute, app):
    ResidentForm(client, waiting).send(files=[("notes.txt", b"Called the office on 2 March; no answer.\n")])
    stored = db.session.scalars(db.select(EvidenceFile)).one()
    with client.get(evidence_path(waiting, f"/files/{stored.id}")) as served:
        assert served.data == b"Called the office on 2 March; no answer.\n"
    assert served.headers["Content-Disposition"].startswith("attachment")
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]
    assert "no-store" in served.headers["Cache-Control"]
    other = make_dispute("awaiting_evidence")
    db.session.commit()
    assert client.get(evidence_path(other, f"/files/{stored.id}")).status_code == 404
    tampered = evidence_path(waiting, f"/files/{stored.id}").replace("/r/e/", "/r/e/x")
    assert client.get(tampered).status_code == 404
    # the store is not inside the public static folder
    assert not str(Path(app.config["UPLOAD_FOLDER"]).resolve()).startswith(str(Path(app.static_folder).resolve()))


def test_a_text_file_that_happens_to_start_with_mz_is_not_taken_for_a_program(client, waiting):
    assert ResidentForm(client, waiting).send(files=[("notes.txt", b"MZ Properties called me on 2 March.\n")]).status_code == 303


def test_a_filename_with_folders_and_control_characters_is_cleaned(client, waiting):
    # A Windows path arrives with its backslashes escaped, as a quoted header value requires (Werkzeug
    # 3.1.9 and later read an unescaped backslash as an escape and drop it).
    ResidentForm(client, waiting).send(files=[
        ("C:\\\\Users\\\\tammy\\\\Pictures\\\\kitchen\x07 sink.jpg", photo()),
        ("home/tammy/Pictures/hall\x1b way.jpg", photo()),
    ])
    names = db.session.scalars(db.select(EvidenceFile.original_name).order_by(EvidenceFile.id)).all()
    assert names == ["kitchen sink.jpg", "hall way.jpg"]
