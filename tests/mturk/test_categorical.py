"""Beyond MTurk (issue 17 #5): a HIT type's answer field marked categorical gets labels from
its answers, a Dawid-Skene consensus, worker skills and blocking like a native project, read
through the native API; its HITs keep their MaxAssignments."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.mturk.assignment_ids import assignment_id_of
from apps.mturk.services.categorical import label_of
from apps.tasks.models import HIT, Answer, Item
from apps.tasks.services.assignments.claim import assignment_claim
from apps.workers.models import WorkerStats
from tests import factories
from tests.helpers.crowd import aggregate_now

LABELS = ["cat", "dog"]
SUBMIT = "/mturk/externalSubmit"


@pytest.fixture
def hit_type(requester):
    return factories.HITTypeFactory(requester=requester)


def make_hits(hit_type, n: int, *, wanted: int = 3) -> dict[int, str]:
    """`n` HITs of the type; their items' truth by item id (cat, dog, cat, ...)."""
    hits = [
        factories.MturkHITFactory(
            hit_type=hit_type, requester=hit_type.requester, task_hit__answers_wanted=wanted
        )
        for _ in range(n)
    ]
    return {hit.task_hit.item_id: LABELS[i % 2] for i, hit in enumerate(hits)}


def answer_all(worker, project, value_of) -> int:
    """The worker accepts HITs until none is left, each answered through externalSubmit with
    the form's `category` field (value_of(item id); None: the field is not posted)."""
    answered = 0
    while (lease := assignment_claim(worker=worker, project=project)) is not None:
        fields = {"assignmentId": assignment_id_of(lease.pk), "comment": "seen"}
        value = value_of(lease.hit.item_id)
        if value is not None:
            fields["category"] = value
        assert Client(enforce_csrf_checks=True).post(SUBMIT, fields).status_code == 200
        answered += 1
    return answered


def mark(api_client_for, user, hit_type, **body):
    url = f"/api/v1/mturk/hit-types/{hit_type.hit_type_id}/label-field/"
    return api_client_for(user).put(url, body, format="json")


def test_a_categorical_field_gets_a_consensus_and_worker_stats(
    requester, api_client_for, hit_type, sync_q
):
    truth = make_hits(hit_type, 6)
    response = mark(api_client_for, requester, hit_type, field="category", labels=LABELS)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "hit_type_id": hit_type.hit_type_id,
        "project": hit_type.project_id,
        "field": "category",
        "labels": LABELS,
    }
    project = hit_type.project
    project.refresh_from_db()
    good = [factories.WorkerFactory() for _ in range(2)]
    for worker in good:
        answer_all(worker, project, truth.__getitem__)
    answer_all(factories.WorkerFactory(), project, lambda item_id: "cat")
    assert aggregate_now(project)

    items = Item.objects.filter(project=project)
    assert {item.pk: item.final_label for item in items} == truth
    assert {item.state for item in items} == {Item.State.CONSENSUS}
    # MaxAssignments stands: three answers each, none asked for beyond them.
    assert set(HIT.objects.filter(project=project).values_list("answers_wanted", "state")) == {
        (3, HIT.State.DONE)
    }
    assert Answer.objects.filter(project=project).exclude(label__in=LABELS).count() == 0
    assert WorkerStats.objects.filter(project=project, skill__isnull=False).count() == 3
    listed = api_client_for(requester).get(f"/api/v1/projects/{project.pk}/").json()
    assert (listed["kind"], listed["labels"]) == ("mturk", LABELS)


def test_answers_given_before_are_labeled_from_their_xml(requester, api_client_for, hit_type):
    truth = make_hits(hit_type, 2, wanted=1)
    project = hit_type.project
    answer_all(factories.WorkerFactory(), project, truth.__getitem__)
    assert set(Answer.objects.values_list("label", flat=True)) == {""}

    marked = mark(api_client_for, requester, hit_type, field="category", labels=LABELS)
    assert marked.status_code == 200

    labels = dict(Answer.objects.values_list("item_id", "label"))
    assert labels == truth
    # Free form again: the labels go, the consensus with them.
    assert mark(api_client_for, requester, hit_type, field="", labels=[]).status_code == 200
    assert set(Answer.objects.values_list("label", flat=True)) == {""}
    project.refresh_from_db()
    assert project.labels == [] and not project.has_consensus


