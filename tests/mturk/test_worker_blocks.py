"""CreateWorkerBlock, DeleteWorkerBlock and ListWorkerBlocks through boto3 (issue 17 #2): the
worker is blocked from every project of the requester, present and future, and from no other
requester's; a requester sees and lifts only their own blocks."""

from __future__ import annotations

import pytest

from apps.mturk.workers import worker_id_of
from apps.tasks.errors import NotQualified
from apps.tasks.services.assignments.claim import assignment_claim
from apps.workers.models import Block
from tests import factories
from tests.helpers.paid import answer_one, make_paid_project


def error_of(raised) -> tuple[str, str, str]:
    response = raised.value.response
    return response["Error"]["Code"], response.get("TurkErrorCode"), response["Error"]["Message"]


def test_a_blocked_worker_gets_no_task_on_my_projects_even_later_ones(
    owner_client, requester, worker
):
    before = make_paid_project(requester)
    owner_client.create_worker_block(WorkerId=worker_id_of(worker), Reason="Random answers")
    later = make_paid_project(requester)

    for project in (before, later):
        with pytest.raises(NotQualified, match="blocked from this requester's projects"):
            assignment_claim(worker=worker, project=project)
    block = Block.objects.get()
    assert (block.requester, block.project, block.reason) == (requester, None, "Random answers")


def test_the_list_shows_each_blocked_worker_with_my_reason(owner_client, worker, other_worker):
    owner_client.create_worker_block(WorkerId=worker_id_of(worker), Reason="Spam")
    owner_client.create_worker_block(WorkerId=worker_id_of(other_worker), Reason="Bot")
    # Blocking again keeps the block and its first reason.
    owner_client.create_worker_block(WorkerId=worker_id_of(worker), Reason="Still spam")

    listed = owner_client.list_worker_blocks()

    assert listed["NumResults"] == 2
    assert listed["WorkerBlocks"] == [
        {"WorkerId": worker_id_of(worker), "Reason": "Spam"},
        {"WorkerId": worker_id_of(other_worker), "Reason": "Bot"},
    ]


def test_boto3s_paginator_walks_the_blocks(owner_client):
    ids = [worker_id_of(w) for w in factories.WorkerFactory.create_batch(5)]
    for worker_id in ids:
        owner_client.create_worker_block(WorkerId=worker_id, Reason="Bad")

    pages = list(
        owner_client.get_paginator("list_worker_blocks").paginate(PaginationConfig={"PageSize": 2})
    )

    assert [page["NumResults"] for page in pages] == [2, 2, 1]
    assert [b["WorkerId"] for page in pages for b in page["WorkerBlocks"]] == ids


def test_deleting_the_block_lets_the_worker_work_again_and_twice_is_fine(
    owner_client, requester, worker
):
    project = make_paid_project(requester)
    worker_id = worker_id_of(worker)
    owner_client.create_worker_block(WorkerId=worker_id, Reason="Checking")

    owner_client.delete_worker_block(WorkerId=worker_id, Reason="Checked")
    owner_client.delete_worker_block(WorkerId=worker_id)  # not blocked: succeeds (MTurk)

    assert answer_one(worker, project).project == project
    assert owner_client.list_worker_blocks()["WorkerBlocks"] == []
    block = Block.objects.get()
    assert block.lifted_by == requester and block.lifted_at is not None


def test_an_unknown_worker_id_is_invalid(owner_client):
    for call in (owner_client.create_worker_block, owner_client.delete_worker_block):
        with pytest.raises(owner_client.exceptions.RequestError) as raised:
            call(WorkerId="A00000000000NO", Reason="x")
        code, turk_code, message = error_of(raised)
        assert (code, message) == ("RequestError", "WorkerId is invalid.")
        assert turk_code == "AWS.MechanicalTurk.ResourceDoesNotExist"
    assert not Block.objects.exists()


def test_a_block_needs_a_reason(owner_client, worker):
    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.create_worker_block(WorkerId=worker_id_of(worker), Reason="  ")
    assert error_of(raised)[2] == "Reason: Must not be empty."
    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.create_worker_block(WorkerId=worker_id_of(worker), Reason="x" * 501)
    assert error_of(raised)[2].startswith("Reason: Give a reason of at most 500")
    assert not Block.objects.exists()


def test_another_requester_sees_none_of_my_blocks_and_cannot_lift_them(
    owner_client, outsider_client, requester, other_requester, worker
):
    mine, theirs = make_paid_project(requester), make_paid_project(other_requester)
    worker_id = worker_id_of(worker)
    owner_client.create_worker_block(WorkerId=worker_id, Reason="Mine")

    assert outsider_client.list_worker_blocks()["WorkerBlocks"] == []
    outsider_client.delete_worker_block(WorkerId=worker_id, Reason="Trying")

    with pytest.raises(NotQualified):
        assignment_claim(worker=worker, project=mine)
    assert answer_one(worker, theirs).project == theirs  # my block is not theirs
    # Their own block of the same worker is another block, listed to them only.
    outsider_client.create_worker_block(WorkerId=worker_id, Reason="Theirs")
    assert owner_client.list_worker_blocks()["WorkerBlocks"] == [
        {"WorkerId": worker_id, "Reason": "Mine"}
    ]
    assert Block.objects.filter(lifted_at__isnull=True).count() == 2
