"""Sniffing is pure: the bytes alone decide what a file is, with no app, database or file name."""
from __future__ import annotations

import io
import zipfile

from PIL import Image

from resolver.uploads.sniffing import Verdict, served_name, sniff


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 10, 10)).save(out, format="PNG")
    return out.getvalue()


def _zip(**members: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_a_photo_is_named_a_photo_for_pillow_to_check():
    verdict = sniff(_png())
    assert verdict == Verdict("image/png", "photo") and verdict.is_photo


def test_documents_are_accepted_by_what_they_hold():
    assert sniff(b"%PDF-1.7\n%%EOF\n") == Verdict("application/pdf", "PDF")
    assert sniff("Née à Zürich.\nLe tapis était propre.\n".encode()) == Verdict("text/plain; charset=utf-8", "text file")
    docx = _zip(**{"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
    assert sniff(docx) == Verdict(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word document")


def test_what_is_refused_says_why():
    assert "empty" in sniff(b"").refusal
    assert "program" in sniff(b"\x7fELF\x02\x01\x01" + b"\x00" * 64).refusal
    assert "web page" in sniff(b"<html><script>alert(1)</script></html>").refusal
    assert "scripts" in sniff(b"%PDF-1.7\n/JavaScript (app.alert(1))\n").refusal
    assert "zip archive" in sniff(_zip(**{"notes.txt": b"hello"})).refusal
    assert not sniff(b"%PDF-1.7\n").is_photo


def test_a_download_carries_the_extension_of_what_it_is():
    assert served_name("photo.jpg", "application/pdf") == "photo.pdf"
    assert served_name("letter.PDF", "application/pdf") == "letter.PDF"


def test_a_download_is_never_named_as_a_page_or_a_program():
    assert served_name("invoice.html", "application/pdf") == "invoice.pdf"
    assert served_name("readme.exe", "text/plain; charset=utf-8") == "readme.txt"
    assert served_name("notes.html", "text/plain; charset=utf-8") == "notes.txt"
    assert served_name("photo.jpg\x00.html", "image/jpeg") == "photo.jpg"
    assert served_name("receipt\u202efdp.jpg", "image/jpeg") == "receiptfdp.jpg"
    assert served_name("../../etc/passwd", "text/plain; charset=utf-8") == "passwd.txt"
    assert served_name(".html", "application/pdf") == "html.pdf"
    assert served_name("", "application/pdf") == "file.pdf"
    # A type Resolver made itself, and bytes of no known type.
    assert served_name("task.html", "text/calendar") == "task.ics"
    assert served_name("mystery.exe", "application/x-unknown") == "mystery.bin"