def test_a_value_outside_the_set_or_none_carries_no_label(requester, api_client_for, hit_type):
    make_hits(hit_type, 2, wanted=1)
    marked = mark(api_client_for, requester, hit_type, field="category", labels=LABELS)
    assert marked.status_code == 200
    values = iter(["horse", None])
    answer_all(factories.WorkerFactory(), hit_type.project, lambda item_id: next(values))

    assert list(Answer.objects.values_list("label", flat=True)) == ["", ""]
    assert label_of("cat|dog", LABELS) == ""  # a field posted twice is no one label


@pytest.mark.parametrize(
    "body, field",
    [
        ({"field": "category", "labels": ["cat"]}, "labels"),
        ({"field": "category", "labels": ["cat", "cat"]}, "labels"),
        ({"field": "", "labels": LABELS}, "field"),
        ({"field": "assignmentId", "labels": LABELS}, "field"),
        ({"field": "x" * 256, "labels": LABELS}, "field"),
        ({"labels": LABELS}, "field"),
    ],
)
def test_a_bad_field_or_label_set_is_a_400_naming_it(
    requester, api_client_for, hit_type, body, field
):
    response = mark(api_client_for, requester, hit_type, **body)

    assert response.status_code == 400
    assert field in response.content.decode()
    hit_type.project.refresh_from_db()
    assert hit_type.project.labels == []


def test_only_the_owner_may_mark_it(other_requester, worker, api_client_for, hit_type, client):
    body = {"field": "category", "labels": LABELS}
    assert mark(api_client_for, other_requester, hit_type, **body).status_code == 404
    assert mark(api_client_for, worker, hit_type, **body).status_code == 403
    url = f"/api/v1/mturk/hit-types/{hit_type.hit_type_id}/label-field/"
    assert client.put(url, body, content_type="application/json").status_code == 401


def test_a_rejected_answer_leaves_the_consensus_and_an_override_brings_it_back(
    requester, api_client_for, hit_type, sync_q, django_capture_on_commit_callbacks
):
    from apps.mturk.models import MturkAssignment
    from apps.mturk.services.assignments import assignment_approve, assignment_reject

    truth = make_hits(hit_type, 1, wanted=3)
    (item_id,) = truth
    marked = mark(api_client_for, requester, hit_type, field="category", labels=LABELS)
    assert marked.status_code == 200
    project = hit_type.project
    project.refresh_from_db()
    for value in ("dog", "dog", "cat"):
        answer_all(factories.WorkerFactory(), project, lambda _, value=value: value)
    assert aggregate_now(project)
    assert Item.objects.get(pk=item_id).final_label == "dog"

    dogs = MturkAssignment.objects.filter(task_assignment__answer__label="dog")
    for row in dogs:
        with django_capture_on_commit_callbacks(execute=True):
            assignment_reject(requester=requester, assignment_id=row.assignment_id, feedback="no")
    assert Item.objects.get(pk=item_id).final_label == "cat"

    factories.DepositFactory(requester=requester)
    for row in dogs:
        with django_capture_on_commit_callbacks(execute=True):
            assignment_approve(
                requester=requester, assignment_id=row.assignment_id, override_rejection=True
            )
    assert Item.objects.get(pk=item_id).final_label == "dog"


def test_a_blocked_workers_answer_keeps_its_assignment_and_the_item_is_decided_without_it(
    requester, api_client_for, hit_type, sync_q, django_capture_on_commit_callbacks
):
    """MaxAssignments stands after a block (found by tests/live/test_mturk_crowd.py: HITs of
    MaxAssignments 3 got a 4th assignment): the blocked worker's answers leave the consensus,
    their submitted assignments keep their slots, and the items are decided on the rest."""
    from apps.mturk.models import MturkAssignment
    from apps.tasks.models import Assignment
    from apps.tasks.selectors.invariants import project_invariants_broken
    from apps.workers.services import worker_block

    truth = make_hits(hit_type, 2, wanted=3)
    marked = mark(api_client_for, requester, hit_type, field="category", labels=LABELS)
    assert marked.status_code == 200
    project = hit_type.project
    project.refresh_from_db()
    for _ in range(2):
        answer_all(factories.WorkerFactory(), project, truth.__getitem__)
    spammer = factories.WorkerFactory()
    answer_all(spammer, project, lambda item_id: "dog" if truth[item_id] == "cat" else "cat")

    with django_capture_on_commit_callbacks(execute=True):
        worker_block(worker=spammer, project=project, reason="Spam.", by=requester)

    assert Answer.objects.counted().filter(worker=spammer).count() == 0
    kept = Assignment.objects.filter(worker=spammer).values_list("state", flat=True)
    assert set(kept) == {Assignment.State.SUBMITTED}
    assert MturkAssignment.objects.filter(task_assignment__worker=spammer).count() == 2
    assert set(HIT.objects.filter(project=project).values_list("slots_taken", flat=True)) == {3}
    assert assignment_claim(worker=factories.WorkerFactory(), project=project) is None
    items = Item.objects.filter(project=project)
    assert {item.pk: (item.state, item.final_label) for item in items} == {
        pk: (Item.State.CONSENSUS, label) for pk, label in truth.items()
    }
    assert project_invariants_broken(project_id=project.pk) == {}


