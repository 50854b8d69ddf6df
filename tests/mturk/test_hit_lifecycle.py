"""A HIT's life through boto3: expiry (now, later, again), review status, deletion under
MTurk's rules, more assignments (the <10 rule, the request token); and a worker's claim never
takes an expired HIT."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from apps.mturk.models import HITExtension, MturkHIT
from apps.tasks.models import HIT
from apps.tasks.services.assignments.claim import assignment_claim
from tests import factories

# Their requesters paid in: HITs are created against the balance (conftest.funded).
pytestmark = pytest.mark.usefixtures("funded")


@pytest.fixture
def hit(requester) -> MturkHIT:
    return factories.MturkHITFactory(hit_type=factories.HITTypeFactory(requester=requester))


def state_of(client, hit: MturkHIT) -> dict:
    return client.get_hit(HITId=hit.hit_id)["HIT"]


def past() -> datetime:
    return datetime.now(tz=UTC) - timedelta(minutes=5)


def test_a_past_expiry_ends_the_hit_at_once_and_a_later_one_opens_it_again(
    owner_client, hit, worker
):
    owner_client.update_expiration_for_hit(HITId=hit.hit_id, ExpireAt=past())
    expired = state_of(owner_client, hit)
    assert (expired["HITStatus"], expired["NumberOfAssignmentsAvailable"]) == ("Reviewable", 0)
    assert HIT.objects.get(pk=hit.task_hit_id).state == HIT.State.EXPIRED
    assert assignment_claim(worker=worker, project=hit.hit_type.project) is None

    later = datetime.now(tz=UTC) + timedelta(hours=2)
    owner_client.update_expiration_for_hit(HITId=hit.hit_id, ExpireAt=later)
    again = state_of(owner_client, hit)
    assert (again["HITStatus"], again["NumberOfAssignmentsAvailable"]) == ("Assignable", 1)
    assert abs(again["Expiration"].timestamp() - later.timestamp()) < 0.01
    lease = assignment_claim(worker=worker, project=hit.hit_type.project)
    assert lease is not None and lease.hit_id == hit.task_hit_id


def test_a_live_lease_outlives_the_hits_expiry(owner_client, hit, worker):
    lease = assignment_claim(worker=worker, project=hit.hit_type.project)
    owner_client.update_expiration_for_hit(HITId=hit.hit_id, ExpireAt=past())
    shown = state_of(owner_client, hit)
    assert (shown["HITStatus"], shown["NumberOfAssignmentsPending"]) == ("Unassignable", 1)
    lease.refresh_from_db()
    assert lease.state == lease.State.LEASED


def test_an_expiry_beyond_a_year_is_refused(owner_client, hit):
    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.update_expiration_for_hit(
            HITId=hit.hit_id, ExpireAt=datetime.now(tz=UTC) + timedelta(days=366)
        )
    assert raised.value.response["Error"]["Message"].startswith("ExpireAt: ")


def test_review_status_goes_reviewable_reviewing_and_back(owner_client, hit):
    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.update_hit_review_status(HITId=hit.hit_id)  # still Assignable
    assert raised.value.response["TurkErrorCode"] == "AWS.MechanicalTurk.InvalidState"
    owner_client.update_expiration_for_hit(HITId=hit.hit_id, ExpireAt=past())

    owner_client.update_hit_review_status(HITId=hit.hit_id)
    assert state_of(owner_client, hit)["HITStatus"] == "Reviewing"
    owner_client.update_hit_review_status(HITId=hit.hit_id, Revert=True)
    assert state_of(owner_client, hit)["HITStatus"] == "Reviewable"


def test_a_hit_is_deleted_only_once_reviewable_and_reviewed(owner_client, hit):
    factories.MturkAssignmentFactory(mturk_hit=hit)  # submitted, not yet reviewed
    hit.task_hit.answers_wanted = 2
    hit.task_hit.save()
    refusals = []
    for _ in range(2):  # Assignable, then Reviewable with an assignment unreviewed
        with pytest.raises(owner_client.exceptions.RequestError) as raised:
            owner_client.delete_hit(HITId=hit.hit_id)
        refusals.append(raised.value.response["Error"]["Message"])
        owner_client.update_expiration_for_hit(HITId=hit.hit_id, ExpireAt=past())
    assert "is Assignable" in refusals[0] and "still to approve or reject" in refusals[1]

    hit.assignments.update(status="Approved")
    owner_client.delete_hit(HITId=hit.hit_id)
    owner_client.delete_hit(HITId=hit.hit_id)  # again: nothing changes
    assert state_of(owner_client, hit)["HITStatus"] == "Disposed"
    with pytest.raises(owner_client.exceptions.RequestError):
        owner_client.update_expiration_for_hit(HITId=hit.hit_id, ExpireAt=datetime.now(tz=UTC))


def test_additional_assignments_raise_max_assignments_and_reopen_a_full_hit(owner_client, hit):
    factories.MturkAssignmentFactory(mturk_hit=hit)
    HIT.objects.filter(pk=hit.task_hit_id).update(state=HIT.State.DONE, slots_taken=1)
    assert state_of(owner_client, hit)["HITStatus"] == "Reviewable"

    owner_client.create_additional_assignments_for_hit(
        HITId=hit.hit_id, NumberOfAdditionalAssignments=2
    )
    shown = state_of(owner_client, hit)
    assert (shown["MaxAssignments"], shown["NumberOfAssignmentsAvailable"]) == (3, 2)
    assert shown["HITStatus"] == "Assignable"
    assert HIT.objects.get(pk=hit.task_hit_id).state == HIT.State.OPEN


def test_a_hit_under_ten_assignments_cannot_reach_ten(owner_client, hit):
    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.create_additional_assignments_for_hit(
            HITId=hit.hit_id, NumberOfAdditionalAssignments=9
        )
    response = raised.value.response
    assert response["TurkErrorCode"] == "AWS.MechanicalTurk.InvalidMaximumAssignmentsIncrease"
    assert state_of(owner_client, hit)["MaxAssignments"] == 1
    owner_client.create_additional_assignments_for_hit(
        HITId=hit.hit_id, NumberOfAdditionalAssignments=8
    )
    assert state_of(owner_client, hit)["MaxAssignments"] == 9


def test_a_repeated_request_token_adds_assignments_once(owner_client, hit):
    for _ in range(3):
        owner_client.create_additional_assignments_for_hit(
            HITId=hit.hit_id, NumberOfAdditionalAssignments=2, UniqueRequestToken="extend-1"
        )
    assert state_of(owner_client, hit)["MaxAssignments"] == 3
    assert HITExtension.objects.get().assignments_added == 2


@pytest.mark.parametrize(
    "call",
    [
        lambda c, h: c.update_expiration_for_hit(HITId=h, ExpireAt=datetime.now(tz=UTC)),
        lambda c, h: c.update_hit_review_status(HITId=h),
        lambda c, h: c.delete_hit(HITId=h),
        lambda c, h: c.create_additional_assignments_for_hit(
            HITId=h, NumberOfAdditionalAssignments=1
        ),
    ],
)
def test_another_requesters_hit_does_not_exist_for_me(outsider_client, hit, call):
    with pytest.raises(outsider_client.exceptions.RequestError) as raised:
        call(outsider_client, hit.hit_id)
    assert raised.value.response["TurkErrorCode"] == "AWS.MechanicalTurk.ResourceDoesNotExist"
    hit.refresh_from_db()
    task_hit = HIT.objects.get(pk=hit.task_hit_id)
    assert (task_hit.answers_wanted, task_hit.state, hit.disposed_at) == (1, HIT.State.OPEN, None)
    assert task_hit.expires_at > timezone.now()
