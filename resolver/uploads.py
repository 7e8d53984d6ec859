"""What a resident may upload, decided by the bytes, never by the file's name.

Photos (JPEG, PNG, GIF, WebP) are opened with Pillow and re-encoded, so the copy anyone is shown
has no location or other EXIF data left in it; the moment the photo was taken is kept as a column.
PDFs, Word/Excel/PowerPoint files, OpenDocument files and plain text are accepted as they are.
Programs, web pages, SVG drawings, archives, and anything else we cannot name are refused with a
sentence the resident can act on.

The bytes exactly as received are kept as well when the served copy differs (for the record, in
case a photo's authenticity is ever questioned); only the clean copy is ever served.
"""
from __future__ import annotations

import hashlib
import io
import re
import warnings
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import filetype
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func, select

from .clock import now_utc
from .errors import DomainError, InvalidInput
from .extensions import db
from .files import path_for, store_bytes
from .workdays import local_zone

MB = 1024 * 1024


class UploadRefused(InvalidInput):
    """One file, or the set of them, cannot be accepted; nothing was saved."""

    def __init__(self, message: str, *, filename: str | None = None):
        super().__init__(message, field="files")
        self.filename = filename


class UploadNotSaved(DomainError):
    """The files were fine but could not be written (a full or failing disk); nothing was saved."""

    status_code = 503

    def __init__(self):
        super().__init__(
            "We could not save your files just now, so nothing was sent. Please try again in a few "
            "minutes; if it keeps happening, contact the office."
        )


@dataclass(frozen=True)
class UploadLimits:
    max_file_bytes: int
    max_dispute_bytes: int
    max_files: int

    @classmethod
    def of(cls, company) -> UploadLimits:
        return cls(company.max_file_bytes, company.max_dispute_bytes, company.max_files)


@dataclass
class CheckedFile:
    """One upload that passed every check, not yet stored."""

    name: str
    content_type: str
    kind: str  # for people: "photo", "PDF", "Word document"...
    received: bytes
    served: bytes  # what anyone is shown: ``received`` unless something had to be removed
    captured_dt: datetime | None = None

    @property
    def size_bytes(self) -> int:
        return len(self.received)


def describe_size(size: int) -> str:
    if size >= MB:
        return f"{size / MB:.1f} MB"
    if size >= 1024:
        return f"{round(size / 1024)} KB"
    return f"{size} bytes"


# Names ------------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def display_name(raw: str | None) -> str:
    """The file's name as the resident knows it, without folders or control characters."""
    name = re.split(r"[\\/]", raw or "")[-1]
    name = " ".join(_CONTROL.sub("", name).split()).strip(". ") or "file"
    if len(name) > 200:
        stem, dot, extension = name.rpartition(".")
        name = (stem[: 200 - len(extension) - 1] + dot + extension) if dot and len(extension) <= 10 else name[:200]
    return name


# Sniffing ---------------------------------------------------------------------------------------

_PHOTO_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
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


def served_name(name: str, content_type: str) -> str:
    """The name to download a file under: the resident's own, with the extension its content really
    has, so a PDF named photo.jpg opens as a PDF."""
    extensions = _EXTENSIONS.get(content_type)
    if not extensions or name.rpartition(".")[2].lower() in extensions:
        return name
    return f"{name}.{extensions[0]}"


_ACCEPTED = "photos (JPEG, PNG, GIF, WebP), PDFs, Word, Excel, PowerPoint, OpenDocument or plain-text files"


def _refuse(name: str, why: str) -> UploadRefused:
    return UploadRefused(f"“{name}” {why}", filename=name)


