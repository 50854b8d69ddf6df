"""CreateHITType through boto3: MTurk's id shape, the same values give the same type (per
requester), refusals name MTurk's parameter."""

from __future__ import annotations

import json
import re

import pytest

from apps.mturk.models import HITType
from apps.mturk.services.access_keys import access_key_create
from tests.helpers.mturk import error_of, signed_post

HIT_TYPE = {
    "Title": "Is there a cat in the picture?",
    "Description": "Look at one picture and answer yes or no.",
    "Reward": "0.05",
    "AssignmentDurationInSeconds": 600,
    "AutoApprovalDelayInSeconds": 3600,
    "Keywords": "image, cat, yes/no",
}


def test_a_hit_type_is_created_with_an_mturk_shaped_id(owner_client, requester):
    hit_type_id = owner_client.create_hit_type(**HIT_TYPE)["HITTypeId"]

    assert re.fullmatch(r"[A-Z0-9]{30}", hit_type_id)
    row = HITType.objects.get(hit_type_id=hit_type_id)
    assert (row.requester, row.title, str(row.reward), row.assignment_duration_seconds) == (
        requester,
        HIT_TYPE["Title"],
        "0.05",
        600,
    )
    assert row.auto_approval_delay_seconds == 3600 and row.keywords == HIT_TYPE["Keywords"]


def test_the_same_values_give_the_same_hit_type_and_others_a_new_one(owner_client):
    first = owner_client.create_hit_type(**HIT_TYPE)["HITTypeId"]
    assert owner_client.create_hit_type(**HIT_TYPE)["HITTypeId"] == first
    assert owner_client.create_hit_type(**{**HIT_TYPE, "Reward": "0.06"})["HITTypeId"] != first
    assert HITType.objects.count() == 2


def test_another_requesters_identical_values_make_their_own_type(owner_client, outsider_client):
    mine = owner_client.create_hit_type(**HIT_TYPE)["HITTypeId"]
    theirs = outsider_client.create_hit_type(**HIT_TYPE)["HITTypeId"]
    assert mine != theirs
    assert HITType.objects.get(hit_type_id=theirs).requester.username == "outsider"


def test_auto_approval_defaults_to_30_days_as_on_mturk(owner_client):
    values = {k: v for k, v in HIT_TYPE.items() if k != "AutoApprovalDelayInSeconds"}
    hit_type_id = owner_client.create_hit_type(**values)["HITTypeId"]
    assert HITType.objects.get(hit_type_id=hit_type_id).auto_approval_delay_seconds == 2592000


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"AssignmentDurationInSeconds": 29}, "AssignmentDurationInSeconds"),
        ({"AutoApprovalDelayInSeconds": 2592001}, "AutoApprovalDelayInSeconds"),
        ({"Title": "x" * 129}, "Title"),
        ({"Description": "  "}, "Description"),
    ],
)
def test_a_value_out_of_mturks_range_is_a_request_error_naming_it(owner_client, change, named):
    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.create_hit_type(**{**HIT_TYPE, **change})
    assert raised.value.response["Error"]["Message"].startswith(f"{named}: ")
    assert raised.value.response["TurkErrorCode"] == "AWS.ParameterOutOfRange"


@pytest.mark.django_db
def test_a_missing_required_parameter_is_named(client, requester):
    new = access_key_create(requester=requester)
    body = json.dumps({"Title": "t", "Description": "d", "Reward": "0.10"}).encode()
    response = signed_post(
        client, new.key.access_key_id, new.secret, operation="CreateHITType", body=body
    )
    status, type_, turk_code, message = error_of(response)
    assert (status, type_, turk_code) == (400, "RequestError", "AWS.MissingParameters")
    assert message == "AssignmentDurationInSeconds: is required"


@pytest.mark.django_db
def test_a_reward_that_is_not_a_currency_amount_is_refused(client, requester):
    new = access_key_create(requester=requester)
    body = json.dumps({**HIT_TYPE, "Reward": "1e3"}).encode()
    response = signed_post(
        client, new.key.access_key_id, new.secret, operation="CreateHITType", body=body
    )
    status, type_, turk_code, message = error_of(response)
    assert (status, type_, turk_code) == (400, "RequestError", "AWS.ParameterOutOfRange")
    assert message.startswith("Reward: must match")
