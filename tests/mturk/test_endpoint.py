"""POST /mturk/ through boto3's real client against a live server: the signature, the error
codes boto3 users see from AWS, the operation dispatch. Every response is checked against
botocore's model by the client's hook (tests/helpers/mturk.py)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import botocore.auth
import pytest
from botocore.exceptions import ClientError
from django.utils import timezone

from apps.mturk.models import AccessKey
from apps.mturk.services.access_keys import access_key_revoke
from tests import factories
from tests.helpers.mturk import mturk_client


def error_code(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = raised.value.response["Error"]
    return error["Code"], error["Message"]


def test_a_valid_call_answers_the_account_balance(owner_client, requester):
    factories.DepositFactory(requester=requester, amount=Decimal("25.50"))

    balance = owner_client.get_account_balance()

    assert balance["AvailableBalance"] == "25.50"
    assert balance["OnHoldBalance"] == "0.00"
    assert balance["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert balance["ResponseMetadata"]["RequestId"]


@pytest.mark.parametrize("path", ["/mturk/", "/mturk"])
def test_botocore_posts_to_the_endpoint_urls_own_path_and_both_forms_work(
    live_server, owner_key, path
):
    client = mturk_client(f"{live_server.url}{path}", owner_key.key.access_key_id, owner_key.secret)
    sent = []
    client.meta.events.register("before-send.mturk", lambda request, **kw: sent.append(request))

    assert client.get_account_balance()["AvailableBalance"] == "0.00"
    assert [(r.method, urlsplit(r.url).path) for r in sent] == [("POST", path)]
    assert sent[0].headers["X-Amz-Target"] == b"MTurkRequesterServiceV20170117.GetAccountBalance"
    assert sent[0].headers["Content-Type"] == b"application/x-amz-json-1.1"


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1"])
def test_any_region_is_accepted(mturk_url, owner_key, region):
    client = mturk_client(
        mturk_url, owner_key.key.access_key_id, owner_key.secret, region_name=region
    )
    assert "AvailableBalance" in client.get_account_balance()


def test_a_wrong_secret_is_an_invalid_signature(mturk_url, owner_key):
    # Changed in its last character, to one it cannot already be (the alphabet has no "!").
    wrong_secret = owner_key.secret[:-1] + "!"
    client = mturk_client(mturk_url, owner_key.key.access_key_id, wrong_secret)
    with pytest.raises(ClientError) as raised:
        client.get_account_balance()
    code, message = error_code(raised)
    assert code == "InvalidSignatureException"
    assert message.startswith("The request signature we calculated does not match")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_an_unknown_key_is_an_unrecognized_client(mturk_url, owner_key):
    client = mturk_client(mturk_url, "AKIA" + "Z" * 16, owner_key.secret)
    with pytest.raises(ClientError) as raised:
        client.get_account_balance()
    assert error_code(raised) == (
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    )


def test_a_revoked_key_is_refused_like_an_unknown_one(owner_client, owner_key):
    owner_client.get_account_balance()
    access_key_revoke(key=owner_key.key)
    with pytest.raises(ClientError) as raised:
        owner_client.get_account_balance()
    assert error_code(raised)[0] == "UnrecognizedClientException"


def test_a_deactivated_requesters_key_is_refused(owner_client, requester):
    requester.is_active = False
    requester.save()
    with pytest.raises(ClientError) as raised:
        owner_client.get_account_balance()
    assert error_code(raised)[0] == "UnrecognizedClientException"


@pytest.mark.parametrize(
    ("minutes", "words"), [(-20, "Signature expired"), (20, "not yet current")]
)
def test_a_clock_more_than_15_minutes_off_is_an_invalid_signature(
    monkeypatch, owner_client, minutes, words
):
    skewed = timezone.now().replace(tzinfo=None) + timedelta(minutes=minutes)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: skewed)
    with pytest.raises(ClientError) as raised:
        owner_client.get_account_balance()
    code, message = error_code(raised)
    assert code == "InvalidSignatureException"
    assert words in message
    assert "15 min." in message


def test_an_unsupported_operation_is_a_request_error_naming_it(owner_client):
    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.list_review_policy_results_for_hit(HITId="3AKE04YHPQ7D8MXJLC8OV5H5ETOKJH")
    code, message = error_code(raised)
    assert code == "RequestError"
    assert "ListReviewPolicyResultsForHIT is not supported" in message
    assert "GetAccountBalance" in message  # what is
    assert raised.value.response["TurkErrorCode"] == "AWS.MechanicalTurk.UnsupportedOperation"


def test_another_requesters_key_sees_their_balance_not_mine(
    owner_client, outsider_client, requester, other_requester
):
    factories.DepositFactory(requester=requester, amount=Decimal("40"))
    factories.DepositFactory(requester=other_requester, amount=Decimal("3"))

    assert owner_client.get_account_balance()["AvailableBalance"] == "40.00"
    assert outsider_client.get_account_balance()["AvailableBalance"] == "3.00"


def test_a_use_is_recorded_on_the_key(owner_client, owner_key):
    assert owner_key.key.last_used_at is None
    before = timezone.now()
    owner_client.get_account_balance()
    used = AccessKey.objects.get(pk=owner_key.key.pk).last_used_at
    assert used is not None and used >= before