def check_file(name: str, data: bytes, *, limits: UploadLimits, company) -> CheckedFile:
    """Decide what ``data`` really is; return it ready to store, or raise UploadRefused."""
    if not data:
        raise _refuse(name, "is empty (0 bytes). Please choose the file again, or leave it out.")
    if len(data) > limits.max_file_bytes:
        raise _refuse(name, f"is {describe_size(len(data))}; each file can be at most "
                            f"{describe_size(limits.max_file_bytes)}. A smaller photo, or a PDF of fewer pages, "
                            "will fit.")
    if data.startswith(_PROGRAM_MAGIC) or _WINDOWS_PROGRAM.match(data):
        raise _refuse(name, "is a program, not a photo or a document, so it cannot be sent here.")
    if data.startswith(_OLE_MAGIC):
        raise _refuse(name, "is an older Office file (.doc, .xls or .ppt), which can carry macros. "
                            "Please save it as a PDF or in the newer format (.docx, .xlsx) and send that.")
    guess = filetype.guess(data)
    mime = guess.mime if guess else ""
    if mime in ("image/jpeg", "image/png", "image/gif", "image/webp"):
        return _checked_photo(name, data, company)
    if data.startswith(b"%PDF-"):
        return _checked_pdf(name, data)
    if data.startswith(b"PK\x03\x04"):
        return _checked_zip(name, data)
    if _is_text(data):
        return _checked_text(name, data)
    if mime.startswith("image/"):
        raise _refuse(name, "is a kind of picture we cannot check (for example an iPhone HEIC photo). "
                            "Please send it as a JPEG: a screenshot of the photo works too.")
    if mime.startswith(("video/", "audio/")):
        raise _refuse(name, "is a video or a recording, which cannot be sent here. "
                            "A photo or a screenshot of the moment that matters works well instead.")
    if guess is not None:
        raise _refuse(name, "is an archive or another kind of file we cannot accept. "
                            f"Please send {_ACCEPTED}, one by one.")
    raise _refuse(name, f"is a kind of file we cannot recognise. Please send {_ACCEPTED}.")


def _checked_photo(name: str, data: bytes, company) -> CheckedFile:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as probe:
                probe.verify()
            image = Image.open(io.BytesIO(data))
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _refuse(name, "has too many pixels to check safely. Please send a smaller copy.") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise _refuse(name, "looks like a photo but is damaged or incomplete. Please choose it again.") from None
    if image.format not in _PHOTO_TYPES:
        raise _refuse(name, f"is not a kind of photo we accept. Please send {_ACCEPTED}.")
    captured = _captured_dt(image.getexif(), company)
    try:
        served = _without_metadata(image)
    except (OSError, ValueError, EOFError, SyntaxError):  # a later frame of an animation is broken
        raise _refuse(name, "looks like a photo but is damaged or incomplete. Please choose it again.") from None
    except LocationNotRemoved:
        raise _refuse(name, "carries location data we could not remove. A screenshot of the photo works.") from None
    return CheckedFile(name=name, content_type=_PHOTO_TYPES[image.format], kind="photo", received=data,
                       served=served, captured_dt=captured)


class LocationNotRemoved(Exception):
    """Re-encoding left GPS data in a photo: it must not be served."""


# Kept so the served photo still looks right; everything else (EXIF, GPS, XMP, comments, text) goes.
_KEPT_INFO = ("icc_profile", "transparency", "duration", "loop", "background", "disposal")


def _without_metadata(image: Image.Image) -> bytes:
    """The same picture, re-encoded with no EXIF (so no GPS), no XMP, no comments."""
    image_format = image.format
    frames = getattr(image, "n_frames", 1)
    if frames == 1:
        # The orientation tag goes with the rest of EXIF, so turn the pixels the right way up first.
        image = ImageOps.exif_transpose(image)
    kept = {k: v for k, v in image.info.items() if k in _KEPT_INFO}
    image.info = dict(kept)
    options: dict = {"exif": b""}
    if image_format == "JPEG":
        options.update(quality=90, icc_profile=kept.get("icc_profile"))
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
    elif image_format in ("GIF", "WEBP", "PNG") and frames > 1:
        options.update(save_all=True)
    if image_format == "WEBP":
        options.update(quality=90, lossless=False)
    out = io.BytesIO()
    image.save(out, format=image_format, **{k: v for k, v in options.items() if v is not None})
    cleaned = out.getvalue()
    with Image.open(io.BytesIO(cleaned)) as check:  # never serve a copy that still says where it was taken
        if check.getexif().get_ifd(ExifTags.IFD.GPSInfo) or b"GPS" in check.info.get("xmp", b""):
            raise LocationNotRemoved()
    return cleaned


