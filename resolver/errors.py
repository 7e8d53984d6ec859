"""Domain errors: each says what was wrong and, where it helps, what is allowed now."""
from __future__ import annotations


class DomainError(Exception):
    """A request Resolver refuses; nothing was changed."""

    status_code = 400

    def __init__(self, message: str, *, allowed: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.allowed = allowed or []


class NotAllowed(DomainError):
    status_code = 403


class NotFound(DomainError):
    status_code = 404


class WrongState(DomainError):
    status_code = 409


class GuardFailed(DomainError):
    status_code = 409


class DeadlinePassed(DomainError):
    status_code = 409


class StaleDispute(DomainError):
    status_code = 409

    def __init__(self, message: str = "This dispute changed while you were looking at it. "
                 "Reload the page to see what changed, then try again."):
        super().__init__(message)


class AlreadyRecorded(DomainError):
    """The same one-time act was already recorded (a double tap, a retry): nothing changed, and the
    message says what stands. Not a failure, so the page answers 200."""

    status_code = 200


class InvalidInput(DomainError):
    status_code = 422

    def __init__(self, message: str, *, field: str | None = None, allowed: list[str] | None = None):
        super().__init__(message, allowed=allowed)
        self.field = field


class LinkError(DomainError):
    """An email link that cannot be used: expired, revoked, tampered or for something else."""

    status_code = 403

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason
