"""The admin's pages for blocking one worker by hand and rejecting their answers: the worker's
admin page, the Block list and the review queue (apps/workers/admin/blocking.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from apps.tasks.models import Answer, AuditEvent
from apps.workers.models import Block, LedgerEntry
from tests import factories
from tests.helpers.paid import answer_one, make_paid_project, reversed_ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def paid_project(requester):
    return make_paid_project(requester)


def page(worker, name: str) -> str:
    return f"/admin/workers/user/{worker.pk}/{name}/"


def test_an_admin_blocks_and_unblocks_a_worker_from_their_page_with_a_reason(
    staff, paid_project, worker, admin_user
):
    assert "Not blocked." in staff.get(f"/admin/workers/user/{worker.pk}/change/").content.decode()
    data = {"project": paid_project.pk, "reason": "Random clicking", "which": "none"}
    response = staff.post(page(worker, "block"), data, follow=True)
    assert f"Blocked worker on {paid_project.name}." in response.content.decode()
    block = Block.objects.get(worker=worker, lifted_at__isnull=True)
    assert (block.reason, block.created_by, block.automatic) == (
        "Random clicking",
        admin_user,
        False,
    )
    assert "Random clicking (by hand)" in response.content.decode()

    data = {"block": block.pk, "reason": "Talked it over"}
    response = staff.post(page(worker, "unblock"), data, follow=True)
    assert "Lifted 1 block(s)." in response.content.decode()
    block.refresh_from_db()
    assert block.lifted_by == admin_user
    unblock = AuditEvent.objects.get(action="worker_unblock")
    assert unblock.actor == admin_user and unblock.changes["reason"] == "Talked it over"


def test_a_block_without_a_reason_shows_the_error_and_blocks_nobody(staff, paid_project, worker):
    data = {"project": paid_project.pk, "reason": "", "which": "none"}
    response = staff.post(page(worker, "block"), data)
    assert response.status_code == 200 and response.context["form"].errors["reason"]
    assert not Block.objects.exists()


def test_blocking_everywhere_and_rejecting_a_range_from_the_worker_page(
    staff, paid_project, project, worker
):
    given = answer_one(worker, paid_project)
    since = given.created_at.strftime("%Y-%m-%dT%H:%M")
    data = {"project": "", "reason": "Fraud ring", "which": "range", "since": since}
    response = staff.post(page(worker, "block"), data, follow=True)
    assert "Blocked worker on every project." in response.content.decode()
    assert list(Block.objects.values_list("project_id", flat=True)) == [None]
    assert reversed_ids(worker) == {given.pk}
    # The worker's page lists it; the unblock page offers it.
    listed = staff.get(page(worker, "unblock")).content.decode()
    assert "every project: Fraud ring" in listed


def test_rejecting_the_ticked_answers_from_the_worker_page(staff, paid_project, worker):
    answers = [answer_one(worker, paid_project) for _ in range(3)]
    listing = staff.get(page(worker, "reject"), {"project": paid_project.pk})
    assert len(listing.context["form"].fields["answers"].choices) == 3
    data = {
        "project": paid_project.pk,
        "reason": "Wrong species",
        "which": "selected",
        "answers": [answers[0].pk, answers[1].pk],
    }
    response = staff.post(page(worker, "reject"), data, follow=True)
    assert "Rejected 2 answer(s)." in response.content.decode()
    again = staff.post(page(worker, "reject"), data, follow=True)
    assert "Rejected 0 answer(s)." in again.content.decode()
    assert reversed_ids(worker) == {answers[0].pk, answers[1].pk}
    assert set(Answer.objects.counted().values_list("pk", flat=True)) == {answers[2].pk}


def test_the_block_list_add_button_asks_whom_then_opens_the_block_page(staff, worker):
    response = staff.post("/admin/workers/block/add/?project__id__exact=7", {"worker": "worker"})
    assert response.status_code == 302
    assert response["Location"] == page(worker, "block") + "?project=7"
    response = staff.post("/admin/workers/block/add/", {"worker": "nobody"})
    assert response.context["form"].errors["worker"]


def test_the_unblock_action_of_the_block_list_keeps_the_reason_in_the_audit(
    staff, paid_project, worker
):
    block = Block.objects.create(worker=worker, project=paid_project, reason="x")
    data = {"action": "unblock_selected", "_selected_action": [block.pk], "reason": "Appeal"}
    staff.post("/admin/workers/block/", data)
    assert AuditEvent.objects.get(action="worker_unblock").changes["reason"] == "Appeal"


def test_the_review_queue_links_each_answer_to_its_workers_block_page(staff, paid_project, worker):
    answer = answer_one(worker, paid_project)
    item = answer.item
    type(item).objects.filter(pk=item.pk).update(state="needs_review")
    html = staff.get(f"/admin/tasks/reviewitem/{item.pk}/change/").content.decode()
    assert f'href="{page(worker, "block")}?project={paid_project.pk}"' in html


@pytest.mark.parametrize("who", ["requester", "worker"])
def test_requesters_and_workers_cannot_open_the_blocking_pages(who, request, worker, paid_project):
    client = Client()
    client.force_login(request.getfixturevalue(who))
    for name in ["block", "unblock", "reject"]:
        data = {"project": paid_project.pk, "reason": "x", "which": "all"}
        response = client.post(page(worker, name), data)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not Block.objects.exists() and not LedgerEntry.objects.filter(kind="reversal").exists()


def test_staff_without_the_change_user_permission_get_403(paid_project, worker):
    clerk = factories.AdminFactory(username="clerk", is_superuser=False)
    clerk.user_permissions.add(Permission.objects.get(codename="view_user"))
    client = Client()
    client.force_login(clerk)
    data = {"project": paid_project.pk, "reason": "x", "which": "none"}
    assert client.post(page(worker, "block"), data).status_code == 403
    assert not Block.objects.exists()


def test_the_reject_page_lists_answers_in_a_flat_number_of_queries(
    staff, paid_project, worker, django_assert_max_num_queries
):
    for _ in range(5):
        answer_one(worker, paid_project)
    with django_assert_max_num_queries(12):
        assert staff.get(page(worker, "reject"), {"project": paid_project.pk}).status_code == 200
