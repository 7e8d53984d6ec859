"""What a resident (or the company, for its own side) may upload, decided by the bytes, never by the
file's name.

Photos (JPEG, PNG, GIF, WebP) are opened with Pillow and re-encoded, so the copy anyone is shown
has no location or other EXIF data left in it; the moment the photo was taken is kept as a column.
PDFs, Word/Excel/PowerPoint files, OpenDocument files and plain text are accepted as they are.
Programs, web pages, SVG drawings, archives, and anything else we cannot name are refused with a
sentence the resident can act on.

The bytes exactly as received are kept as well when the served copy differs (for the record, in
case a photo's authenticity is ever questioned), but never with where the photo was taken: a JPEG's
location is cut out of its bytes, and any other photo that has one is kept only as its clean copy.
Only the clean copy is ever served.

Here: the limits, and one send from the form to the store. The parts: ``sniffing`` (what the bytes
are), ``photos`` (Pillow's checks and the clean copy) and ``storage`` (the content-hash files).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..errors import InvalidInput
from ..extensions import db
from ..text import cleaned_file_name
from ..workdays import local_zone
from .photos import PhotoRefused, check_photo
from .sniffing import ACCEPTED, served_name, sniff
from .storage import StoredBatch, UploadNotSaved, discard_unreferenced, store_checked

__all__ = [
    "CheckedFile", "MB", "StoredBatch", "UploadLimits", "UploadNotSaved", "UploadRefused", "check_dispute_limits",
    "check_file", "describe_size", "discard_unreferenced", "display_name", "dispute_usage", "receive",
    "served_name", "store_checked",
]

MB = 1024 * 1024


class UploadRefused(InvalidInput):
    """One file, or the set of them, cannot be accepted; nothing was saved."""

    def __init__(self, message: str, *, filename: str | None = None):
        super().__init__(message, field="files")
        self.filename = filename


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
    return _("%(size)s bytes", size=size)


display_name = cleaned_file_name  # the file's name as the resident knows it, kept and shown


def _refuse(name: str, why) -> UploadRefused:
    """``why`` (a sniffing or photo refusal) said of the file ``name``, in the language of the moment."""
    return UploadRefused(str(why) % {"name": name, "accepted": str(ACCEPTED)}, filename=name)


def _too_big(name: str, size: int, limits: UploadLimits) -> UploadRefused:
    return UploadRefused(_("“%(name)s” is %(size)s; each file can be at most %(most)s. A smaller photo, or a PDF "
                           "of fewer pages, will fit.", name=name, size=describe_size(size),
                           most=describe_size(limits.max_file_bytes)), filename=name)


def check_file(name: str, data: bytes, *, limits: UploadLimits, company) -> CheckedFile:
    """Decide what ``data`` really is; return it ready to store, or raise UploadRefused."""
    if data and len(data) > limits.max_file_bytes:
        raise _too_big(name, len(data), limits)
    verdict = sniff(data)
    if verdict.refusal:
        raise _refuse(name, verdict.refusal)
    if not verdict.is_photo:
        return CheckedFile(name=name, content_type=verdict.content_type, kind=verdict.kind, received=data, served=data)
    try:
        photo = check_photo(data, local_zone(company))
    except PhotoRefused as refused:
        raise _refuse(name, refused.reason) from None
    return CheckedFile(name=name, content_type=photo.content_type, kind="photo", received=photo.kept,
                       served=photo.served, captured_dt=photo.captured_dt)


# Limits over the whole dispute ------------------------------------------------------------------

def dispute_usage(dispute_id: int, side: str = "resident") -> tuple[int, int]:
    """How many files, and how many bytes as received, one side of this dispute already holds."""
    from ..models import EvidenceFile

    count, total = db.session.execute(
        select(
            func.count(EvidenceFile.id),
            func.coalesce(func.sum(func.coalesce(EvidenceFile.received_size_bytes, EvidenceFile.size_bytes)), 0),
        ).where(EvidenceFile.dispute_id == dispute_id, EvidenceFile.side == side)
    ).one()
    return int(count), int(total)


def check_dispute_limits(dispute, sizes: list[int], side: str = "resident") -> None:
    """Refuse a set of new files that would take one side of the dispute past its company's limits.
    Each side has the whole allowance: the company's files never use up the resident's room."""
    if not sizes:
        return
    limits = UploadLimits.of(dispute.company)
    count, total = dispute_usage(dispute.id, side)
    if count + len(sizes) > limits.max_files:
        raise UploadRefused(" ".join(filter(None, (
            _("You attached %(chosen)s files; up to %(most)s files can be sent for this dispute.",
              chosen=len(sizes), most=limits.max_files),
            _already_counted(side, count, max(limits.max_files - count, 0)) if count else "",
            _("Please choose the ones that show the most.")))))
    if total + sum(sizes) > limits.max_dispute_bytes:
        raise UploadRefused(" ".join(filter(None, (
            _("Together these files come to %(size)s; up to %(most)s can be sent for this dispute.",
              size=describe_size(sum(sizes)), most=describe_size(limits.max_dispute_bytes)),
            _already_sized(side, total, max(limits.max_dispute_bytes - total, 0)) if total else "",
            _("Smaller photos, or fewer of them, will fit.")))))


def _already_counted(side: str, count: int, room: int) -> str:
    if side == "resident":
        return _("You have already sent %(count)s, so %(room)s more can be added.", count=count, room=room)
    return _("The company's side already has %(count)s, so %(room)s more can be added.", count=count, room=room)


def _already_sized(side: str, total: int, room: int) -> str:
    if side == "resident":
        return _("You have already sent %(size)s, so %(room)s more fits.", size=describe_size(total),
                 room=describe_size(room))
    return _("The company's side already has %(size)s, so %(room)s more fits.", size=describe_size(total),
             room=describe_size(room))


# Receiving a send -------------------------------------------------------------------------------

def receive(storages, dispute, side: str = "resident") -> StoredBatch:
    """Check every uploaded file of one send, then ``side``'s limits on the dispute, then store them all.

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
            raise _too_big(name, _full_size(storage.stream, len(data)), limits)
        checked.append(check_file(name, data, limits=limits, company=dispute.company))
    check_dispute_limits(dispute, [item.size_bytes for item in checked], side)
    return store_checked(checked)


def _full_size(stream, read_so_far: int) -> int:
    try:
        return stream.seek(0, io.SEEK_END)
    except (OSError, AttributeError, ValueError):
        return read_so_far
