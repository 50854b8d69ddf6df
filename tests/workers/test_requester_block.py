"""A requester's block on all their projects (the MTurk API's CreateWorkerBlock, issue 17 #2):
the claim, the submit, the consensus and eligibility refuse the worker on every project of
that requester, those created later too, and on no other requester's; the worker is told they
are blocked, never the requester's note."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.tasks.errors import NotQualified
from apps.tasks.models import HIT, Answer, Assignment, AuditEvent
from apps.tasks.selectors.eligibility import eligible_workers
from apps.tasks.selectors.invariants import project_invariants
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.slots import hit_slots_recount
from apps.workers.models import Block
from apps.workers.selectors import REQUESTER_BLOCK_NOTICE, blocked_worker_ids
from apps.workers.services import (
    worker_block,
    worker_block_everywhere,
    worker_block_for_requester,
    worker_unblock,
)
from hitlcrowd.errors import InvalidInput
from tests import factories
from tests.helpers.paid import answer_one, make_paid_project, reversed_ids, submit_url
from tests.helpers.web import client_for

pytestmark = pytest.mark.django_db

NOTE = "Copied answers from a bot (my note)"


def lease_on(worker, project) -> Assignment:
    """A live lease written as a claim would, for a worker the claim now refuses."""
    hit = HIT.objects.filter(item__project=project).order_by("pk").first()
    lease = factories.AssignmentFactory(hit=hit, worker=worker)
    hit_slots_recount(hit_ids=[hit.pk])
    return lease


def test_the_worker_is_refused_on_a_later_project_of_the_requester_without_the_note(
    requester, worker, api_client_for
):
    worker_block_for_requester(worker=worker, requester=requester, reason=NOTE)
    later = make_paid_project(requester)
    lease = lease_on(worker, later)
    client = api_client_for(worker)

    served = client.post("/api/v1/work/next/", {"project": later.pk}, format="json")
    submitted = client.post(
        submit_url(lease.pk), {"label": "cat", "seconds_spent": 2}, format="json"
    )

    for response in (served, submitted):
        assert response.status_code == 403, response.content
        assert response.json()["detail"] == REQUESTER_BLOCK_NOTICE
    assert not Answer.objects.filter(worker=worker).exists()
    lease.refresh_from_db()
    assert lease.state == Assignment.State.DISCARDED


def test_another_requesters_projects_stay_open_to_the_worker(requester, other_requester, worker):
    mine, theirs = make_paid_project(requester), make_paid_project(other_requester)
    worker_block_for_requester(worker=worker, requester=requester, reason=NOTE)

    with pytest.raises(NotQualified):
        assignment_claim(worker=worker, project=mine)
    assert answer_one(worker, theirs).project == theirs
    # The claim on any project passes over the requester's projects to the others'.
    assert assignment_claim(worker=worker).project == theirs
    assert list(blocked_worker_ids(project=theirs)) == []
    assert worker not in eligible_workers(project=mine)
    assert worker in eligible_workers(project=theirs)


def test_the_block_takes_the_answers_out_on_the_requesters_projects_only(
    requester, other_requester, worker
):
    first, second = make_paid_project(requester), make_paid_project(requester)
    theirs = make_paid_project(other_requester)
    mine = [answer_one(worker, first), answer_one(worker, second)]
    kept = answer_one(worker, theirs)
    leased = assignment_claim(worker=worker, project=second)

    worker_block_for_requester(worker=worker, requester=requester, reason=NOTE)

    counted = set(Answer.objects.counted().filter(worker=worker).values_list("pk", flat=True))
    assert counted == {kept.pk}
    assert {a.discard_reason for a in Answer.objects.filter(pk__in=[a.pk for a in mine])} == {
        "blocked"
    }
    leased.refresh_from_db()
    assert leased.state == Assignment.State.DISCARDED
    assert set(HIT.objects.filter(item__project=second).values_list("slots_taken", flat=True)) == {
        0
    }
    assert reversed_ids(worker) == set()  # a block takes no pay back
    for project in (first, second, theirs):
        assert all(not rows for rows in project_invariants(project_id=project.pk).values())


def test_the_block_is_one_row_audited_on_each_project_of_the_requester(
    requester, other_requester, worker
):
    first, second = make_paid_project(requester), make_paid_project(requester)
    make_paid_project(other_requester)

    block = worker_block_for_requester(worker=worker, requester=requester, reason=NOTE)
    again = worker_block_for_requester(worker=worker, requester=requester, reason="Another")

    assert again == block and Block.objects.count() == 1
    assert (block.project, block.requester, block.created_by) == (None, requester, requester)
    assert not block.automatic and block.reason == NOTE
    assert block.scope == f"every project of {requester.username}"
    events = AuditEvent.objects.filter(action="worker_block")
    assert {e.project_id for e in events} == {first.pk, second.pk}
    assert all(e.changes["requester"] == requester.pk for e in events)

    worker_unblock(block=block, by=requester, reason="Appeal")
    lifted = AuditEvent.objects.filter(action="worker_unblock")
    assert {e.project_id for e in lifted} == {first.pk, second.pk}
    assert answer_one(worker, first).project == first


def test_a_requester_without_projects_has_the_block_on_the_accounts_trail(requester, worker):
    worker_block_for_requester(worker=worker, requester=requester, reason=NOTE)
    event = AuditEvent.objects.get(action="worker_block")
    assert event.project_id is None and event.actor == requester


def test_blocks_of_two_requesters_and_the_account_wide_one_are_apart(
    requester, other_requester, worker, admin_user
):
    mine = make_paid_project(requester)
    worker_block_for_requester(worker=worker, requester=requester, reason=NOTE)
    worker_block_for_requester(worker=worker, requester=other_requester, reason="Theirs")
    everywhere = worker_block_everywhere(worker=worker, reason="Fraud", by=admin_user)
    assert Block.objects.filter(lifted_at__isnull=True).count() == 3

    with pytest.raises(NotQualified, match="every project by an administrator: Fraud"):
        assignment_claim(worker=worker, project=mine)
    worker_unblock(block=everywhere, by=admin_user)
    with pytest.raises(NotQualified) as refused:
        assignment_claim(worker=worker, project=mine)
    assert refused.value.message == REQUESTER_BLOCK_NOTICE


def test_a_project_block_and_the_requesters_block_both_hold(requester, worker, admin_user):
    project = make_paid_project(requester)
    worker_block(worker=worker, project=project, reason="Sloppy", by=admin_user)
    block = worker_block_for_requester(worker=worker, requester=requester, reason=NOTE)
    worker_unblock(block=block, by=requester)
    with pytest.raises(NotQualified, match="Sloppy"):
        assignment_claim(worker=worker, project=project)


def test_only_workers_are_blocked_and_the_note_is_required(requester, other_requester, worker):
    with pytest.raises(InvalidInput) as refused:
        worker_block_for_requester(worker=other_requester, requester=requester, reason=NOTE)
    assert "worker" in refused.value.errors
    with pytest.raises(InvalidInput) as refused:
        worker_block_for_requester(worker=worker, requester=requester, reason=" ")
    assert "reason" in refused.value.errors
    assert not Block.objects.exists()


def test_the_worker_pages_and_stats_say_blocked_without_the_note(requester, worker, api_client_for):
    project = make_paid_project(requester)
    answer_one(worker, project)
    factories.WorkerStatsFactory(worker=worker, project=project, answers=1)
    worker_block_for_requester(worker=worker, requester=requester, reason=NOTE)

    home = client_for(worker).get(reverse("worker-projects")).content.decode()
    assert "blocked from this requester" in home and NOTE not in home
    stats = api_client_for(worker).get("/api/v1/work/me/stats/").json()
    rows = stats["results"] if isinstance(stats, dict) else stats
    assert [(r["blocked"], r["blocked_reason"]) for r in rows] == [(True, REQUESTER_BLOCK_NOTICE)]
