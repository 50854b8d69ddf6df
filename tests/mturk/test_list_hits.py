"""ListHITs and ListReviewableHITs through boto3's own paginators: every HIT of mine once,
deleted ones left out, the reviewable ones by status and type, counts read per page in one
statement, and another requester's keys list none of mine."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.mturk.operations import hits as hit_operations
from apps.mturk.operations.call import Call
from apps.tasks.models import HIT
from tests import factories


def hits_of(requester, count: int, **kwargs) -> list:
    hit_type = kwargs.pop("hit_type", None) or factories.HITTypeFactory(requester=requester)
    return [factories.MturkHITFactory(hit_type=hit_type, **kwargs) for _ in range(count)]


def expire(hit) -> None:
    HIT.objects.filter(pk=hit.task_hit_id).update(
        expires_at=timezone.now() - timedelta(seconds=1), state=HIT.State.EXPIRED
    )


def test_boto3s_paginator_lists_each_of_my_hits_once_oldest_first(owner_client, requester):
    mine = [hit.hit_id for hit in hits_of(requester, 7)]
    hits_of(factories.RequesterFactory(), 2)  # another requester's

    pages = list(owner_client.get_paginator("list_hits").paginate(PaginationConfig={"PageSize": 3}))

    assert [page["NumResults"] for page in pages] == [3, 3, 1]
    listed = [hit for page in pages for hit in page["HITs"]]
    assert [hit["HITId"] for hit in listed] == mine
    assert {hit["HITStatus"] for hit in listed} == {"Assignable"}


def test_a_deleted_hit_is_listed_nowhere(owner_client, requester):
    kept, deleted = hits_of(requester, 2)
    expire(deleted)
    owner_client.delete_hit(HITId=deleted.hit_id)

    assert [hit["HITId"] for hit in owner_client.list_hits()["HITs"]] == [kept.hit_id]
    assert owner_client.list_reviewable_hits()["HITs"] == []
    assert owner_client.get_hit(HITId=deleted.hit_id)["HIT"]["HITStatus"] == "Disposed"


def test_reviewable_hits_are_the_expired_and_the_complete_with_nothing_pending(
    owner_client, requester, worker
):
    assignable, expired, complete, in_review, leased = hits_of(requester, 5)
    expire(expired)
    factories.MturkAssignmentFactory(mturk_hit=complete)  # its one assignment submitted
    factories.MturkAssignmentFactory(mturk_hit=in_review)
    owner_client.update_hit_review_status(HITId=in_review.hit_id)  # Reviewable -> Reviewing
    expire(leased)
    factories.AssignmentFactory(hit=leased.task_hit, worker=worker)  # still being worked on

    paginator = owner_client.get_paginator("list_reviewable_hits")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 1}))
    reviewable = [hit["HITId"] for page in pages for hit in page["HITs"]]
    reviewing = owner_client.list_reviewable_hits(Status="Reviewing")["HITs"]

    assert reviewable == [expired.hit_id, complete.hit_id]
    assert [hit["HITId"] for hit in reviewing] == [in_review.hit_id]
    assert reviewing[0]["HITStatus"] == "Reviewing"
    statuses = {h["HITId"]: h["HITStatus"] for h in owner_client.list_hits()["HITs"]}
    assert (statuses[assignable.hit_id], statuses[leased.hit_id]) == ("Assignable", "Unassignable")


def test_reviewable_hits_of_one_type(owner_client, requester):
    first, second = (factories.HITTypeFactory(requester=requester) for _ in range(2))
    for hit in hits_of(requester, 2, hit_type=first) + hits_of(requester, 1, hit_type=second):
        expire(hit)

    listed = owner_client.list_reviewable_hits(HITTypeId=second.hit_type_id)["HITs"]
    assert [hit["HITTypeId"] for hit in listed] == [second.hit_type_id]
    assert owner_client.list_reviewable_hits(HITTypeId="NOSUCHTYPE")["HITs"] == []


def test_a_token_of_one_status_is_refused_for_the_other(owner_client, requester):
    for hit in hits_of(requester, 2):
        expire(hit)
    token = owner_client.list_reviewable_hits(MaxResults=1)["NextToken"]
    with pytest.raises(owner_client.exceptions.RequestError):
        owner_client.list_reviewable_hits(MaxResults=1, Status="Reviewing", NextToken=token)


def test_another_requesters_keys_list_none_of_my_hits(outsider_client, requester):
    for hit in hits_of(requester, 3):
        expire(hit)
    assert outsider_client.list_hits()["HITs"] == []
    assert outsider_client.list_reviewable_hits()["HITs"] == []


@pytest.mark.parametrize("operation", ["list_hits", "list_reviewable_hits"])
def test_a_page_costs_the_same_statements_whatever_its_size(requester, operation, owner_key):
    for hit in hits_of(requester, 30):
        expire(hit)
        factories.MturkAssignmentFactory(mturk_hit=hit)

    def statements(size: int) -> int:
        call = Call(requester=requester, key=owner_key.key, params={"MaxResults": size})
        with CaptureQueriesContext(connection) as queries:
            page = getattr(hit_operations, operation)(call)
        assert page["NumResults"] == size
        return len(queries)

    assert statements(2) == statements(25) == 1
