"""Files addressed by their SHA-256: evidence and letter PDFs.

A file is written to a temporary name, flushed to disk, then renamed into place, and the folder
holding the new name is flushed too (a rename lives in the folder, not in the file), so once
``store_bytes`` returns the file survives a power cut; a crash or a full disk never leaves half a file
under a real name, and two machines sharing the folder can only ever write the same bytes under one name.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from flask import current_app


def store_root() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def path_for(sha256: str, root: Path | None = None) -> Path:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("not a SHA-256 hex digest")
    return (root or store_root()) / sha256[:2] / sha256[2:4] / sha256


def store_bytes(data: bytes, root: Path | None = None) -> str:
    """Write ``data`` durably; return its SHA-256. Storing the same bytes twice is harmless."""
    sha256 = hashlib.sha256(data).hexdigest()
    target = path_for(sha256, root)
    if target.exists() and target.stat().st_size == len(data):
        return sha256
    _make_folders(target.parent)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
        sync_folder(target.parent)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return sha256


def _make_folders(folder: Path) -> None:
    """Create ``folder`` and any missing parents, each new name flushed to disk in its parent."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for new in reversed(missing):
        try:
            new.mkdir()
        except FileExistsError:  # another request made it a moment ago
            continue
        sync_folder(new.parent)


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries (new names, renames) to disk, where the system allows it."""
    if os.name != "posix":
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def read_bytes(sha256: str, root: Path | None = None) -> bytes:
    return path_for(sha256, root).read_bytes()
