"""The web layer: one blueprint per audience. Views are thin: parse, call one verb, render; the
request's one unit of work (``unit_of_work``) commits."""
from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from .api import blueprint as api
    from .assets import init_app as send_pages_lean
    from .errors import register_error_handlers
    from .mailbox import blueprint as mailbox
    from .manager import blueprint as manager
    from .panel import blueprint as panel
    from .resident import blueprint as resident
    from .security_headers import init_app as add_security_headers

    app.register_blueprint(manager)
    app.register_blueprint(resident, url_prefix="/r")
    app.register_blueprint(panel, url_prefix="/p")
    app.register_blueprint(api, url_prefix="/api/v1")
    app.register_blueprint(mailbox, url_prefix="/mailbox")
    register_error_handlers(app)
    add_security_headers(app)
    send_pages_lean(app)
