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

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from django.core.exceptions import ValidationError

if TYPE_CHECKING:
    from django.db.models import Model, QuerySet

M = TypeVar("M", bound="Model")


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

    def as_validation_error(self) -> ValidationError:
        """The same refusal for a Django form's `add_error` (by field where it names one)."""
        if isinstance(self.errors, dict) and self.errors:
            return ValidationError(self.errors)
        return ValidationError(self.message)


class InvalidInput(DomainError):
    """The input is wrong; `errors` says where (field errors or row errors)."""

    code = "invalid"
    default_message = "The request is not valid."

    @classmethod
    def field(cls, name: str, message: str) -> InvalidInput:
        """One field's error, in the field-error shape."""
        return cls(errors={name: [message]})


def full_clean(instance: Model) -> None:
    """The model's own validation, refused as InvalidInput: services raise one input-error
    style whether the check is theirs or the model's."""
    try:
        instance.full_clean()
    except ValidationError as exc:
        raise InvalidInput(errors=exc.message_dict) from exc


class NotFound(DomainError):
    """No such object, or not one the caller may see (the two read alike)."""

    code = "not_found"
    default_message = "Not found."


def one_or_not_found(queryset: QuerySet[M], **lookup: Any) -> M:
    """The one row of `queryset` matching `lookup`, or NotFound: a selector's get_object_or_404
    without HTTP (the API and the pages both answer 404)."""
    try:
        return queryset.get(**lookup)
    except queryset.model.DoesNotExist:
        raise NotFound(f"No such {queryset.model._meta.verbose_name}.") from None


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


class TooMany(DomainError):
    """Too many of these from this client for now: `retry_after` seconds until it may try
    again (the limits of hitlcrowd/throttling.py)."""

    code = "throttled"
    default_message = "Too many requests; try again later."

    def __init__(self, message: str | None = None, *, retry_after: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class TooLarge(DomainError):
    """The input is larger than a configured limit."""

    code = "too_large"
    default_message = "The request is too large."
