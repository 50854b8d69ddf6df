"""Domain errors: what a service raises when it refuses, in the domain's words.

Services, selectors and the ledger raise these and import nothing from DRF or django.http
(tests/unit/test_domain_errors.py enforces it). Each app names its own refusals in
`apps/<app>/errors.py` (`LeaseExpired`, `BudgetSpent`, ...) as subclasses of the kinds below.
The kind decides the HTTP status, in one place for the API (`hitlcrowd.api.exception_handler`)
and the same table for the pages (`hitlcrowd.api.domain_status`); the error carries the rest
of the one error body: a stable `code` clients may branch on, a `message` for people, and
`errors`: field errors (`{"field": ["message"]}`) or row errors (`[{"row": n, ...}]`).
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A refusal. Subclasses set `code` and usually a fixed `message`."""

    code: ClassVar[str] = "error"
    default_message: ClassVar[str] = "The request was refused."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        errors: Any = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.message = message if message is not None else self.default_message
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.errors = errors
        self.extra = extra or {}  # more top-level keys of the error body
        super().__init__(self.message)


class InvalidInput(DomainError):
    """The input is wrong; `errors` says where (field errors or row errors)."""

    code = "invalid"
    default_message = "The request is not valid."

    @classmethod
    def field(cls, name: str, message: str) -> InvalidInput:
        """One field's error, in the field-error shape."""
        return cls(errors={name: [message]})


class NotFound(DomainError):
    """No such object, or not one the caller may see (the two read alike)."""

    code = "not_found"
    default_message = "Not found."


class Forbidden(DomainError):
    """The caller is known but not allowed to do this (blocked, not qualified)."""

    code = "forbidden"
    default_message = "You are not allowed to do this."


class Conflict(DomainError):
    """The object's state does not allow this now (budget spent, project closed)."""

    code = "conflict"
    default_message = "This conflicts with the current state."


class Gone(DomainError):
    """What the caller holds no longer exists (an expired lease, a closed task)."""

    code = "gone"
    default_message = "This is no longer available."


class TooLarge(DomainError):
    """The input is larger than a configured limit."""

    code = "too_large"
    default_message = "The request is too large."
