"""What boto3 never sends, sent by hand (signed by botocore's signer, through Django's test
client): each refusal in the error shape botocore parses, never a 500 page."""

from __future__ import annotations

import json

import pytest

from apps.mturk import operations
from apps.mturk.services.access_keys import access_key_create
from tests.helpers.mturk import error_of, signed_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(requester):
    new = access_key_create(requester=requester)
    return new.key.access_key_id, new.secret


def test_a_signed_request_through_the_test_client_answers(client, key):
    response = signed_post(client, *key)
    assert response.status_code == 200, response.content
    assert json.loads(response.content) == {"AvailableBalance": "0.00", "OnHoldBalance": "0.00"}
    assert response["x-amzn-RequestId"]


def test_an_unknown_operation_is_a_request_error_naming_it(client, key):
    response = signed_post(client, *key, operation="LaunchRockets")
    status, type_, turk_code, message = error_of(response)
    assert (status, type_, turk_code) == (
        400,
        "RequestError",
        "AWS.MechanicalTurk.UnknownOperation",
    )
    assert message.startswith("LaunchRockets is not an MTurk operation")


def test_a_target_of_another_service_is_a_request_error(client, key):
    response = signed_post(client, *key, target="DynamoDB_20120810.Scan")
    status, type_, _, message = error_of(response)
    assert (status, type_) == (400, "RequestError")
    assert "MTurkRequesterServiceV20170117.<Operation>" in message


def test_no_authorization_header_is_a_missing_token(client):
    response = client.post(
        "/mturk/",
        data=b"{}",
        content_type="application/x-amz-json-1.1",
        HTTP_X_AMZ_TARGET="MTurkRequesterServiceV20170117.GetAccountBalance",
    )
    assert error_of(response)[:2] == (400, "MissingAuthenticationTokenException")


def test_a_body_that_is_not_json_is_a_serialization_error(client, key):
    response = signed_post(client, *key, body=b"{not json")
    assert error_of(response)[:2] == (400, "SerializationException")


def test_a_body_that_is_not_an_object_is_a_serialization_error(client, key):
    response = signed_post(client, *key, body=b"[1, 2]")
    assert error_of(response)[:2] == (400, "SerializationException")


def test_a_nul_in_the_input_is_a_serialization_error(client, key):
    response = signed_post(client, *key, body=b'{"a": "\\u0000"}')
    assert error_of(response)[:2] == (400, "SerializationException")


def test_input_outside_the_operations_shape_is_a_request_error_naming_the_member(client, key):
    response = signed_post(client, *key, body=b'{"Surprise": 1}')
    status, type_, turk_code, message = error_of(response)
    assert (status, type_, turk_code) == (400, "RequestError", "AWS.ParameterOutOfRange")
    assert message == "Surprise: is not a member of this shape"


def test_another_content_type_is_a_request_error(client, key):
    response = signed_post(client, *key, content_type="text/plain")
    status, type_, _, message = error_of(response)
    assert (status, type_) == (400, "RequestError")
    assert "application/x-amz-json-1.1" in message


def test_temporary_credentials_are_not_recognized(client, key):
    response = signed_post(client, *key, extra={"X-Amz-Security-Token": "session"})
    assert error_of(response)[:2] == (400, "UnrecognizedClientException")


def test_a_get_is_refused_in_the_wire_shape(client):
    response = client.get("/mturk/")
    assert error_of(response)[:2] == (405, "RequestError")


def test_a_body_declared_larger_than_the_limit_is_refused_unread(client, key, settings):
    settings.MTURK_MAX_BODY_BYTES = 1024
    response = signed_post(client, *key, body=b'{"a": "' + b"x" * 2000 + b'"}')
    status, type_, _, message = error_of(response)
    assert (status, type_) == (413, "RequestError")
    assert "MTURK_MAX_BODY_BYTES" in message


def test_a_handler_that_fails_answers_a_service_fault_not_a_page(client, key, monkeypatch):
    def explode(call):
        raise RuntimeError("boom")

    monkeypatch.setitem(operations.OPERATIONS, "GetAccountBalance", explode)
    response = signed_post(client, *key)
    status, type_, turk_code, message = error_of(response)
    assert (status, type_, turk_code) == (500, "ServiceFault", "AWS.ServiceUnavailable")
    assert "boom" not in message


def test_the_endpoint_needs_no_csrf_token_or_session(key):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert signed_post(strict, *key).status_code == 200


def test_a_services_refusal_is_a_request_error_naming_the_field(client, key, monkeypatch):
    from hitlcrowd.errors import InvalidInput

    def refuse(call):
        raise InvalidInput.field("Reward", "More than the budget allows.")

    monkeypatch.setitem(operations.OPERATIONS, "GetAccountBalance", refuse)
    status, type_, turk_code, message = error_of(signed_post(client, *key))
    assert (status, type_, turk_code) == (400, "RequestError", "AWS.ParameterOutOfRange")
    assert message == "Reward: More than the budget allows."
