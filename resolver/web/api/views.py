"""Routes of the api blueprint."""
from . import blueprint  # noqa: F401
