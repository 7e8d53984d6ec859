"""Company settings: windows, days and holidays, the team's rules, caps, contacts, the roster, staff, API keys."""
from __future__ import annotations

from flask import render_template

from . import blueprint


@blueprint.get("/settings")
def settings():
    return render_template("manager/settings.html")
