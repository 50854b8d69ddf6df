"""AWS Signature Version 4, verified by hand: the canonical request, the string to sign, the
signing key and the comparison, from the header names and values a request arrived with.

Plain Python (hmac, hashlib): no Django, no botocore (a development dependency only). The
endpoint (apps/mturk/views.py) reads the request into `SignedRequest`, looks the access key up,
and calls `verify`; `tests/unit/test_mturk_sigv4.py` checks every step against botocore's own
signer, so a request boto3 signs verifies here and a change in one byte does not.

What AWS checks and we check too:
- the `Authorization` header `AWS4-HMAC-SHA256 Credential=<key>/<yyyymmdd>/<region>/<service>/
  aws4_request, SignedHeaders=<a;b;c>, Signature=<64 hex>`;
- `X-Amz-Date` within 15 minutes of our clock either way (`CLOCK_SKEW`, what AWS allows), and
  the credential's date equal to its day;
- the service `mturk-requester` (any region: boto3 signs with the region it is given);
- `host`, `x-amz-date` and `x-amz-target` among the signed headers, so a captured request
  cannot be replayed at another host or as another operation;
- the body's SHA-256 in the canonical request (an `x-amz-content-sha256` header must match the
  body: `UNSIGNED-PAYLOAD` is refused);
- the signature compared in constant time (`hmac.compare_digest`).

A 15-minute window lets a captured request be replayed within it, as on AWS; that is what TLS
in front is for (docs/mturk.md).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "mturk-requester"
TERMINATOR = "aws4_request"
CLOCK_SKEW = timedelta(minutes=15)
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
REQUIRED_SIGNED = ("host", "x-amz-date", "x-amz-target")

_CREDENTIAL = re.compile(
    r"^(?P<key>[A-Za-z0-9]{1,128})/(?P<date>[0-9]{8})/(?P<region>[a-z0-9-]{1,64})"
    r"/(?P<service>[a-z0-9-]{1,64})/(?P<terminator>[a-z0-9_]{1,32})$"
)
_SIGNATURE = re.compile(r"^[0-9a-f]{64}$")
_HEADER_NAME = re.compile(r"^[a-z0-9!#$%&'*+.^_`|~-]+$")


class SignatureError(Exception):
    """A request that does not carry a valid signature; `kind` is the AWS error code."""

    kind = "InvalidSignatureException"

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class IncompleteSignature(SignatureError):
    """The Authorization header or the date is missing or malformed."""

    kind = "IncompleteSignatureException"


class MissingAuthentication(SignatureError):
    """No Authorization header at all."""

    kind = "MissingAuthenticationTokenException"


class InvalidSignature(SignatureError):
    """Well formed, but the signature, its scope or its time is wrong."""

    kind = "InvalidSignatureException"


@dataclass(frozen=True)
class Authorization:
    """The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header."""

    access_key_id: str
    date: str  # yyyymmdd
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{TERMINATOR}"


@dataclass(frozen=True)
class SignedRequest:
    """What the signature covers, as it arrived. `headers` maps lower-case names to their values
    (several values of one header joined with commas, as HTTP allows); `path` is the request
    path still percent-encoded, `query` the raw query string."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


def parse_authorization(header: str | None) -> Authorization:
    """The header's parts, or a SignatureError saying what is wrong with it."""
    if not header:
        raise MissingAuthentication("Missing Authentication Token")
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise IncompleteSignature(
            f"Unsupported authorization type: only {ALGORITHM} (Signature Version 4) is accepted."
        )
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise IncompleteSignature(f"Authorization header has a malformed part: {part!r}.")
        fields[name] = value
    for name in ("Credential", "SignedHeaders", "Signature"):
        if name not in fields:
            raise IncompleteSignature(f"Authorization header requires '{name}' parameter.")
    credential = _CREDENTIAL.match(fields["Credential"])
    if credential is None:
        raise IncompleteSignature(
            "Credential must have the form <access key>/<date>/<region>/<service>/aws4_request."
        )
    if credential["terminator"] != TERMINATOR:
        raise InvalidSignature(
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}'."
        )
    signed = tuple(fields["SignedHeaders"].split(";"))
    if not all(_HEADER_NAME.match(name) for name in signed) or list(signed) != sorted(set(signed)):
        raise IncompleteSignature(
            "SignedHeaders must be lower-case names, sorted, separated by ';'."
        )
    if not _SIGNATURE.match(fields["Signature"]):
        raise IncompleteSignature("Signature must be 64 lower-case hexadecimal characters.")
    return Authorization(
        access_key_id=credential["key"],
        date=credential["date"],
        region=credential["region"],
        service=credential["service"],
        signed_headers=signed,
        signature=fields["Signature"],
    )


