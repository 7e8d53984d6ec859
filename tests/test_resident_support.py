"""Helpers for the resident tests: a dispute's evidence link, the form as a browser sends it, and
files of every kind a resident might attach (made here, so no test depends on stray fixtures)."""
from __future__ import annotations

import io
import re
import zipfile

from PIL import ExifTags, Image
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from resolver.extensions import db
from resolver.links import current_link, token_for
from resolver.models import AuditEvent, Dispute, EvidenceFile, ExtensionRequest, OutboxEmail, Submission, Timer


def evidence_link(dispute):
    return current_link(dispute.id, "evidence", resident_id=dispute.resident_id)


def evidence_path(dispute, suffix: str = "") -> str:
    return f"/r/e/{token_for(evidence_link(dispute))}{suffix}"


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name} in the page"
    return match.group(1)


class ResidentForm:
    """The resident's form, opened and sent through the real HTTP stack (CSRF and all)."""

    def __init__(self, client, dispute):
        self.client, self.dispute = client, dispute
        self.path = evidence_path(dispute)
        self.page = None

    def open(self):
        self.page = self.client.get(self.path)
        assert self.page.status_code == 200, self.page.get_data(as_text=True)
        return self.page

    @property
    def html(self) -> str:
        return self.page.get_data(as_text=True)

    def send(self, *, details="The carpet was clean when I moved out.", suggestion="Refund the cleaning charge.",
             amount="", files=(), form_key=None, csrf=True, extra=None):
        if self.page is None:
            self.open()
        data = MultiDict({
            "form_key": form_key or hidden(self.html, "form_key"),
            "details": details,
            "suggested_resolution": suggestion,
            "suggested_amount": amount,
            **(extra or {}),
        })
        if csrf:
            data["csrf_token"] = hidden(self.html, "csrf_token")
        for name, content in files or [("", b"")]:  # a browser sends an empty part when no file is chosen
            data.add("files", FileStorage(io.BytesIO(content), filename=name, content_type="application/octet-stream"))
        # Encoded in memory, as a browser would send it (the test client spools big bodies to an unclosed file).
        boundary, body = encode_multipart(data)
        return self.client.post(self.path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def counts() -> dict:
    """How many rows of everything a resident's visit could possibly change."""
    tables = (Submission, EvidenceFile, ExtensionRequest, AuditEvent, OutboxEmail, Timer)
    return {t.__name__: db.session.query(t).count() for t in tables}


def dispute_snapshot(dispute_id: int) -> tuple:
    db.session.expire_all()
    d = db.session.get(Dispute, dispute_id)
    return (d.state, d.version, d.evidence_due_dt, d.evidence_received_dt, d.reply_due_dt)


# Files -----------------------------------------------------------------------------------------

GPS_LATITUDE = (39.0, 44.0, 21.0)


def photo(*, taken: str | None = "2026:03:08 14:30:00", gps: bool = True, size=(64, 48), fmt="JPEG",
          color=(200, 120, 40), offset: str | None = None) -> bytes:
    """A small photo with a capture time and (by default) the place it was taken."""
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Resolver Test Camera"
    if taken:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken
        if offset:
            exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.OffsetTimeOriginal] = offset
    if gps:
        place = exif.get_ifd(ExifTags.IFD.GPSInfo)
        place[ExifTags.GPS.GPSLatitudeRef] = "N"
        place[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
        place[ExifTags.GPS.GPSLongitudeRef] = "W"
        place[ExifTags.GPS.GPSLongitude] = (104.0, 59.0, 12.0)
    out = io.BytesIO()
    options = {"exif": exif}
    if gps and fmt == "JPEG":
        options["xmp"] = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                          b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="39,44.35N"/>'
                          b'</rdf:RDF></x:xmpmeta>')
    image.save(out, fmt, **options)
    return out.getvalue()


def pdf(text: str = "Move-out inspection report") -> bytes:
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
            b"% " + text.encode() + b"\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("photos/one.jpg", photo())
    return out.getvalue()


EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200 + b"This program cannot be run in DOS mode"
HTML_PAGE = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG_WITH_SCRIPT = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
