"""Reports: the team's work over time, drawn as SVG charts on the server, and CSV exports."""
from __future__ import annotations

from flask import render_template

from . import blueprint


@blueprint.get("/reports")
def reports():
    return render_template("manager/reports.html")
