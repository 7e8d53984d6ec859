"""Storing checked uploads in the content-hash file store, durably and before any row commits, and
removing what a failed or refused send wrote."""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy import select

from ..errors import DomainError
from ..extensions import db
from ..files import delete_file, file_exists, store_bytes

log = logging.getLogger(__name__)


class UploadNotSaved(DomainError):
    """The files were fine but could not be written (a full or failing disk, a bucket that refused them or
    could not be reached: the place raises OSError for each); nothing was saved."""

    status_code = 503

    def __init__(self):
        super().__init__(
            "We could not save your files just now, so nothing was sent. Please try again in a few "
            "minutes; if it keeps happening, contact the office."
        )


@dataclass
class StoredBatch:
    """The files of one submission once written, and which blobs this request created."""

    files: list[dict]
    created: list[str]


def store_checked(checked) -> StoredBatch:
    """Write every checked file (``CheckedFile``) durably, before any database row commits; on a disk
    or bucket fault remove what this call wrote and raise UploadNotSaved."""
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
        try:
            discard_unreferenced(created)
        except OSError:  # storage that failed the write may fail the clean-up too: the resident is told the same
            log.warning("could not remove the files of an upload that was not saved: %s", created)
        raise UploadNotSaved() from None
    return StoredBatch(files=files, created=created)


def _store(data: bytes, created: list[str]) -> str:
    sha256 = hashlib.sha256(data).hexdigest()
    existed = file_exists(sha256)
    try:
        store_bytes(data)
    finally:
        if not existed:  # even when the disk failed after the file got its name: it is ours to remove
            created.append(sha256)
    return sha256


def discard_unreferenced(hashes: list[str]) -> None:
    """Remove blobs this request wrote when no evidence row refers to them (a refused or failed
    send leaves nothing of the resident's behind)."""
    from ..models import EvidenceFile

    if not hashes:
        return
    referenced = set(
        db.session.scalars(select(EvidenceFile.sha256).where(EvidenceFile.sha256.in_(hashes)))
    ) | set(
        db.session.scalars(select(EvidenceFile.received_sha256).where(EvidenceFile.received_sha256.in_(hashes)))
    )
    for sha256 in set(hashes) - referenced:
        delete_file(sha256)
