"""Where Resolver keeps files: a folder on this machine, or a bucket in S3-compatible storage.

Both are *places* holding named objects, each written whole or not at all and read back as a stream.
``place_at(url)`` opens one from a URL: a plain path or ``file://`` URL for a folder, ``s3://bucket/prefix``
for a bucket. ``resolver.files`` keeps evidence, letters and calendars in the place the settings name,
under their SHA-256; a backup is written to another place.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from .folder import Folder
from .place import Place, StorageUnavailable

__all__ = ["Place", "StorageUnavailable", "place_at"]


def place_at(url: str) -> Place:
    if url.startswith("s3://"):
        from .bucket import Bucket  # boto3 takes a while to import: only when a bucket is named

        parts = urlsplit(url)
        if not parts.netloc:
            raise ValueError(f"{url} names no bucket: write s3://bucket or s3://bucket/prefix.")
        return Bucket(parts.netloc, parts.path)
    return Folder(Path(url.removeprefix("file://")))
