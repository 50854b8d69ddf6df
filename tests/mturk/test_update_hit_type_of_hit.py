"""UpdateHITTypeOfHIT through boto3: a HIT no worker has taken moves to another of the
requester's HIT types (its item and HIT to that type's project; the new type's reward,
duration and requirements apply from then on; an audit event); a HIT with an assignment is
refused (MTurk's InvalidState); another requester's type or HIT does not exist."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from apps.mturk.assignment_ids import assignment_id_of
from apps.mturk.models import MturkHIT
from apps.tasks.errors import NotQualified
from apps.tasks.models import HIT, AuditEvent, Item
from apps.tasks.services.assignments.claim import assignment_claim
from tests import factories

# Their requesters paid in: a dearer type's rewards are held (conftest.funded).
pytestmark = pytest.mark.usefixtures("funded")


@pytest.fixture
def hit(requester) -> MturkHIT:
    return factories.MturkHITFactory(hit_type=factories.HITTypeFactory(requester=requester))


@pytest.fixture
def target(requester):
    """Another of the requester's types: a higher reward, a longer duration."""
    return factories.HITTypeFactory(
        requester=requester, reward=Decimal("0.40"), assignment_duration_seconds=1800
    )


def refusal(client, call) -> dict:
    with pytest.raises(client.exceptions.RequestError) as raised:
        call()
    return raised.value.response


def test_a_hit_no_worker_took_moves_to_the_other_type(owner_client, hit, target, worker):
    old_project = hit.hit_type.project

    assert owner_client.update_hit_type_of_hit(HITId=hit.hit_id, HITTypeId=target.hit_type_id)

    shown = owner_client.get_hit(HITId=hit.hit_id)["HIT"]
    assert (shown["HITTypeId"], shown["HITGroupId"]) == (target.hit_type_id,) * 2
    assert (shown["Title"], shown["Reward"]) == (target.title, "0.40")
    assert shown["AssignmentDurationInSeconds"] == 1800
    assert shown["HITStatus"] == "Assignable" and shown["NumberOfAssignmentsAvailable"] == 1
    task_hit = HIT.objects.select_related("item").get(pk=hit.task_hit_id)
    assert task_hit.project_id == task_hit.item.project_id == target.project_id
    assert not Item.objects.filter(project=old_project).exists()

    assert assignment_claim(worker=worker, project=old_project) is None
    lease = assignment_claim(worker=worker, project=target.project)
    assert lease is not None and lease.hit_id == hit.task_hit_id
    duration = (lease.lease_expires_at - lease.leased_at).total_seconds()
    assert duration == pytest.approx(1800, abs=1)

    (event,) = AuditEvent.objects.filter(action=AuditEvent.Action.ITEM_MOVE)
    assert event.project_id == target.project_id
    assert event.changes == {"project": [old_project.pk, target.project_id]}
    assert event.actor_id == hit.requester_id


def test_the_new_types_requirements_guard_the_hit(owner_client, hit, requester, worker):
    wanted = factories.QualificationTypeFactory(requester=requester)
    guarded = factories.HITTypeFactory(
        requester=requester,
        qualification_requirements=[
            {
                "QualificationTypeId": wanted.qualification_type_id,
                "Comparator": "Exists",
                "ActionsGuarded": "Accept",
            }
        ],
    )
    owner_client.update_hit_type_of_hit(HITId=hit.hit_id, HITTypeId=guarded.hit_type_id)
    shown = owner_client.get_hit(HITId=hit.hit_id)["HIT"]
    assert shown["QualificationRequirements"][0]["QualificationTypeId"] == (
        wanted.qualification_type_id
    )
    with pytest.raises(NotQualified) as raised:
        assignment_claim(worker=worker, project=guarded.project)
    assert wanted.name in raised.value.message


@pytest.mark.parametrize("how", ["leased", "submitted", "returned"])
def test_a_hit_a_worker_took_keeps_its_type(owner_client, hit, target, worker, how):
    lease = assignment_claim(worker=worker, project=hit.hit_type.project)
    if how == "submitted":
        Client().post("/mturk/externalSubmit", {"assignmentId": assignment_id_of(lease.pk)})
    elif how == "returned":
        lease.state = lease.State.SKIPPED
        lease.save()

    response = refusal(
        owner_client,
        lambda: owner_client.update_hit_type_of_hit(HITId=hit.hit_id, HITTypeId=target.hit_type_id),
    )

    assert response["TurkErrorCode"] == "AWS.MechanicalTurk.InvalidState"
    assert "has 1 assignment(s)" in response["Error"]["Message"]
    hit.refresh_from_db()
    assert hit.hit_type_id != target.pk
    assert HIT.objects.get(pk=hit.task_hit_id).project_id == hit.hit_type.project_id
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ITEM_MOVE).exists()


def test_another_requesters_type_does_not_exist_for_me(owner_client, hit, other_requester):
    theirs = factories.HITTypeFactory(requester=other_requester)
    response = refusal(
        owner_client,
        lambda: owner_client.update_hit_type_of_hit(HITId=hit.hit_id, HITTypeId=theirs.hit_type_id),
    )
    assert response["TurkErrorCode"] == "AWS.MechanicalTurk.ResourceDoesNotExist"
    assert response["Error"]["Message"] == f"HIT type {theirs.hit_type_id} does not exist."
    assert MturkHIT.objects.get(pk=hit.pk).hit_type_id == hit.hit_type_id


def test_another_requesters_hit_does_not_exist_for_them(outsider_client, hit, other_requester):
    theirs = factories.HITTypeFactory(requester=other_requester)
    response = refusal(
        outsider_client,
        lambda: outsider_client.update_hit_type_of_hit(
            HITId=hit.hit_id, HITTypeId=theirs.hit_type_id
        ),
    )
    assert response["TurkErrorCode"] == "AWS.MechanicalTurk.ResourceDoesNotExist"
    assert MturkHIT.objects.get(pk=hit.pk).hit_type_id == hit.hit_type_id


def test_moving_a_hit_to_its_own_type_changes_nothing(owner_client, hit):
    owner_client.update_hit_type_of_hit(HITId=hit.hit_id, HITTypeId=hit.hit_type.hit_type_id)
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ITEM_MOVE).exists()


def test_a_deleted_hit_is_not_moved(owner_client, hit, target):
    MturkHIT.objects.filter(pk=hit.pk).update(disposed_at=timezone.now())
    response = refusal(
        owner_client,
        lambda: owner_client.update_hit_type_of_hit(HITId=hit.hit_id, HITTypeId=target.hit_type_id),
    )
    assert response["TurkErrorCode"] == "AWS.MechanicalTurk.InvalidState"
    assert MturkHIT.objects.get(pk=hit.pk).hit_type_id == hit.hit_type_id
