"""What a file is, from its bytes alone: a kind Resolver accepts, or the reason it is refused.

Pure: bytes in, a verdict out. Nothing here opens a picture (``photos`` does) or writes a file.
"""
from __future__ import annotations

import io
import mimetypes
import re
import zipfile
from dataclasses import dataclass

import filetype
from flask_babel import lazy_gettext as _l

from ..text import cleaned_file_name

PHOTO_MIME_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
ACCEPTED = _l("photos (JPEG, PNG, GIF, WebP), PDFs, Word, Excel, PowerPoint, OpenDocument or plain-text files")

_OOXML = {
    "word/": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word document"),
    "xl/": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel spreadsheet"),
    "ppt/": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "PowerPoint file"),
}
# The extensions a content type goes by; the first is added to a download's name when missing.
_EXTENSIONS = {
    "image/jpeg": ("jpg", "jpeg"), "image/png": ("png",), "image/gif": ("gif",), "image/webp": ("webp",),
    "application/pdf": ("pdf",), "text/plain; charset=utf-8": ("txt", "text", "csv", "md", "log"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("xlsx",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ("pptx",),
    "application/vnd.oasis.opendocument.text": ("odt",),
    "application/vnd.oasis.opendocument.spreadsheet": ("ods",),
    "application/vnd.oasis.opendocument.presentation": ("odp",),
}
_ODF_KINDS = {
    "application/vnd.oasis.opendocument.text": "OpenDocument text",
    "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument spreadsheet",
    "application/vnd.oasis.opendocument.presentation": "OpenDocument presentation",
}
# Windows programs start "MZ" too, but always with NUL bytes soon after (a text file never has any).
_WINDOWS_PROGRAM = re.compile(rb"^MZ[\s\S]{0,62}\x00")
_PROGRAM_MAGIC = (b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
                  b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!", b"\x00asm", b"dex\n")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Any tag at all (<p>, <img ...>, <svg>, <?xml, <!DOCTYPE): a text file with markup is a web page.
_MARKUP = re.compile(rb"<(?:[!?][a-z]|/?[a-z][a-z0-9:-]*(?:\s[^<>]*)?/?>)", re.I)
_PDF_ACTIVE = (b"/JavaScript", b"/Launch", b"/EmbeddedFile", b"/RichMedia")
_BINARY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")
_MACROS = _l("“%(name)s” contains macros (small programs), so it cannot be sent here. Saving it as a PDF works.")


@dataclass(frozen=True)
class Verdict:
    """What the bytes are: a type we accept (its content type, and its kind in words for people:
    "photo", "PDF", "Word document"...), or why not, as the end of a sentence after the file's name."""

    content_type: str = ""
    kind: str = ""
    refusal: str = ""

    @property
    def is_photo(self) -> bool:
        """A photo still has to be opened and checked (``photos``) before it is accepted."""
        return self.kind == "photo"


def _refused(why: str) -> Verdict:
    return Verdict(refusal=why)


def sniff(data: bytes) -> Verdict:
    """Decide what ``data`` really is, by its content and never by a name."""
    if not data:
        return _refused(_l("“%(name)s” is empty (0 bytes). Please choose the file again, or leave it out."))
    if data.startswith(_PROGRAM_MAGIC) or _WINDOWS_PROGRAM.match(data):
        return _refused(_l("“%(name)s” is a program, not a photo or a document, so it cannot be sent here."))
    if data.startswith(_OLE_MAGIC):
        return _refused(_l("“%(name)s” is an older Office file (.doc, .xls or .ppt), which can carry macros. "
                           "Please save it as a PDF or in the newer format (.docx, .xlsx) and send that."))
    guess = filetype.guess(data)
    mime = guess.mime if guess else ""
    if mime in PHOTO_MIME_TYPES:
        return Verdict(mime, "photo")
    if data.startswith(b"%PDF-"):
        return _pdf(data)
    if data.startswith(b"PK\x03\x04"):
        return _zip(data)
    if _is_text(data):
        return _text(data)
    if mime.startswith("image/"):
        return _refused(_l("“%(name)s” is a kind of picture we cannot check (for example an iPhone HEIC photo). "
                           "Please send it as a JPEG: a screenshot of the photo works too."))
    if mime.startswith(("video/", "audio/")):
        return _refused(_l("“%(name)s” is a video or a recording, which cannot be sent here. "
                           "A photo or a screenshot of the moment that matters works well instead."))
    if guess is not None:
        return _refused(_l("“%(name)s” is an archive or another kind of file we cannot accept. Please send "
                           "%(accepted)s, one by one."))
    return _refused(_l("“%(name)s” is a kind of file we cannot recognise. Please send %(accepted)s."))


def served_name(name: str, content_type: str) -> str:
    """The one name every download goes by: the sender's name for the file, cleaned, ending in the
    extension of the type Resolver verified, so a PDF named invoice.html saves as invoice.pdf and can
    never be opened from disk as a web page or a program."""
    extensions = _EXTENSIONS.get(content_type) or _extension_of(content_type)
    cleaned = cleaned_file_name(name)
    stem, dot, extension = cleaned.rpartition(".")
    if dot and extension.lower() in extensions:
        return cleaned
    stem = stem.strip(". ") if dot else cleaned
    if stem.rpartition(".")[2].lower() in extensions:  # photo.jpg.html, a JPEG: photo.jpg
        return stem
    return f"{stem or 'file'}.{extensions[0]}"


def _extension_of(content_type: str) -> tuple[str, ...]:
    """Extensions for a type Resolver made itself (a calendar invitation); unknown bytes are .bin."""
    guessed = mimetypes.guess_extension(content_type.partition(";")[0].strip().lower(), strict=True)
    return (guessed.lstrip("."),) if guessed else ("bin",)


def _pdf(data: bytes) -> Verdict:
    if any(marker in data for marker in _PDF_ACTIVE):
        return _refused(_l("“%(name)s” is a PDF with built-in scripts or attachments, which cannot be sent here. "
                           "Printing it to a new PDF, or sending a photo of the pages, works."))
    return Verdict("application/pdf", "PDF")


def _zip(data: bytes) -> Verdict:
    """Office and OpenDocument files are zip files inside; any other zip is an archive."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if "[Content_Types].xml" in names:
                if any(n.lower().endswith(("vbaproject.bin", "vbadata.xml")) for n in names) or (
                    b"macroenabled" in _read_small(archive, "[Content_Types].xml").lower()
                ):
                    return _refused(_MACROS)
                for folder, (content_type, kind) in _OOXML.items():
                    if any(n.startswith(folder) for n in names):
                        return Verdict(content_type, kind)
            elif "mimetype" in names:
                declared = _read_small(archive, "mimetype").decode("ascii", "replace").strip()
                if declared in _ODF_KINDS:
                    if any(n.startswith(("Basic/", "Scripts/")) for n in names):
                        return _refused(_MACROS)
                    return Verdict(declared, _ODF_KINDS[declared])
    except (zipfile.BadZipFile, KeyError, ValueError, RuntimeError, NotImplementedError):
        return _refused(_l("“%(name)s” looks like a document but is damaged. Please save it again, or send it as a PDF."))
    return _refused(_l("“%(name)s” is a zip archive. Please send the files inside it one by one (%(accepted)s)."))


def _read_small(archive: zipfile.ZipFile, member: str, limit: int = 256 * 1024) -> bytes:
    if archive.getinfo(member).file_size > limit:
        raise ValueError("member too large")
    return archive.read(member)


def _is_text(data: bytes) -> bool:
    """UTF-8 text without the control characters binary files are full of."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return not _BINARY_CONTROL.search(text)


def _text(data: bytes) -> Verdict:
    if _MARKUP.search(data):
        return _refused(_l("“%(name)s” is a web page or a drawing that can contain code (HTML, SVG or XML), so it "
                           "cannot be sent here. A screenshot or a PDF of it works."))
    return Verdict("text/plain; charset=utf-8", "text file")
