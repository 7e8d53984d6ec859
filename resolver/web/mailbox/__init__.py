"""The mailbox blueprint."""
from flask import Blueprint

blueprint = Blueprint("mailbox", __name__)

from . import views  # noqa: E402,F401  (registers the routes)
