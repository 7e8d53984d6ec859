"""Files addressed by their SHA-256: evidence, letter PDFs and calendars.

They live in the place the settings name (``resolver.storage``: the upload folder by default, or an
S3-compatible bucket), each under ``ab/cd/<sha256>``. A file is written once, whole or not at all, and
never overwritten: the same bytes always have the same name.
"""
from __future__ import annotations

import hashlib
import io
from typing import BinaryIO

from flask import Flask, current_app

from .storage import Place, place_at


def file_store(app: Flask | None = None) -> Place:
    """The place the app keeps its files in (``RESOLVER_STORAGE_URL``, or the upload folder), opened once
    per app: a bucket's client and its connections are shared by every request."""
    app = app or current_app._get_current_object()
    url = storage_url(app)
    opened = app.extensions.get("resolver.files")
    if opened is None or opened[0] != url:
        opened = app.extensions["resolver.files"] = (url, place_at(url))
    return opened[1]


def storage_url(app: Flask) -> str:
    return app.config.get("STORAGE_URL") or app.config["UPLOAD_FOLDER"]


def key_for(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("not a SHA-256 hex digest")
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def store_bytes(data: bytes) -> str:
    """Write ``data`` durably; return its SHA-256. Storing the same bytes twice is harmless."""
    sha256 = hashlib.sha256(data).hexdigest()
    file_store().write(key_for(sha256), io.BytesIO(data))
    return sha256


def open_file(sha256: str) -> BinaryIO:
    return file_store().open(key_for(sha256))


def file_size(sha256: str) -> int:
    return file_store().size(key_for(sha256))


def file_exists(sha256: str) -> bool:
    return file_store().exists(key_for(sha256))


def delete_file(sha256: str) -> None:
    file_store().delete(key_for(sha256))


def read_bytes(sha256: str) -> bytes:
    with open_file(sha256) as stream:
        return stream.read()
