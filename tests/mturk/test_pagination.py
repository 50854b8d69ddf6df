"""NextToken / MaxResults (apps/mturk/pagination.py): boto3's own paginator follows our
tokens to the end, and a token is good only for the request that issued it.

No List* operation is built yet, so a test-only ListHITs lists the requester's HIT types
through the real helper (each page validated against ListHITsResponse by the client hook)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from django.core import signing

from apps.mturk import operations
from apps.mturk.errors import MturkError
from apps.mturk.models import HITType
from apps.mturk.operations.wire import timestamp
from apps.mturk.pagination import SALT, paginate
from tests import factories


def list_hit_types_as_hits(call):
    page = paginate(
        HITType.objects.filter(requester=call.requester),
        params=call.params,
        operation="ListHITs",
        requester_id=call.requester.pk,
    )
    return page.output(
        "HITs",
        lambda t: {
            "HITId": t.hit_type_id,
            "HITTypeId": t.hit_type_id,
            "Title": t.title,
            "CreationTime": timestamp(t.created_at),
        },
    )


@pytest.fixture(autouse=True)
def list_hits(monkeypatch):
    monkeypatch.setitem(operations.OPERATIONS, "ListHITs", list_hit_types_as_hits)


def test_boto3s_paginator_walks_every_page_once(owner_client, requester):
    made = [t.hit_type_id for t in factories.HITTypeFactory.create_batch(8, requester=requester)]
    factories.HITTypeFactory.create_batch(2)  # another requester's

    pages = list(owner_client.get_paginator("list_hits").paginate(PaginationConfig={"PageSize": 3}))

    assert [page["NumResults"] for page in pages] == [3, 3, 2]
    assert [hit["HITId"] for page in pages for hit in page["HITs"]] == made
    assert "NextToken" not in pages[-1]


def test_without_max_results_a_page_holds_ten(owner_client, requester):
    factories.HITTypeFactory.create_batch(11, requester=requester)
    first = owner_client.list_hits()
    assert first["NumResults"] == 10 and "NextToken" in first
    assert owner_client.list_hits(NextToken=first["NextToken"])["NumResults"] == 1


def test_a_page_that_ends_the_list_has_no_next_token(owner_client, requester):
    factories.HITTypeFactory.create_batch(2, requester=requester)
    assert "NextToken" not in owner_client.list_hits(MaxResults=2)
    assert owner_client.list_hits()["HITs"][0]["CreationTime"].tzinfo is not None


def test_an_altered_token_is_refused(owner_client, requester):
    factories.HITTypeFactory.create_batch(3, requester=requester)
    token = owner_client.list_hits(MaxResults=1)["NextToken"]
    payload, signature = token.rsplit(":", 1)
    forged = signing.dumps({"s": "ListHITs:1:x", "k": 0}, salt="another-salt")
    for bad in (payload + ":" + signature[::-1], forged, "garbage"):
        with pytest.raises(ClientError) as raised:
            owner_client.list_hits(NextToken=bad)
        assert raised.value.response["Error"]["Code"] == "RequestError"
        assert "NextToken is not valid" in raised.value.response["Error"]["Message"]


def test_another_requesters_token_is_refused(owner_client, outsider_client, requester):
    factories.HITTypeFactory.create_batch(3, requester=requester)
    token = owner_client.list_hits(MaxResults=1)["NextToken"]
    with pytest.raises(ClientError) as raised:
        outsider_client.list_hits(NextToken=token)
    assert "NextToken is not valid" in raised.value.response["Error"]["Message"]


def test_a_token_is_signed_with_its_own_salt_and_fits_the_shape(owner_client, requester):
    factories.HITTypeFactory.create_batch(2, requester=requester)
    token = owner_client.list_hits(MaxResults=1)["NextToken"]
    assert len(token) <= 255
    assert signing.loads(token, salt=SALT)["k"] == HITType.objects.order_by("pk").first().pk


@pytest.mark.django_db
def test_a_token_is_refused_by_another_operation_or_other_filters(requester):
    factories.HITTypeFactory.create_batch(3, requester=requester)
    rows = HITType.objects.filter(requester=requester)
    common = {"requester_id": requester.pk, "params": {"MaxResults": 1}}
    token = paginate(rows, operation="ListHITs", **common).next_token
    follow = {"requester_id": requester.pk, "params": {"NextToken": token}}

    assert len(paginate(rows, operation="ListHITs", **follow).rows) == 2
    with pytest.raises(MturkError):
        paginate(rows, operation="ListReviewableHITs", **follow)
    with pytest.raises(MturkError):
        paginate(rows, operation="ListHITs", filters={"Status": "Reviewable"}, **follow)


def test_another_requesters_key_lists_none_of_mine(owner_client, outsider_client, requester):
    factories.HITTypeFactory.create_batch(3, requester=requester)
    assert owner_client.list_hits()["NumResults"] == 3
    assert outsider_client.list_hits() | {"ResponseMetadata": None} == {
        "NumResults": 0,
        "HITs": [],
        "ResponseMetadata": None,
    }
