"""Throttling of /mturk/ through boto3: past MTURK_RATE_PER_REQUESTER a requester gets what
MTurk answered (ThrottlingException, "Rate exceeded", HTTP 400), counted over all their keys,
and boto3's own retry modes (legacy, its default, and standard) back off and get through."""

from __future__ import annotations

import types

import pytest
from botocore.exceptions import ClientError

from apps.mturk.services.access_keys import access_key_create
from tests.helpers.mturk import mturk_client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def clock(monkeypatch):
    """The throttle's clock, stopped mid-window: a test's calls never straddle two windows."""
    now = types.SimpleNamespace(value=1_000_000_030.0)
    fake = types.SimpleNamespace(time=lambda: now.value)
    monkeypatch.setattr("hitlcrowd.throttling.time", fake)
    return now


def throttled(call) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value


def test_a_burst_past_the_rate_gets_mturks_throttling_error(settings, clock, owner_client):
    settings.MTURK_RATE_PER_REQUESTER = "3/min"
    for _ in range(3):
        owner_client.get_account_balance()

    error = throttled(owner_client.get_account_balance)

    assert error.response["Error"] == {"Code": "ThrottlingException", "Message": "Rate exceeded"}
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error.response["ResponseMetadata"]["RetryAttempts"] == 0


def test_the_next_window_serves_again(settings, clock, owner_client):
    settings.MTURK_RATE_PER_REQUESTER = "1/min"
    owner_client.get_account_balance()
    throttled(owner_client.get_account_balance)

    clock.value += 60

    assert owner_client.get_account_balance()["AvailableBalance"] == "0.00"


def test_the_rate_is_the_requesters_whichever_key_signs(
    settings, clock, requester, mturk_url, owner_client, outsider_client
):
    settings.MTURK_RATE_PER_REQUESTER = "2/min"
    second = access_key_create(requester=requester, label="second script")
    second_client = mturk_client(mturk_url, second.key.access_key_id, second.secret)
    owner_client.get_account_balance()
    second_client.get_account_balance()

    assert throttled(second_client.get_account_balance).response["Error"]["Code"] == (
        "ThrottlingException"
    )
    assert throttled(owner_client.get_account_balance).response["Error"]["Code"] == (
        "ThrottlingException"
    )
    outsider_client.get_account_balance()  # another requester's allowance is their own


def test_a_request_that_fails_its_signature_spends_nothing(
    settings, clock, mturk_url, owner_key, owner_client
):
    settings.MTURK_RATE_PER_REQUESTER = "1/min"
    forged = mturk_client(mturk_url, owner_key.key.access_key_id, "x" * 40)
    for _ in range(3):
        assert throttled(forged.get_account_balance).response["Error"]["Code"] == (
            "InvalidSignatureException"
        )

    owner_client.get_account_balance()


def test_off_throttles_nothing(settings, clock, owner_client):
    settings.MTURK_RATE_PER_REQUESTER = None
    for _ in range(5):
        owner_client.get_account_balance()


@pytest.mark.parametrize(
    "retries",
    [{"mode": "legacy"}, {"mode": "standard", "max_attempts": 10}],
    ids=["legacy", "standard"],
)
def test_boto3s_retry_modes_back_off_and_get_through(settings, mturk_url, owner_key, retries):
    settings.MTURK_RATE_PER_REQUESTER = "2/s"  # the real clock: retries wait for the next second
    client = mturk_client(mturk_url, owner_key.key.access_key_id, owner_key.secret, retries=retries)

    answers = [client.get_account_balance() for _ in range(6)]

    assert all(a["AvailableBalance"] == "0.00" for a in answers)
    assert sum(a["ResponseMetadata"]["RetryAttempts"] for a in answers) > 0
