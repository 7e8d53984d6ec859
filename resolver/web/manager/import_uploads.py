"""Uploaded portfolio files, kept between the preview and the confirmation so nobody uploads twice.

The bytes are kept in the file store (under ``imports/``, in the folder or bucket every app process
shares, so the confirmation may reach another machine than the upload did) under a random name, for a
day at most. The page carries a token signed with the secret key that names the file, the company and
the file's SHA-256: a token that was altered, is another company's, or names a file whose bytes
changed is refused.
"""
from __future__ import annotations

import hashlib
import io
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from ...clock import now_utc
from ...errors import NotFound
from ...files import file_store

FOLDER = "imports/"

KEPT_FOR = timedelta(days=1)
AGAIN = "Upload the file again to see its preview."


@dataclass(frozen=True)
class Upload:
    token: str
    name: str
    data: bytes
    upload_id: str


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="portfolio-import")


def _read(key: str) -> bytes:
    with file_store().open(key) as stream:
        return stream.read()


def keep(data: bytes, name: str, company_id: int) -> str:
    """Keep an uploaded file; the token the pages carry to find it again."""
    _forget_old()
    upload_id = secrets.token_urlsafe(18)
    about = {"name": name, "company_id": company_id, "kept_dt": now_utc().isoformat()}
    file_store().write(f"{FOLDER}{upload_id}.json", io.BytesIO(json.dumps(about).encode()))
    file_store().write(f"{FOLDER}{upload_id}.csv", io.BytesIO(data))
    return _signer().dumps({"id": upload_id, "company": company_id, "sha256": hashlib.sha256(data).hexdigest()})


def load(token: str, company_id: int) -> Upload:
    """The kept file a token names, for this company; NotFound (nothing kept, changed or another's) otherwise."""
    try:
        named = _signer().loads(token)
    except BadSignature:
        raise NotFound(f"This import's address was altered, so it cannot be used. {AGAIN}") from None
    if named.get("company") != company_id:
        raise NotFound(f"There is no such import for your company. {AGAIN}")
    upload_id = named["id"]
    try:
        about = json.loads(_read(f"{FOLDER}{upload_id}.json"))
        data = _read(f"{FOLDER}{upload_id}.csv")
    except (OSError, ValueError):
        raise NotFound(f"This upload is no longer kept: a file is kept for a day, and only until it is "
                       f"imported. {AGAIN}") from None
    if hashlib.sha256(data).hexdigest() != named["sha256"]:
        raise NotFound(f"The kept file changed after it was uploaded, so it cannot be used. {AGAIN}")
    if now_utc() - datetime.fromisoformat(about["kept_dt"]) > KEPT_FOR:
        forget(upload_id)
        raise NotFound(f"This upload is no longer kept: a file is kept for a day, and only until it is "
                       f"imported. {AGAIN}")
    return Upload(token=token, name=about["name"], data=data, upload_id=upload_id)


def forget(upload_id: str) -> None:
    """Remove a kept file (imported, or too old): it holds residents' details."""
    file_store().delete(f"{FOLDER}{upload_id}.csv")
    file_store().delete(f"{FOLDER}{upload_id}.json")


def _forget_old() -> None:
    cutoff = now_utc() - KEPT_FOR
    for key in list(file_store().keys(FOLDER)):
        if not key.endswith(".json"):
            continue
        try:
            kept = datetime.fromisoformat(json.loads(_read(key))["kept_dt"])
        except (OSError, ValueError, KeyError):
            continue
        if kept < cutoff:
            forget(key.removeprefix(FOLDER).removesuffix(".json"))
