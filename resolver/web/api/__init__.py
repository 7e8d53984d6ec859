"""The api blueprint."""
from flask import Blueprint

blueprint = Blueprint("api", __name__)

from . import views  # noqa: E402,F401  (registers the routes)
