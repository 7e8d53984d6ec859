"""The api blueprint: JSON for property-management systems, under /api/v1, with company API keys."""
from flask import Blueprint

blueprint = Blueprint("api", __name__)

from . import portfolio, views  # noqa: E402,F401  (registers the routes)
