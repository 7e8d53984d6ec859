"""Health check and structured logs: one line per request and per job, with the dispute id."""
from __future__ import annotations

import json
import logging
import time

from flask import Blueprint, Flask, g, jsonify, request
from sqlalchemy import text

from .extensions import db
from .files import file_store
from .storage import StorageUnavailable

log = logging.getLogger("resolver.request")
blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    """For load balancers and systemd: is the database answering, and can files be stored?"""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:  # any failure means "not healthy", and the body says why
        db.session.rollback()
        return jsonify(status="unhealthy", database=type(error).__name__), 503
    try:
        file_store().check()
    except StorageUnavailable as error:
        return jsonify(status="unhealthy", database="ok", storage=str(error)), 503
    return jsonify(status="ok", database="ok", storage="ok")


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object per line, with any ``extra`` fields kept."""

    _standard = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in self._standard})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)

    @app.before_request
    def _start_timer():
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        started = g.pop("request_started", None)
        args = request.view_args or {}
        log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
                "dispute_id": args.get("dispute_id"),
            },
        )
        return response
