"""Reading a file while checking it is the file it claims to be."""
from __future__ import annotations

import hashlib
from typing import BinaryIO


class CorruptFile(Exception):
    """A file's bytes do not have the SHA-256 (or size) its name or the manifest gives it."""


class Checked:
    """A stream read through to its end only if its bytes have ``sha256`` (and ``size``, when given).

    At the end it raises CorruptFile instead of giving the last empty read, so a place writing from it
    stops and keeps nothing (a place writes whole or not at all).
    """

    def __init__(self, stream: BinaryIO, sha256: str, name: str, size: int | None = None):
        self.stream, self.sha256, self.name, self.expected_size = stream, sha256, name, size
        self._digest = hashlib.sha256()
        self.size = 0
        self.is_finished = False

    def read(self, amount: int = -1) -> bytes:
        chunk = self.stream.read(amount)
        if chunk:
            self._digest.update(chunk)
            self.size += len(chunk)
            return chunk
        if self._digest.hexdigest() != self.sha256 or self.expected_size not in (None, self.size):
            raise CorruptFile(f"{self.name} is damaged: its bytes no longer have the SHA-256 the backup "
                              f"recorded ({self.sha256}).")
        self.is_finished = True
        return b""


def read_through(checked: Checked) -> int:
    """Read ``checked`` to its end, keeping nothing (CorruptFile if it is damaged); return its size."""
    while checked.read(1024 * 1024):
        pass
    return checked.size


def sha256_of_file(path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