_EXIF_MOMENT = re.compile(r"^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


def _captured_dt(exif: Image.Exif, company) -> datetime | None:
    """When the photo was taken, as UTC: the camera's local time, in its stated offset, else the
    company's zone (the photo was almost certainly taken at the property)."""
    details = exif.get_ifd(ExifTags.IFD.Exif)
    raw = details.get(ExifTags.Base.DateTimeOriginal) or details.get(ExifTags.Base.DateTimeDigitized)
    match = _EXIF_MOMENT.match(str(raw or "").strip())
    if not match:
        return None
    try:
        moment = datetime(*(int(part) for part in match.groups()))
    except ValueError:
        return None
    offset = _EXIF_OFFSET.match(str(details.get(ExifTags.Base.OffsetTimeOriginal) or "").strip())
    if offset:
        sign = 1 if offset.group(1) == "+" else -1
        zone = timezone(sign * timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3))))
        aware = moment.replace(tzinfo=zone)
    else:
        aware = moment.replace(tzinfo=local_zone(company))
    aware = aware.astimezone(timezone.utc)
    if aware.year < 1990 or aware > now_utc() + timedelta(days=1):
        return None  # a camera whose clock was never set says nothing useful
    return aware


def _checked_pdf(name: str, data: bytes) -> CheckedFile:
    if any(marker in data for marker in _PDF_ACTIVE):
        raise _refuse(name, "is a PDF with built-in scripts or attachments, which cannot be sent here. "
                            "Printing it to a new PDF, or sending a photo of the pages, works.")
    return CheckedFile(name=name, content_type="application/pdf", kind="PDF", received=data, served=data)


def _checked_zip(name: str, data: bytes) -> CheckedFile:
    """Office and OpenDocument files are zip files inside; any other zip is an archive."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if "[Content_Types].xml" in names:
                if any(n.lower().endswith(("vbaproject.bin", "vbadata.xml")) for n in names) or (
                    b"macroenabled" in _read_small(archive, "[Content_Types].xml").lower()
                ):
                    raise _refuse(name, "contains macros (small programs), so it cannot be sent here. "
                                        "Saving it as a PDF works.")
                for folder, (content_type, kind) in _OOXML.items():
                    if any(n.startswith(folder) for n in names):
                        return CheckedFile(name=name, content_type=content_type, kind=kind, received=data, served=data)
            elif "mimetype" in names:
                declared = _read_small(archive, "mimetype").decode("ascii", "replace").strip()
                if declared in _ODF_KINDS:
                    if any(n.startswith(("Basic/", "Scripts/")) for n in names):
                        raise _refuse(name, "contains macros (small programs), so it cannot be sent here. "
                                            "Saving it as a PDF works.")
                    return CheckedFile(name=name, content_type=declared, kind=_ODF_KINDS[declared],
                                       received=data, served=data)
    except (zipfile.BadZipFile, KeyError, ValueError, RuntimeError, NotImplementedError):
        raise _refuse(name, "looks like a document but is damaged. Please save it again, or send it as a PDF.") from None
    raise _refuse(name, f"is a zip archive. Please send the files inside it one by one ({_ACCEPTED}).")


def _read_small(archive: zipfile.ZipFile, member: str, limit: int = 256 * 1024) -> bytes:
    if archive.getinfo(member).file_size > limit:
        raise ValueError("member too large")
    return archive.read(member)


_BINARY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")


def _is_text(data: bytes) -> bool:
    """UTF-8 text without the control characters binary files are full of."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return not _BINARY_CONTROL.search(text)


def _checked_text(name: str, data: bytes) -> CheckedFile:
    if _MARKUP.search(data):
        raise _refuse(name, "is a web page or a drawing that can contain code (HTML, SVG or XML), so it cannot "
                            "be sent here. A screenshot or a PDF of it works.")
    return CheckedFile(name=name, content_type="text/plain; charset=utf-8", kind="text file",
                       received=data, served=data)


# Limits over the whole dispute ------------------------------------------------------------------

def dispute_usage(dispute_id: int) -> tuple[int, int]:
    """How many files, and how many bytes as received, this dispute already holds."""
    from .models import EvidenceFile

    count, total = db.session.execute(
        select(
            func.count(EvidenceFile.id),
            func.coalesce(func.sum(func.coalesce(EvidenceFile.received_size_bytes, EvidenceFile.size_bytes)), 0),
        ).where(EvidenceFile.dispute_id == dispute_id)
    ).one()
    return int(count), int(total)


