"""One unit of work per request: the one place a request's changes are committed.

A view that changes something carries ``@unit_of_work``. The view parses, calls its verb and builds
its response; when it returns, the request's transaction commits once, then the side effects it
queued with ``after_commit`` run. A refused request (a ``DomainError``) is rolled back and shown by
the view's ``refused`` page, or by the blueprint's error handler. When two requests change the same
rows at once, the loser is rolled back and run once more on fresh rows; if it still collides, the
person is told the dispute changed. Anything else rolls back and goes on to the error page.

GET and HEAD views do not carry it, so they never commit: the request's session is thrown away at
its end. A link's use is logged in its own transaction (``resolver.links.log_use``).
"""
from __future__ import annotations

import logging
from functools import wraps
from typing import Callable

from flask import current_app, g, request, session
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from ..errors import DomainError, StaleDispute
from ..extensions import db

log = logging.getLogger("resolver.request")
ATTEMPTS = 2  # the first try and one retry after a collision
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

Refused = Callable[..., object]


def is_version_conflict(error: BaseException) -> bool:
    """Whether another request changed the same rows first: a dispute's version moved under an
    UPDATE, or the same unique row (a vote, a one-time form key) was inserted twice at once."""
    if isinstance(error, StaleDataError):
        return True
    if isinstance(error, IntegrityError):
        original = error.orig
        return getattr(original, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(original)
    return False


def after_commit(action: Callable[[], object]) -> None:
    """Run ``action`` once the request's changes are committed (never if they are not)."""
    g.setdefault("_uow_after_commit", []).append(action)


def if_abandoned(action: Callable[[], object]) -> None:
    """Run ``action`` if the request ends without committing (refused, or failed)."""
    g.setdefault("_uow_if_abandoned", []).append(action)


def unit_of_work(view: Callable | None = None, *, refused: Refused | None = None):
    """Commit once when ``view`` returns; roll back, retry once, or refuse as described above.

    ``refused(error, *args, **kwargs)`` draws the page for a refused request (after the rollback,
    so it reads the rows as they are); without it the error goes to the blueprint's handler.
    """

    def decorate(view: Callable):
        @wraps(view)
        def run(*args, **kwargs):
            if request.method in SAFE_METHODS:
                return view(*args, **kwargs)  # a page that also takes a form: showing it commits nothing
            for attempt in range(1, ATTEMPTS + 1):
                flashes = list(session.get("_flashes", []))
                g._uow_after_commit, g._uow_if_abandoned = [], []
                try:
                    response = view(*args, **kwargs)
                    db.session.commit()
                except DomainError as error:
                    _abandon(flashes)
                    return _refuse(error, refused, args, kwargs)
                except Exception as error:
                    if is_version_conflict(error):
                        if attempt < ATTEMPTS:
                            log.info("another request changed the same rows first; trying once more",
                                     extra={"endpoint": request.endpoint, "error": type(error).__name__})
                            _take_back(flashes)
                            db.session.rollback()
                            continue
                        _abandon(flashes)
                        return _refuse(StaleDispute(), refused, args, kwargs)
                    _abandon(flashes)
                    raise
                g.pop("_uow_if_abandoned", None)
                for action in g.pop("_uow_after_commit", []):
                    action()
                return response
            raise AssertionError("unreachable: the last attempt returns or raises")

        run.is_unit_of_work = True
        return run

    return decorate(view) if view is not None else decorate


def _refuse(error: DomainError, refused: Refused | None, args, kwargs):
    if refused is None:
        raise error
    return refused(error, *args, **kwargs)


def _take_back(flashes: list) -> None:
    """Messages flashed by an attempt that did not commit are not said."""
    if session.get("_flashes", []) != flashes:
        if flashes:
            session["_flashes"] = flashes
        else:
            session.pop("_flashes", None)


def _abandon(flashes: list) -> None:
    db.session.rollback()
    _take_back(flashes)
    for action in g.pop("_uow_if_abandoned", []):
        try:
            action()
        except Exception:  # noqa: BLE001 - the request's own failure is the one to report
            current_app.logger.exception("clean-up after an abandoned request failed")