def check_scope(auth: Authorization, request: SignedRequest) -> datetime:
    """The request's time (`X-Amz-Date`) once the scope, the signed headers and the date hold;
    a SignatureError otherwise. Call before looking the key up: none of this needs it."""
    if auth.service != SERVICE:
        raise InvalidSignature(f"Credential should be scoped to correct service: '{SERVICE}'.")
    missing = [name for name in REQUIRED_SIGNED if name not in auth.signed_headers]
    if missing:
        raise InvalidSignature(f"SignedHeaders must include {', '.join(missing)}.")
    absent = [name for name in auth.signed_headers if name not in request.headers]
    if absent:
        raise InvalidSignature(f"Signed header(s) not in the request: {', '.join(absent)}.")
    amz_date = request.headers.get("x-amz-date", "")
    try:
        when = datetime.strptime(amz_date, AMZ_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise IncompleteSignature(
            "Authorization header requires existence of a valid 'X-Amz-Date' header "
            "(yyyyMMddTHHmmssZ)."
        ) from None
    if amz_date[:8] != auth.date:
        raise InvalidSignature(
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{auth.date}' != '{amz_date[:8]}'."
        )
    return when


def check_clock(when: datetime, now: datetime) -> None:
    """AWS's window: the signed time at most CLOCK_SKEW from ours, either way (its messages)."""
    if when < now - CLOCK_SKEW:
        raise InvalidSignature(
            f"Signature expired: {_amz(when)} is now earlier than {_amz(now - CLOCK_SKEW)} "
            f"({_amz(now)} - 15 min.)"
        )
    if when > now + CLOCK_SKEW:
        raise InvalidSignature(
            f"Signature not yet current: {_amz(when)} is still later than "
            f"{_amz(now + CLOCK_SKEW)} ({_amz(now)} + 15 min.)"
        )


def verify(auth: Authorization, request: SignedRequest, secret: str) -> None:
    """Raise InvalidSignature unless `auth.signature` is the request's signature with `secret`."""
    expected = signature(secret, auth, request)
    if not hmac.compare_digest(expected.encode(), auth.signature.encode()):
        raise InvalidSignature(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details."
        )


def signature(secret: str, auth: Authorization, request: SignedRequest) -> str:
    """The hex signature of `request` under `secret`, for the scope and headers `auth` names."""
    to_sign = string_to_sign(
        request.headers["x-amz-date"], auth.scope, canonical_request(request, auth.signed_headers)
    )
    key = signing_key(secret, auth.date, auth.region, auth.service)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def canonical_request(request: SignedRequest, signed_headers: Iterable[str]) -> str:
    names = list(signed_headers)
    lines = [
        request.method.upper(),
        canonical_uri(request.path),
        canonical_query(request.query),
        "".join(f"{name}:{trim(request.headers[name])}\n" for name in names),
        ";".join(names),
        payload_hash(request),
    ]
    return "\n".join(lines)


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(f"AWS4{secret}".encode(), date)
    for part in (region, service, TERMINATOR):
        key = _hmac(key, part)
    return key


def canonical_uri(path: str) -> str:
    """The path without dot segments and repeated slashes (RFC 3986 5.2.4, as AWS wants),
    encoded once more: every AWS service but S3 signs the already-encoded path encoded again
    (botocore's `_normalize_url_path`)."""
    if not path:
        return "/"
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and segments else ""
    return quote(first + "/".join(segments) + last, safe="/~")


def canonical_query(query: str) -> str:
    """Each name and value decoded and encoded again the AWS way, sorted by name then value."""
    if not query:
        return ""
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((_encode(unquote(name)), _encode(unquote(value))))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def payload_hash(request: SignedRequest) -> str:
    digest = hashlib.sha256(request.body).hexdigest()
    claimed = request.headers.get("x-amz-content-sha256")
    if claimed is not None and claimed != digest:
        raise InvalidSignature(
            "The provided 'x-amz-content-sha256' header does not match what was computed "
            "(an unsigned payload is not accepted)."
        )
    return digest


def trim(value: str) -> str:
    """Trimall: no leading or trailing blanks, and each run of blanks as one space."""
    return " ".join(value.split())


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _amz(when: datetime) -> str:
    return when.strftime(AMZ_DATE_FORMAT)
