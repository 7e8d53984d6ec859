"""Routes of the manager blueprint."""
from . import blueprint  # noqa: F401
