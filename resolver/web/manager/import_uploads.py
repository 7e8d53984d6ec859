"""Uploaded portfolio files, kept between the preview and the confirmation so nobody uploads twice.

The bytes are kept in the upload folder (``<UPLOAD_FOLDER>/imports``, which every app process shares,
so the confirmation may reach another machine than the upload did) under a random name, for a day
at most. The page carries a token signed with the secret key that names the file, the company and
the file's SHA-256: a token that was altered, is another company's, or names a file whose bytes
changed is refused.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from ...clock import now_utc
from ...errors import NotFound

KEPT_FOR = timedelta(days=1)
AGAIN = "Upload the file again to see its preview."


@dataclass(frozen=True)
class Upload:
    token: str
    name: str
    data: bytes
    path: Path


def _folder() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"]) / "imports"


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="portfolio-import")


def _write(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def keep(data: bytes, name: str, company_id: int) -> str:
    """Keep an uploaded file; the token the pages carry to find it again."""
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True)
    _forget_old(folder)
    upload_id = secrets.token_urlsafe(18)
    _write(folder / f"{upload_id}.json",
           json.dumps({"name": name, "company_id": company_id, "kept_dt": now_utc().isoformat()}).encode())
    _write(folder / f"{upload_id}.csv", data)
    return _signer().dumps({"id": upload_id, "company": company_id, "sha256": hashlib.sha256(data).hexdigest()})


def load(token: str, company_id: int) -> Upload:
    """The kept file a token names, for this company; NotFound (nothing kept, changed or another's) otherwise."""
    try:
        named = _signer().loads(token)
    except BadSignature:
        raise NotFound(f"This import's address was altered, so it cannot be used. {AGAIN}") from None
    if named.get("company") != company_id:
        raise NotFound(f"There is no such import for your company. {AGAIN}")
    path = _folder() / f"{named['id']}.csv"
    try:
        about = json.loads((_folder() / f"{named['id']}.json").read_text())
        data = path.read_bytes()
    except (OSError, ValueError):
        raise NotFound(f"This upload is no longer kept: a file is kept for a day, and only until it is "
                       f"imported. {AGAIN}") from None
    if hashlib.sha256(data).hexdigest() != named["sha256"]:
        raise NotFound(f"The kept file changed after it was uploaded, so it cannot be used. {AGAIN}")
    if now_utc() - datetime.fromisoformat(about["kept_dt"]) > KEPT_FOR:
        forget(path)
        raise NotFound(f"This upload is no longer kept: a file is kept for a day, and only until it is "
                       f"imported. {AGAIN}")
    return Upload(token=token, name=about["name"], data=data, path=path)


def forget(path: Path) -> None:
    """Remove a kept file (imported, or too old): it holds residents' details."""
    path.unlink(missing_ok=True)
    path.with_suffix(".json").unlink(missing_ok=True)


def _forget_old(folder: Path) -> None:
    cutoff = now_utc() - KEPT_FOR
    for about in folder.glob("*.json"):
        try:
            kept = datetime.fromisoformat(json.loads(about.read_text())["kept_dt"])
        except (OSError, ValueError, KeyError):
            continue
        if kept < cutoff:
            forget(about.with_suffix(".csv"))
