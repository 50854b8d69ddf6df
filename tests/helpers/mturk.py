"""boto3's real `mturk` client pointed at a test server, checking every response it gets.

`mturk_client(url, key_id, secret)` is the client a requester's script would make, with one
addition: a hook on botocore's `after-call` event validates each raw response body against
botocore's own service model (not the server's copy), before botocore parses it. A success
must fit the operation's output shape exactly (no member the model lacks, timestamps as epoch
numbers); an error must be `{"__type", "Message"[, "TurkErrorCode"]}`. A test that makes a call
has therefore checked its response, whatever else it asserts.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.loaders import Loader

from apps.mturk import shapes

ERROR_MEMBERS = {"__type", "Message", "TurkErrorCode"}
# Clients made by mturk_client, closed after each test (tests/mturk/conftest.py): a kept-alive
# connection left open would be closed by the live server's thread during a later test.
OPEN_CLIENTS: list[Any] = []


@cache
def botocore_model() -> dict[str, Any]:
    """botocore's mturk service model as it ships (service-2.json)."""
    return Loader().load_service_model("mturk", "service-2")


def response_problems(operation: str, status: int, body: bytes) -> list[str]:
    """How a raw response fails botocore's model ([] when it fits)."""
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        return [f"the body is not JSON: {body[:200]!r}"]
    if status != 200:
        problems = [f"{k} is not a member of an error" for k in data if k not in ERROR_MEMBERS]
        problems += [
            f"{k} must be a string"
            for k in ERROR_MEMBERS & set(data)
            if not isinstance(data[k], str)
        ]
        if "__type" not in data or "Message" not in data:
            problems.append(f"an error needs __type and Message: {data}")
        return problems
    model = botocore_model()
    shape = shapes.output_shape(operation, model)
    if shape is None:
        return [] if data == {} else [f"{operation} has no output, got {data}"]
    return [str(p) for p in shapes.validate(data, shape, model)]


def mturk_client(endpoint_url: str, key_id: str, secret: str, **config: Any):
    """A boto3 mturk client as the issue describes it (any region works), with no retries
    (a test sees the first answer; `retries={...}` to test boto3's own) and the conformance
    hook, which also sees each retried attempt."""
    client = boto3.client(
        "mturk",
        endpoint_url=endpoint_url,
        region_name=config.pop("region_name", "us-east-1"),
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(**{"retries": {"total_max_attempts": 1}, **config}),
    )
    client.meta.events.register("after-call.mturk", _check_response)
    OPEN_CLIENTS.append(client)
    return client


def close_clients() -> None:
    while OPEN_CLIENTS:
        OPEN_CLIENTS.pop().close()


def _check_response(http_response, model, **kwargs) -> None:
    problems = response_problems(model.name, http_response.status_code, http_response.content)
    assert problems == [], f"{model.name} answered outside botocore's model: {problems}"


TARGET_PREFIX = "MTurkRequesterServiceV20170117"


def signed_post(
    client,
    key_id: str,
    secret: str,
    *,
    operation: str = "GetAccountBalance",
    target: str | None = None,
    body: bytes = b"{}",
    path: str = "/mturk/",
    content_type: str = "application/x-amz-json-1.1",
    extra: dict[str, str] | None = None,
):
    """A request signed by botocore's signer, sent through Django's test client: for the
    bodies and headers boto3 itself would never send."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    target = target or f"{TARGET_PREFIX}.{operation}"
    headers = {"X-Amz-Target": target, "Content-Type": content_type}
    request = AWSRequest(method="POST", url=f"http://testserver{path}", data=body, headers=headers)
    SigV4Auth(Credentials(key_id, secret), "mturk-requester", "us-east-1").add_auth(request)
    meta = {
        f"HTTP_{name.upper().replace('-', '_')}": value
        for name, value in request.headers.items()
        if name.lower() != "content-type"
    }
    meta["HTTP_HOST"] = "testserver"  # what an HTTP client sends, and botocore signed
    meta.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (extra or {}).items()})
    return client.post(path, data=body, content_type=content_type, **meta)


def error_of(response) -> tuple[int, str, str | None, str]:
    """(status, __type, TurkErrorCode, Message) of an error response, after checking its
    shape and content type."""
    assert response["Content-Type"] == "application/x-amz-json-1.1"
    assert response_problems("GetAccountBalance", response.status_code, response.content) == []
    body = json.loads(response.content)
    return response.status_code, body["__type"], body.get("TurkErrorCode"), body["Message"]
