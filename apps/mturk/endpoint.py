"""`POST /mturk/`: the wire protocol boto3's `mturk` client speaks (AWS JSON 1.1).

botocore posts every operation to the endpoint URL's own path (`requestUri` is `/` for this
protocol, and `endpoint_url="https://host/mturk/"` keeps its path), with
`X-Amz-Target: MTurkRequesterServiceV20170117.<Operation>`, `Content-Type:
application/x-amz-json-1.1`, the input as a JSON object, and a Signature V4 `Authorization`
header. There is no session, cookie or CSRF token: the signature is the only credential.

In order, each step refusing in the shape botocore parses (apps/mturk/errors.py):
1. POST only; a body declared larger than MTURK_MAX_BODY_BYTES is refused unread (413).
2. The signature (apps/mturk/sigv4.py): its header, scope and date, the clock window, the key
   (unknown, revoked, or its requester no longer a requester: one answer), the HMAC. Before
   anything else: an unauthenticated caller learns nothing about operations.
3. The requester's rate (MTURK_RATE_PER_REQUESTER): past it ThrottlingException, as MTurk
   answered ("Rate exceeded"), which boto3's retry modes back off from and retry.
4. The operation named by X-Amz-Target: one of OPERATIONS, or a RequestError naming it
   (an MTurk operation not built yet, or no MTurk operation at all).
5. The input: UTF-8 JSON with the API's limits (hitlcrowd/jsoncheck.py), then checked against
   the operation's input shape (apps/mturk/shapes.py).
6. The handler; its domain errors become RequestErrors. Anything else is logged and answers
   ServiceFault (500), which botocore retries.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from apps.mturk import shapes, sigv4
from apps.mturk.errors import (
    MturkError,
    from_domain,
    request_error,
    throttled,
    unrecognized_client,
)
from apps.mturk.models import AccessKey
from apps.mturk.operations import OPERATIONS, Call
from apps.mturk.selectors import access_key_for_signature
from apps.mturk.services.access_keys import access_key_secret, access_key_touch
from hitlcrowd import jsoncheck, secretbox
from hitlcrowd.errors import DomainError
from hitlcrowd.middleware import declared_length
from hitlcrowd.throttling import rate_exceeded

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/x-amz-json-1.1"
ACCEPTED_CONTENT_TYPES = {CONTENT_TYPE, "application/x-amz-json-1.0"}


@csrf_exempt
def mturk_endpoint(request: HttpRequest) -> HttpResponse:
    request_id = str(uuid.uuid4())
    try:
        status, body = 200, _handle(request)
    except MturkError as exc:
        status, body = exc.status, exc.body()
    except Exception:
        log.exception("mturk: %s failed (request %s)", _target(request), request_id)
        status = 500
        body = {
            "__type": "ServiceFault",
            "Message": f"The service could not answer (request {request_id}); try again.",
            "TurkErrorCode": "AWS.ServiceUnavailable",
        }
    response = HttpResponse(
        json.dumps(body, separators=(",", ":")), status=status, content_type=CONTENT_TYPE
    )
    response["x-amzn-RequestId"] = request_id
    return response


def _handle(request: HttpRequest) -> dict[str, Any]:
    if request.method != "POST":
        raise MturkError(
            "The MTurk API takes POST requests only (point boto3's endpoint_url here).",
            type_="RequestError",
            turk_code="AWS.MechanicalTurk.InvalidRequest",
            status=405,
        )
    if declared_length(request) > settings.MTURK_MAX_BODY_BYTES:
        raise MturkError(
            f"The request body is larger than {settings.MTURK_MAX_BODY_BYTES} bytes "
            "(MTURK_MAX_BODY_BYTES).",
            type_="RequestError",
            turk_code="AWS.ParameterOutOfRange",
            status=413,
        )
    key = _authenticate(request)
    _throttle(key)
    operation = _operation(request)
    params = _input(request, operation)
    try:
        return OPERATIONS[operation](Call(requester=key.requester, key=key, params=params))
    except DomainError as exc:
        raise from_domain(exc) from exc


def _authenticate(request: HttpRequest):
    try:
        auth = sigv4.parse_authorization(request.META.get("HTTP_AUTHORIZATION"))
        signed = _signed_request(request, auth)
        when = sigv4.check_scope(auth, signed)
        sigv4.check_clock(when, timezone.now())
    except sigv4.SignatureError as exc:
        raise MturkError(exc.message, type_=exc.kind) from exc
    if "HTTP_X_AMZ_SECURITY_TOKEN" in request.META:
        raise unrecognized_client()  # temporary credentials: we issue none
    key = access_key_for_signature(access_key_id=auth.access_key_id)
    if key is None:
        raise unrecognized_client()
    try:
        secret = access_key_secret(key=key)
    except secretbox.Undecryptable:
        log.error("mturk: key %s does not decrypt: was ENCRYPTION_KEY changed?", key.pk)
        raise unrecognized_client() from None
    try:
        sigv4.verify(auth, signed, secret)
    except sigv4.SignatureError as exc:
        raise MturkError(exc.message, type_=exc.kind) from exc
    access_key_touch(key=key)
    return key


def _throttle(key: AccessKey) -> None:
    """Count the request against its requester's rate, whichever of their keys signed it
    (ten keys are not ten times the rate). Counted after the signature: an unsigned request
    cannot spend a requester's allowance."""
    if rate_exceeded("mturk", str(key.requester_id), settings.MTURK_RATE_PER_REQUESTER):
        raise throttled()


