"""Turning domain errors into pages (or JSON under /api) with a clear message and no change."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from ..errors import DomainError, StaleDispute
from ..extensions import db


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def missing_page(error: HTTPException):
    """A page that is not there (404, or 405 for a method it does not take), as a page of Resolver's."""
    return render_template("http_error.html"), error.code


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        db.session.rollback()
        if _wants_json():
            return jsonify(error=type(error).__name__, message=error.message, allowed=error.allowed), error.status_code
        return render_template("error.html", message=error.message, allowed=error.allowed), error.status_code

    @app.errorhandler(StaleDataError)
    def stale(error):
        return domain_error(StaleDispute())
