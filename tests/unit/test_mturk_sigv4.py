"""apps/mturk/sigv4.py against botocore's own Signature V4 signer: what boto3 signs verifies,
each step equals botocore's, and one changed byte anywhere fails."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from apps.mturk import sigv4

KEY_ID, SECRET = "AKIAEXAMPLE000000001", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
NOW = datetime(2026, 9, 30, 12, 0, 0, tzinfo=UTC)
TARGET = "MTurkRequesterServiceV20170117.GetAccountBalance"


def signed_by_botocore(
    monkeypatch,
    *,
    url: str = "http://127.0.0.1:8000/mturk/",
    body: bytes = b"{}",
    region: str = "us-east-1",
    service: str = "mturk-requester",
    at: datetime = NOW,
    secret: str = SECRET,
    headers: dict[str, str] | None = None,
) -> tuple[AWSRequest, SigV4Auth]:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: at.replace(tzinfo=None))
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={
            "X-Amz-Target": TARGET,
            "Content-Type": "application/x-amz-json-1.1",
            **(headers or {}),
        },
    )
    signer = SigV4Auth(Credentials(KEY_ID, secret), service, region)
    signer.add_auth(request)
    return request, signer


def as_received(request: AWSRequest) -> sigv4.SignedRequest:
    """The request as our endpoint reads it: lower-case headers, the Host the client sent."""
    parts = urlsplit(request.url)
    headers = {name.lower(): value for name, value in request.headers.items()}
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in headers.items()}
    headers["host"] = parts.netloc
    return sigv4.SignedRequest(
        method=request.method,
        path=parts.path,
        query=parts.query,
        headers=headers,
        body=request.body or b"",
    )


def check(request: AWSRequest, secret: str = SECRET, now: datetime = NOW) -> None:
    received = as_received(request)
    auth = sigv4.parse_authorization(received.headers["authorization"])
    when = sigv4.check_scope(auth, received)
    sigv4.check_clock(when, now)
    sigv4.verify(auth, received, secret)


def test_a_request_botocore_signs_verifies(monkeypatch) -> None:
    request, _ = signed_by_botocore(monkeypatch, body=json.dumps({"MaxResults": 10}).encode())
    check(request)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/mturk/",
        "http://127.0.0.1:8000/mturk",
        "https://labels.example.org/mturk/",
        "http://localhost:8000/prefix/./mturk/../mturk//",
        "http://127.0.0.1:8000/mturk/?b=2&a=1&a=0&c=x%20y",
    ],
)
def test_each_step_equals_botocores(monkeypatch, url) -> None:
    request, signer = signed_by_botocore(monkeypatch, url=url)
    received = as_received(request)
    auth = sigv4.parse_authorization(received.headers["authorization"])
    ours = sigv4.canonical_request(received, auth.signed_headers)
    del request.headers["Authorization"]  # botocore's canonical request is of the unsigned one
    assert ours == signer.canonical_request(request)
    amz_date = received.headers["x-amz-date"]
    assert sigv4.string_to_sign(amz_date, auth.scope, ours) == signer.string_to_sign(request, ours)
    assert sigv4.signature(SECRET, auth, received) == auth.signature


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "local"])
def test_any_region_boto3_is_given_verifies(monkeypatch, region) -> None:
    request, _ = signed_by_botocore(monkeypatch, region=region)
    check(request)


def test_the_authorization_header_is_parsed_into_its_parts(monkeypatch) -> None:
    request, _ = signed_by_botocore(monkeypatch, region="eu-west-1")
    auth = sigv4.parse_authorization(as_received(request).headers["authorization"])
    assert (auth.access_key_id, auth.date, auth.region, auth.service) == (
        KEY_ID,
        "20260930",
        "eu-west-1",
        "mturk-requester",
    )
    assert auth.signed_headers == ("content-type", "host", "x-amz-date", "x-amz-target")


def test_another_secret_does_not_verify(monkeypatch) -> None:
    request, _ = signed_by_botocore(monkeypatch, secret="another-secret")
    with pytest.raises(sigv4.InvalidSignature, match="does not match"):
        check(request)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-amz-target", "MTurkRequesterServiceV20170117.DeleteHIT"),
        ("host", "elsewhere.example.org"),
        ("content-type", "application/json"),
    ],
)
def test_a_changed_signed_header_does_not_verify(monkeypatch, header, value) -> None:
    request, _ = signed_by_botocore(monkeypatch)
    received = as_received(request)
    tampered = sigv4.SignedRequest(
        **{**received.__dict__, "headers": {**received.headers, header: value}}
    )
    auth = sigv4.parse_authorization(received.headers["authorization"])
    with pytest.raises(sigv4.InvalidSignature):
        sigv4.verify(auth, tampered, SECRET)


def test_a_changed_body_does_not_verify(monkeypatch) -> None:
    request, _ = signed_by_botocore(monkeypatch, body=b'{"Reward": "0.10"}')
    received = as_received(request)
    tampered = sigv4.SignedRequest(**{**received.__dict__, "body": b'{"Reward": "9.10"}'})
    auth = sigv4.parse_authorization(received.headers["authorization"])
    with pytest.raises(sigv4.InvalidSignature):
        sigv4.verify(auth, tampered, SECRET)


def test_a_content_hash_header_must_match_the_body(monkeypatch) -> None:
    request, _ = signed_by_botocore(
        monkeypatch, headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}
    )
    with pytest.raises(sigv4.InvalidSignature, match="x-amz-content-sha256"):
        check(request)


@pytest.mark.parametrize(
    ("signed_at", "message"),
    [
        (NOW - timedelta(minutes=16), "Signature expired: 20260930T114400Z is now earlier than"),
        (NOW + timedelta(minutes=16), "Signature not yet current: 20260930T121600Z is still"),
    ],
)
def test_a_request_signed_more_than_15_minutes_away_is_refused(
    monkeypatch, signed_at, message
) -> None:
    request, _ = signed_by_botocore(monkeypatch, at=signed_at)
    with pytest.raises(sigv4.InvalidSignature, match=message):
        check(request)


@pytest.mark.parametrize("minutes", [-14, 14])
def test_a_request_signed_within_15_minutes_verifies(monkeypatch, minutes) -> None:
    request, _ = signed_by_botocore(monkeypatch, at=NOW + timedelta(minutes=minutes))
    check(request)


def test_a_request_signed_for_another_service_is_refused(monkeypatch) -> None:
    request, _ = signed_by_botocore(monkeypatch, service="sqs")
    with pytest.raises(sigv4.InvalidSignature, match="mturk-requester"):
        check(request)


@pytest.mark.parametrize(
    ("header", "error"),
    [
        (None, sigv4.MissingAuthentication),
        ("", sigv4.MissingAuthentication),
        ("AWS AKIA:signature", sigv4.IncompleteSignature),
        ("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=" + "0" * 64, sigv4.IncompleteSignature),
        (
            "AWS4-HMAC-SHA256 Credential=AKIA/20260930/us-east-1/mturk-requester/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=xyz",
            sigv4.IncompleteSignature,
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIA/20260930/us-east-1/mturk-requester/aws4_request, "
            "SignedHeaders=x-amz-date;host, Signature=" + "0" * 64,
            sigv4.IncompleteSignature,
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIA/2026-09-30/us-east-1/mturk-requester/aws4_request, "
            "SignedHeaders=host, Signature=" + "0" * 64,
            sigv4.IncompleteSignature,
        ),
    ],
)
def test_a_malformed_authorization_header_is_refused_with_its_code(header, error) -> None:
    with pytest.raises(error) as raised:
        sigv4.parse_authorization(header)
    assert raised.value.kind == error.kind


def test_the_target_and_host_must_be_signed(monkeypatch) -> None:
    request, _ = signed_by_botocore(monkeypatch)
    received = as_received(request)
    auth = sigv4.parse_authorization(received.headers["authorization"])
    narrow = sigv4.Authorization(**{**auth.__dict__, "signed_headers": ("host", "x-amz-date")})
    with pytest.raises(sigv4.InvalidSignature, match="x-amz-target"):
        sigv4.check_scope(narrow, received)


def test_a_credential_dated_another_day_is_refused(monkeypatch) -> None:
    request, _ = signed_by_botocore(monkeypatch)
    received = as_received(request)
    auth = sigv4.parse_authorization(received.headers["authorization"])
    other_day = sigv4.Authorization(**{**auth.__dict__, "date": "20260929"})
    with pytest.raises(sigv4.InvalidSignature, match="Date in Credential scope"):
        sigv4.check_scope(other_day, received)


def test_the_signing_key_is_derived_as_aws_documents() -> None:
    # AWS's published example (General Reference, "Examples of how to derive a signing key").
    key = sigv4.signing_key(
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam"
    )
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