def _signed_request(request: HttpRequest, auth: sigv4.Authorization) -> sigv4.SignedRequest:
    names = {*auth.signed_headers, "x-amz-date", "x-amz-content-sha256"}
    headers = {}
    for name in names:
        value = request.META.get(_meta_key(name))
        if value is not None:
            headers[name] = value
    return sigv4.SignedRequest(
        method=request.method or "",
        # Only this view's own ASCII paths reach here, so the decoded path is the one signed.
        path=request.path,
        query=request.META.get("QUERY_STRING", ""),
        headers=headers,
        body=request.body,
    )


def _meta_key(header: str) -> str:
    name = header.upper().replace("-", "_")
    return name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{name}"


def _target(request: HttpRequest) -> str:
    return request.META.get("HTTP_X_AMZ_TARGET", "")


def _operation(request: HttpRequest) -> str:
    prefix, dot, operation = _target(request).partition(".")
    if prefix != shapes.TARGET_PREFIX or not dot:
        raise request_error(
            f"X-Amz-Target must be {shapes.TARGET_PREFIX}.<Operation>, not "
            f"{jsoncheck.escaped(_target(request))[:200]!r}.",
            "AWS.MechanicalTurk.UnknownOperation",
        )
    if operation in OPERATIONS:
        return operation
    supported = ", ".join(sorted(OPERATIONS))
    if operation in shapes.operation_names():
        raise request_error(
            f"The MTurk operation {operation} is not supported by this server yet. "
            f"Supported: {supported}.",
            "AWS.MechanicalTurk.UnsupportedOperation",
        )
    raise request_error(
        f"{jsoncheck.escaped(operation)[:200]} is not an MTurk operation. Supported: {supported}.",
        "AWS.MechanicalTurk.UnknownOperation",
    )


def _input(request: HttpRequest, operation: str) -> dict[str, Any]:
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type not in ACCEPTED_CONTENT_TYPES:
        raise request_error(
            f"Content-Type must be {CONTENT_TYPE}.", "AWS.MechanicalTurk.InvalidRequest"
        )
    try:
        params = jsoncheck.loads(request.body) if request.body else {}
    except jsoncheck.JSONRefused as exc:
        where = f" at {exc.location}" if exc.path else ""
        raise MturkError(f"{exc.message}{where}", type_="SerializationException") from None
    except ValueError:
        raise MturkError("The body is not UTF-8 JSON.", type_="SerializationException") from None
    if not isinstance(params, dict):
        raise MturkError("The body must be a JSON object.", type_="SerializationException")
    shape = shapes.input_shape(operation)
    problems = shapes.validate(params, shape) if shape else []
    if problems:
        code = (
            "AWS.MissingParameters"
            if all(p.missing for p in problems)
            else ("AWS.ParameterOutOfRange")
        )
        raise request_error("; ".join(str(p) for p in problems[:10]), code)
    return params
