"""The resident blueprint: the evidence form and status page, and the outcome page (receipt, offer)."""
from flask import Blueprint

blueprint = Blueprint("resident", __name__)

from . import language_views, outcome_views, views  # noqa: E402,F401  (registers the routes)