def check_dispute_limits(dispute, sizes: list[int]) -> None:
    """Refuse a set of new files that would take the dispute past its company's limits."""
    if not sizes:
        return
    limits = UploadLimits.of(dispute.company)
    count, total = dispute_usage(dispute.id)
    if count + len(sizes) > limits.max_files:
        room = max(limits.max_files - count, 0)
        already = f" You have already sent {count}, so {room} more can be added." if count else ""
        raise UploadRefused(
            f"You attached {len(sizes)} files; up to {limits.max_files} files can be sent for this dispute."
            f"{already} Please choose the ones that show the most."
        )
    if total + sum(sizes) > limits.max_dispute_bytes:
        room = max(limits.max_dispute_bytes - total, 0)
        already = f" You have already sent {describe_size(total)}, so {describe_size(room)} more fits." if total else ""
        raise UploadRefused(
            f"Together these files come to {describe_size(sum(sizes))}; up to "
            f"{describe_size(limits.max_dispute_bytes)} can be sent for this dispute.{already} "
            "Smaller photos, or fewer of them, will fit."
        )


# Receiving a send -------------------------------------------------------------------------------

def receive(storages, dispute) -> StoredBatch:
    """Check every uploaded file of one send, then the dispute's limits, then store them all.

    ``storages`` are Werkzeug FileStorage objects; a file input left empty arrives without a name
    and is skipped. Raises UploadRefused (nothing stored) or UploadNotSaved (nothing kept).
    """
    limits = UploadLimits.of(dispute.company)
    checked = []
    for storage in storages:
        if not storage or not storage.filename:
            continue
        name = display_name(storage.filename)
        data = storage.stream.read(limits.max_file_bytes + 1)  # one byte more is enough to say "too big"
        if len(data) > limits.max_file_bytes:
            raise _refuse(name, f"is {describe_size(_full_size(storage.stream, len(data)))}; each file can be at most "
                                f"{describe_size(limits.max_file_bytes)}. A smaller photo, or a PDF of fewer pages, "
                                "will fit.")
        checked.append(check_file(name, data, limits=limits, company=dispute.company))
    check_dispute_limits(dispute, [item.size_bytes for item in checked])
    return store_checked(checked)


def _full_size(stream, read_so_far: int) -> int:
    try:
        return stream.seek(0, io.SEEK_END)
    except (OSError, AttributeError, ValueError):
        return read_so_far


# Storing ----------------------------------------------------------------------------------------

@dataclass
class StoredBatch:
    """The files of one submission once written, and which blobs this request created."""

    files: list[dict]
    created: list[str]


def store_checked(checked: list[CheckedFile]) -> StoredBatch:
    """Write every file durably (before any database row commits); on a disk fault remove what
    this call wrote and raise UploadNotSaved."""
    created: list[str] = []
    files: list[dict] = []
    try:
        for item in checked:
            served_sha = _store(item.served, created)
            received_sha = _store(item.received, created) if item.received != item.served else None
            files.append({
                "original_name": item.name,
                "content_type": item.content_type,
                "size_bytes": len(item.served),
                "sha256": served_sha,
                "received_sha256": received_sha,
                "received_size_bytes": len(item.received) if received_sha else None,
                "captured_dt": item.captured_dt,
            })
    except OSError:
        discard_unreferenced(created)
        raise UploadNotSaved() from None
    return StoredBatch(files=files, created=created)


def _store(data: bytes, created: list[str]) -> str:
    sha256 = hashlib.sha256(data).hexdigest()
    existed = path_for(sha256).exists()
    try:
        store_bytes(data)
    finally:
        if not existed:  # even when the disk failed after the file got its name: it is ours to remove
            created.append(sha256)
    return sha256


def discard_unreferenced(hashes: list[str]) -> None:
    """Remove blobs this request wrote when no evidence row refers to them (a refused or failed
    send leaves nothing of the resident's behind)."""
    from .models import EvidenceFile

    if not hashes:
        return
    referenced = set(
        db.session.scalars(select(EvidenceFile.sha256).where(EvidenceFile.sha256.in_(hashes)))
    ) | set(
        db.session.scalars(select(EvidenceFile.received_sha256).where(EvidenceFile.received_sha256.in_(hashes)))
    )
    for sha256 in set(hashes) - referenced:
        Path(path_for(sha256)).unlink(missing_ok=True)