def test_an_item_whose_every_assignment_is_in_is_decided_on_the_answers_that_count(
    requester, api_client_for, hit_type, sync_q
):
    """Answers outside the label set carry none: with every assignment in, the item is
    decided on the one that counts rather than left waiting for answers that cannot come."""
    from apps.tasks.selectors.invariants import project_invariants_broken

    truth = make_hits(hit_type, 1, wanted=2)
    (item_id,) = truth
    marked = mark(api_client_for, requester, hit_type, field="category", labels=LABELS)
    assert marked.status_code == 200
    project = hit_type.project
    project.refresh_from_db()
    answer_all(factories.WorkerFactory(), project, truth.__getitem__)
    answer_all(factories.WorkerFactory(), project, lambda item_id: "horse")
    factories.WorkerFactory()  # a worker who could still answer, were the HIT not full
    assert aggregate_now(project)

    item = Item.objects.get(pk=item_id)
    assert (item.state, item.final_label) == (Item.State.CONSENSUS, truth[item_id])
    assert project_invariants_broken(project_id=project.pk) == {}


def test_an_item_whose_hit_expires_short_of_its_answers_is_decided_by_the_expiry_sweep(
    requester, api_client_for, hit_type, sync_q, django_capture_on_commit_callbacks
):
    """No answer can come once the HIT expires: the sweep that closes it queues the project's
    consensus, which decides the item on the answers it has, instead of leaving it waiting for
    a run that only another answer would start."""
    from apps.tasks.jobs import expire_leases_job

    truth = make_hits(hit_type, 2)
    marked = mark(api_client_for, requester, hit_type, field="category", labels=LABELS)
    assert marked.status_code == 200
    project = hit_type.project
    project.refresh_from_db()
    factories.WorkerFactory.create_batch(2)  # workers who could still answer
    with django_capture_on_commit_callbacks(execute=True):
        answer_all(factories.WorkerFactory(), project, truth.__getitem__)
    assert set(Item.objects.filter(project=project).values_list("state", flat=True)) == {
        Item.State.WAITING
    }
    (expiring, _) = sorted(truth)
    HIT.objects.filter(item_id=expiring).update(expires_at=timezone.now() - timedelta(seconds=1))

    with django_capture_on_commit_callbacks(execute=True):
        expire_leases_job()

    states = dict(Item.objects.filter(project=project).values_list("pk", "state"))
    assert states[expiring] != Item.State.WAITING
    assert Item.objects.get(pk=expiring).final_label == truth[expiring]
    assert states[max(truth)] == Item.State.WAITING  # its HIT still takes answers


def test_a_lease_that_ends_on_an_expired_hit_gets_its_item_decided(
    requester, api_client_for, hit_type, sync_q, django_capture_on_commit_callbacks
):
    """A worker on a HIT when it expires may still submit; if their lease runs out instead,
    its end is when no answer can come, and the sweep that ends it queues the consensus."""
    from apps.tasks.jobs import expire_leases_job
    from apps.tasks.models import Assignment

    truth = make_hits(hit_type, 1)
    (item_id,) = truth
    assert mark(api_client_for, requester, hit_type, field="category", labels=LABELS).status_code
    project = hit_type.project
    project.refresh_from_db()
    factories.WorkerFactory.create_batch(2)
    with django_capture_on_commit_callbacks(execute=True):
        answer_all(factories.WorkerFactory(), project, truth.__getitem__)
        lease = assignment_claim(worker=factories.WorkerFactory(), project=project)
    assert lease is not None
    past = timezone.now() - timedelta(seconds=1)
    HIT.objects.filter(item_id=item_id).update(expires_at=past)
    with django_capture_on_commit_callbacks(execute=True):
        expire_leases_job()
    assert Item.objects.get(pk=item_id).state == Item.State.WAITING  # the lease may yet submit

    Assignment.objects.filter(pk=lease.pk).update(lease_expires_at=past)
    with django_capture_on_commit_callbacks(execute=True):
        expire_leases_job()

    item = Item.objects.get(pk=item_id)
    assert item.state != Item.State.WAITING
    assert item.final_label == truth[item_id]
