"""The files a request brings (a resident's send, a letter's scanned pages, the company's own files)."""
from __future__ import annotations

from flask import request

from .. import uploads
from .unit_of_work import if_abandoned

_KEY = "resolver.files_of_this_request"  # kept with the request itself, so a retried attempt finds them


def files_of_this_request(storages, dispute, *, side: str = "resident") -> uploads.StoredBatch:
    """The request's files, checked and stored once per request (a retried request reuses them); if the
    request is not committed after all, the bytes it alone brought go too."""
    if _KEY not in request.environ:
        request.environ[_KEY] = uploads.receive(storages, dispute, side=side)
    batch = request.environ[_KEY]
    if_abandoned(lambda: uploads.discard_unreferenced(batch.created))  # each attempt registers its own
    return batch
