"""The MTurk app's refusals: domain errors for its services (the REST API and pages map them as
everywhere), and `MturkError`, the wire error of the /mturk/ endpoint.

botocore reads a JSON-protocol error's code from `__type` (the part after a `#`) and its
message from `Message`, so boto3's `ClientError.response["Error"]["Code"]` is our `__type`.
MTurk modeled two errors, `ServiceFault` (its side) and `RequestError` (the caller's), both
carrying `TurkErrorCode`, and boto3 users catch them as `client.exceptions.RequestError`.
Before any operation runs, AWS's front door answers in its own codes, and so do we
(`MissingAuthenticationTokenException`, `IncompleteSignatureException`,
`InvalidSignatureException`, `UnrecognizedClientException`): code written against AWS checks
those names.
"""

from __future__ import annotations

from apps.workers.errors import InsufficientFunds
from hitlcrowd.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
    TooLarge,
)

# --- Services (REST API and pages) -----------------------------------------------------------


class AccessKeyLimit(Conflict):
    code = "access_key_limit"
    default_message = "You hold as many live access keys as allowed: revoke one first."


class EncryptionUnavailable(Conflict):
    code = "encryption_key_missing"
    default_message = (
        "Access keys cannot be created on this server: ENCRYPTION_KEY is not set (ask its "
        "administrator)."
    )


class HITAlreadyExists(Conflict):
    """A UniqueRequestToken used before: nothing is created, the message names the HIT."""

    code = "hit_already_exists"
    turk_code = "AWS.MechanicalTurk.HitAlreadyExists"

    def __init__(self, hit_id: str) -> None:
        super().__init__(
            f"The HIT with ID {hit_id} already exists: it was created by an earlier request "
            "with this UniqueRequestToken."
        )
        self.hit_id = hit_id


class WorkerIdInvalid(NotFound):
    """A WorkerId that names no worker (MTurk's words for it)."""

    code = "worker_id_invalid"
    default_message = "WorkerId is invalid."


class QualificationTypeNotFound(NotFound):
    """No such qualification type, or another requester's (the two read alike)."""

    code = "qualification_type_not_found"
    turk_code = "AWS.MechanicalTurk.QualificationTypeDoesNotExist"

    def __init__(self, qualification_type_id: str) -> None:
        super().__init__(f"QualificationType [{qualification_type_id}] does not exist.")


class QualificationNotFound(NotFound):
    """The worker holds no qualification of this type (granted or revoked)."""

    code = "qualification_not_found"
    turk_code = "AWS.MechanicalTurk.QualificationDoesNotExist"
    default_message = "You requested a Qualification that does not exist."


class QualificationTypeExists(Conflict):
    code = "qualification_type_exists"
    turk_code = "AWS.MechanicalTurk.QualificationTypeAlreadyExists"
    default_message = (
        "You have already created a QualificationType with this name. A QualificationType's "
        "name must be unique among all of the QualificationTypes created by the same user."
    )


class HITStateInvalid(Conflict):
    """The HIT's status does not allow this (deleted, not yet reviewable, ...)."""

    code = "hit_state_invalid"


class MaximumAssignmentsIncreaseInvalid(Conflict):
    code = "invalid_maximum_assignments_increase"
    turk_code = "AWS.MechanicalTurk.InvalidMaximumAssignmentsIncrease"

    def __init__(self, wanted: int) -> None:
        super().__init__(
            f"This HIT has {wanted} assignments: a HIT with fewer than 10 cannot be extended "
            "to 10 or more (as on MTurk). Create a new HIT for the others."
        )


class AssignmentStateInvalid(Conflict):
    """Approve or reject of an assignment not in a state for it (MTurk's own code)."""

    code = "assignment_state_invalid"
    turk_code = "AWS.MechanicalTurk.InvalidAssignmentState"


class BonusAlreadySent(Conflict):
    """A SendBonus UniqueRequestToken used before: nothing is paid again (MTurk's words)."""

    code = "bonus_already_sent"

    def __init__(self, token: str) -> None:
        super().__init__(f'The idempotency token "{token}" has already been processed.')


# --- The wire --------------------------------------------------------------------------------


class MturkError(Exception):
    """An error answered in the AWS JSON 1.1 shape: `{"__type", "Message", "TurkErrorCode"}`."""

    def __init__(
        self,
        message: str,
        *,
        type_: str = "RequestError",
        turk_code: str | None = None,
        status: int = 400,
    ) -> None:
        self.message = message
        self.type = type_
        self.turk_code = turk_code
        self.status = status
        super().__init__(message)

    def body(self) -> dict[str, str]:
        body = {"__type": self.type, "Message": self.message}
        if self.turk_code is not None:
            body["TurkErrorCode"] = self.turk_code
        return body


def request_error(message: str, turk_code: str) -> MturkError:
    return MturkError(message, type_="RequestError", turk_code=turk_code)


def unrecognized_client() -> MturkError:
    """An unknown, revoked or foreign key: one answer for all three, so a caller cannot tell
    a revoked key from one that never existed (AWS's words)."""
    return MturkError(
        "The security token included in the request is invalid.",
        type_="UnrecognizedClientException",
    )


def throttled() -> MturkError:
    """Past MTURK_RATE_PER_REQUESTER: what MTurk answered (`ThrottlingException`, "Rate
    exceeded", HTTP 400). botocore's retry handlers know it (standard mode by the code, legacy
    mode by the code with 400: botocore/data/_retry.json) and retry with backoff; a bare 429
    would be retried too, but code written against MTurk catches ThrottlingException by name."""
    return MturkError("Rate exceeded", type_="ThrottlingException")


def service_fault(message: str = "The service could not answer; try again.") -> MturkError:
    return MturkError(message, type_="ServiceFault", turk_code="AWS.ServiceUnavailable", status=500)


# A domain error raised by a service the operation called, as MTurk would have said it.
_DOMAIN_TURK_CODES: tuple[tuple[type[DomainError], str], ...] = (
    (InsufficientFunds, "AWS.MechanicalTurk.InsufficientFunds"),
    (InvalidInput, "AWS.ParameterOutOfRange"),
    (NotFound, "AWS.MechanicalTurk.ResourceDoesNotExist"),
    (Forbidden, "AWS.MechanicalTurk.PermissionDenied"),
    (Conflict, "AWS.MechanicalTurk.InvalidState"),
    (Gone, "AWS.MechanicalTurk.InvalidState"),
    (TooLarge, "AWS.ParameterOutOfRange"),
)


def from_domain(exc: DomainError) -> MturkError:
    """A service's refusal as a RequestError (field errors folded into the message)."""
    # An error of this app may name MTurk's own code; the others map by their kind.
    turk_code = getattr(exc, "turk_code", None) or next(
        (code for kind, code in _DOMAIN_TURK_CODES if isinstance(exc, kind)),
        "AWS.MechanicalTurk.RequestError",
    )
    message = exc.message
    if isinstance(exc.errors, dict) and exc.errors:
        fields = "; ".join(
            f"{name}: {' '.join(str(m) for m in messages)}" for name, messages in exc.errors.items()
        )
        message = f"{message} {fields}" if message != InvalidInput.default_message else fields
    return request_error(message, turk_code)
