"""Routes of the mailbox blueprint."""
from . import blueprint  # noqa: F401
