"""Resolver: the resolution-team process for residential property managers, as a workflow engine."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, has_request_context, request
from flask.sessions import SecureCookieSessionInterface

from .config import Config, from_environment
from .resources import resource_dir

__all__ = ["create_app"]


def create_app(config: dict | None = None) -> Flask:
    """Build the app: defaults, then ``RESOLVER_*`` environment variables, then ``config``."""
    settings = {**from_environment(), **(config or {})}
    instance_path = settings.pop("INSTANCE_PATH", None) or os.environ.get("RESOLVER_INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
        template_folder=str(resource_dir("templates")),
    )
    app.config.from_object(Config)
    app.config.update(settings)
    _configure_instance(app)
    _configure_database(app)
    _configure_proxy(app)
    _configure_sessions(app)
    _configure_extensions(app)
    _configure_templates(app)
    _configure_blueprints(app)
    _configure_clock(app)
    _configure_cli(app)
    return app


def _configure_instance(app: Flask) -> None:
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        # A newcomer needs no setup: keep a generated key in the instance folder across restarts.
        key_file = Path(app.instance_path) / "secret_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        app.config["SECRET_KEY"] = key_file.read_text().strip()
    if not app.config.get("UPLOAD_FOLDER"):
        app.config["UPLOAD_FOLDER"] = str(Path(app.instance_path) / "files")


def _configure_database(app: Flask) -> None:
    url = app.config.get("DATABASE_URL") or f"sqlite:///{Path(app.instance_path) / 'resolver.db'}"
    app.config["DATABASE_URL"] = url
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if url.startswith("sqlite"):
        options.setdefault("connect_args", {}).setdefault("timeout", 30)
    elif url.startswith("postgresql"):
        # Times come back in UTC, whatever the server's own zone: psycopg then needs no zone database
        # to read each one (half the CPU of reading a report's dates), and nothing depends on the server.
        options.setdefault("connect_args", {}).setdefault("options", "-c TimeZone=UTC")
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _configure_proxy(app: Flask) -> None:
    """Behind a reverse proxy, read the client's address and scheme from the headers it sets.

    Only as many hops as configured are believed: a client cannot forge its address past the proxy.
    """
    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops < 0:
        raise ValueError("RESOLVER_PROXY_HOPS is the number of proxies in front of Resolver: 0 or more.")
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops)


class _SessionCookie(SecureCookieSessionInterface):
    """The signed session cookie, marked Secure whenever the request came over HTTPS (directly, or as
    the trusted proxy says), and always when ``SESSION_COOKIE_SECURE`` is set."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)

    def open_session(self, app: Flask, request):
        # A stylesheet or script is the same for everyone: no session, so no cookie and no Vary: Cookie.
        if request.path.startswith(f"{app.static_url_path}/"):
            return None
        return super().open_session(app, request)


def _configure_sessions(app: Flask) -> None:
    app.session_interface = _SessionCookie()


def _configure_extensions(app: Flask) -> None:
    from .extensions import csrf, db, login_manager, mail

    db.init_app(app)
    mail.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)


def _configure_templates(app: Flask) -> None:
    from . import i18n, presentation

    i18n.init_app(app)
    presentation.init_app(app)


def _configure_blueprints(app: Flask) -> None:
    from . import observability
    from .web import register_blueprints

    register_blueprints(app)
    observability.init_app(app)


def _configure_clock(app: Flask) -> None:
    """Pages read the instance's clock (a demo's may be moved forward by `resolver tick --as-of`)."""
    from .installation import refresh_clock

    app.before_request(lambda: refresh_clock(app))


def _configure_cli(app: Flask) -> None:
    from .cli import register_commands

    register_commands(app)
