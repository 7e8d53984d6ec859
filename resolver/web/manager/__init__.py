"""The manager blueprint: the staff's web app (sign-in, dashboard, disputes, settings, reports)."""
from flask import Blueprint

blueprint = Blueprint("manager", __name__)

from . import accounts, auth, ladder_answers, unmatched_mail, views  # noqa: E402,F401  (registers the routes and the sign-in)
