"""What every place offers, whether a folder or a bucket."""
from __future__ import annotations

from typing import BinaryIO, Iterator, Protocol


class StorageUnavailable(Exception):
    """A place cannot be reached or used; the message says which and why, in one sentence."""


class Place(Protocol):
    url: str

    def write(self, key: str, source: BinaryIO) -> None:
        """Store ``source``'s bytes under ``key``, whole or not at all. A key already there is left as it is."""

    def open(self, key: str) -> BinaryIO:
        """The object under ``key`` as a stream to read (FileNotFoundError when there is none)."""

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int:
        """How many bytes the object under ``key`` holds (FileNotFoundError when there is none)."""

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every key that starts with ``prefix``, in no particular order."""

    def delete(self, key: str) -> None:
        """Remove ``key``; removing a key that is not there is harmless."""

    def check(self) -> None:
        """Raise StorageUnavailable unless objects can be written and read here."""
