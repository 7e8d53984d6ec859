"""A place that is a folder on this machine.

An object is written to a temporary name, flushed to disk, then renamed into place, and the folder
holding the new name is flushed too (a rename lives in the folder, not in the file), so once ``write``
returns the object survives a power cut; a crash or a full disk never leaves half an object under a
real name, and two machines sharing the folder can only ever write the same bytes under one name.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator

from .place import StorageUnavailable

_INCOMING = ".incoming-"


class Folder:
    def __init__(self, root: Path):
        self.root = root
        self.url = str(root.resolve())  # a plain path: what people type, and what place_at opens again

    def path(self, key: str) -> Path:
        return self.root / key

    def write(self, key: str, source: BinaryIO) -> None:
        target = self.path(key)
        if target.exists():
            return
        _make_folders(target.parent)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=_INCOMING)
        try:
            with os.fdopen(handle, "wb") as out:
                shutil.copyfileobj(source, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
            sync_folder(target.parent)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> BinaryIO:
        return self.path(key).open("rb")

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size

    def keys(self, prefix: str = "") -> Iterator[str]:
        for path in self.root.rglob("*"):
            if path.is_file() and not path.name.startswith(_INCOMING):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def check(self) -> None:
        try:
            _make_folders(self.root)
            with tempfile.TemporaryFile(dir=self.root):
                pass
        except OSError as error:
            raise StorageUnavailable(f"Resolver cannot write files in {self.root}: {error.strerror}.") from None


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
