"""Publishing a guideline with a re-queue choice: old answers leave the consensus, the HITs
reopen for new answers (same workers allowed), and the consensus is recomputed."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from apps.tasks.models import HIT, AggregationRun, Answer, Assignment, GuidelineVersion, Item
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.submit import assignment_submit
from apps.tasks.services.consensus.reading import project_answers
from apps.tasks.services.consensus.scheduling import aggregation_enqueue
from apps.tasks.services.guidelines import (
    Requeue,
    guideline_acknowledge,
    guideline_draft_create,
    guideline_publish,
    guideline_requeue_count,
)
from hitlcrowd.errors import InvalidInput
from tests import factories

pytestmark = pytest.mark.django_db

VOTES = {"a": ("cat", "cat"), "b": ("dog", "dog"), "c": ("cat", "dog")}


@pytest.fixture
def voted(project, worker, other_worker, sync_q, django_capture_on_commit_callbacks):
    """v1 current; a and b have consensus (cat, dog), c has none (one cat, one dog) and waits
    for a worker who has not answered yet."""
    factories.WorkerFactory(username="idle")
    project.aggregation_method = "majority_vote"
    project.min_overlap, project.max_overlap, project.gold_share = 2, 3, 0
    project.save()
    v1 = factories.GuidelineVersionFactory(project=project, number=1, text="Say what it is.")
    for name in VOTES:
        item = factories.ItemFactory(project=project, external_id=name)
        factories.HITFactory(item=item, answers_wanted=2)
    for position, who in enumerate([worker, other_worker]):
        guideline_acknowledge(worker=who, project=project, number=1)
        answer_all(who, project, lambda item, p=position: VOTES[item.external_id][p])
    aggregation_enqueue(project_id=project.pk)
    project.v1 = v1
    return project


def answer_all(worker, project, label_of) -> int:
    answered = 0
    while (assignment := assignment_claim(worker=worker, project=project)) is not None:
        label = label_of(assignment.hit.item)
        assignment_submit(worker=worker, assignment_id=assignment.pk, label=label, seconds_spent=3)
        answered += 1
    return answered


def publish(project, admin_user, capture, requeue, labels=None):
    draft = guideline_draft_create(
        project=project, text="Birds count as birds.", change_note="birds", author=admin_user
    )
    with capture(execute=True):
        return guideline_publish(guideline=draft, by=admin_user, requeue=requeue, labels=labels)


def states(project) -> dict[str, tuple[str, str]]:
    rows = Item.objects.filter(project=project).values_list("external_id", "state", "final_label")
    return {name: (state, label) for name, state, label in rows}


def requeued_names(project) -> set[str]:
    superseded = Answer.objects.filter(project=project, superseded_by__isnull=False)
    return set(superseded.values_list("item__external_id", flat=True))


def test_the_fixture_starts_with_two_consensus_items_and_one_undecided(voted):
    assert states(voted) == {
        "a": ("consensus", "cat"),
        "b": ("consensus", "dog"),
        "c": ("waiting", "cat"),
    }


def test_keep_changes_no_item_and_no_answer(voted, admin_user, django_capture_on_commit_callbacks):
    result = publish(voted, admin_user, django_capture_on_commit_callbacks, Requeue.KEEP)
    assert result.requeued == 0
    assert requeued_names(voted) == set()
    assert states(voted)["a"] == ("consensus", "cat")


@pytest.mark.parametrize(
    ("requeue", "labels", "expected"),
    [
        (Requeue.ALL, None, {"a", "b", "c"}),
        (Requeue.LABELS, ["cat"], {"a"}),
        (Requeue.UNDECIDED, None, {"c"}),
    ],
)
def test_each_choice_requeues_exactly_its_items(
    voted, admin_user, django_capture_on_commit_callbacks, requeue, labels, expected
):
    preview = guideline_requeue_count(project=voted, requeue=requeue, labels=labels)
    result = publish(voted, admin_user, django_capture_on_commit_callbacks, requeue, labels)

    assert result.requeued == preview == len(expected)
    assert requeued_names(voted) == expected
    for name in expected:
        hit = HIT.objects.get(item__external_id=name)
        assert (hit.state, hit.answers_wanted, hit.slots_taken) == ("open", 2, 0)
        item = Item.objects.get(external_id=name)
        assert (item.state, item.final_label, item.posterior) == ("waiting", "", None)
    for name in {"a", "b"} - expected:
        assert states(voted)[name][0] == "consensus"


def test_requeued_answers_leave_the_consensus_input(
    voted, admin_user, django_capture_on_commit_callbacks
):
    publish(voted, admin_user, django_capture_on_commit_callbacks, Requeue.LABELS, ["cat"])
    answers = project_answers(project=voted)
    a = Item.objects.get(external_id="a")
    assert a.pk not in set(answers.item.tolist())
    assert len(answers.item) == 4  # b and c keep their two answers each
    run = AggregationRun.objects.filter(project=voted).order_by("-id").first()
    assert run.answers == 4  # the re-aggregation after publishing saw only those


def test_the_same_workers_answer_again_and_the_consensus_is_recomputed(
    voted, worker, other_worker, admin_user, django_capture_on_commit_callbacks
):
    result = publish(voted, admin_user, django_capture_on_commit_callbacks, Requeue.ALL)
    number = result.guideline.number
    for who in (worker, other_worker):
        guideline_acknowledge(worker=who, project=voted, number=number)
        with django_capture_on_commit_callbacks(execute=True):
            assert answer_all(who, voted, lambda item: "bird") == 3

    assert states(voted) == dict.fromkeys(VOTES, ("consensus", "bird"))
    current = Answer.objects.filter(project=voted, superseded_by__isnull=True)
    assert set(current.values_list("guideline_version__number", flat=True)) == {2}
    assert Answer.objects.filter(project=voted, superseded_by=result.guideline).count() == 6
    assert Assignment.objects.filter(project=voted, worker=worker).count() == 6


def test_a_live_lease_on_a_requeued_hit_ends_and_its_slot_comes_back(
    voted, admin_user, django_capture_on_commit_callbacks
):
    late = factories.WorkerFactory(username="late")
    guideline_acknowledge(worker=late, project=voted, number=1)
    lease = assignment_claim(worker=late, project=voted)
    assert lease.hit.item.external_id == "c"

    publish(voted, admin_user, django_capture_on_commit_callbacks, Requeue.UNDECIDED)

    lease.refresh_from_db()
    assert lease.state == Assignment.State.EXPIRED
    assert lease.superseded_by is not None
    assert HIT.objects.get(item__external_id="c").slots_taken == 0


def test_publishing_twice_requeues_once(voted, admin_user, django_capture_on_commit_callbacks):
    first = publish(voted, admin_user, django_capture_on_commit_callbacks, Requeue.ALL)
    again = guideline_publish(guideline=first.guideline, by=admin_user, requeue=Requeue.ALL)
    assert again.replayed and again.requeued == 0
    assert again.guideline.number == 2
    assert GuidelineVersion.objects.filter(project=voted, published_at__isnull=False).count() == 2


def test_a_label_choice_without_labels_is_refused_and_publishes_nothing(
    voted, admin_user, django_capture_on_commit_callbacks
):
    draft = guideline_draft_create(project=voted, text="x", author=admin_user)
    with pytest.raises(InvalidInput) as refused:
        guideline_publish(guideline=draft, by=admin_user, requeue=Requeue.LABELS, labels=["cow"])
    assert "labels" in refused.value.errors
    draft.refresh_from_db()
    assert draft.published_at is None and draft.number is None
    assert requeued_names(voted) == set()


def test_the_unique_hit_worker_rule_still_holds_among_current_assignments(voted, worker):
    hit = HIT.objects.get(item__external_id="a")
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.AssignmentFactory(hit=hit, worker=worker)


def test_the_requester_sees_which_answers_a_requeue_took_out(
    voted, admin_user, requester, api_client_for, django_capture_on_commit_callbacks
):
    publish(voted, admin_user, django_capture_on_commit_callbacks, Requeue.LABELS, ["cat"])
    client = api_client_for(requester)
    by_name = {i.external_id: i for i in Item.objects.filter(project=voted)}

    requeued = client.get(f"/api/v1/projects/{voted.pk}/items/{by_name['a'].pk}/").json()
    kept = client.get(f"/api/v1/projects/{voted.pk}/items/{by_name['b'].pk}/").json()

    assert [a["superseded_by"] for a in requeued["answers"]] == [2, 2]
    assert [a["guideline_version"] for a in requeued["answers"]] == [1, 1]
    assert [a["superseded_by"] for a in kept["answers"]] == [None, None]


def test_the_admin_shows_the_requeue_count_and_publishes_only_once_confirmed(
    voted, admin_user, client, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    draft = guideline_draft_create(project=voted, text="Birds count.", author=admin_user)
    url = f"/admin/tasks/guidelineversion/{draft.pk}/publish/"

    step = client.post(url, {"requeue": Requeue.ALL})
    assert step.status_code == 200 and step.context["requeue_count"] == 3
    assert "Publishing will re-queue <strong>3 items</strong>" in step.content.decode()
    draft.refresh_from_db()
    assert not draft.is_published and requeued_names(voted) == set()

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {"requeue": Requeue.ALL, "confirm": "3"}, follow=True)
    assert "Published version 2; 3 item(s) re-queued." in done.content.decode()
    assert requeued_names(voted) == {"a", "b", "c"}


def test_the_count_for_a_label_choice_counts_only_those_labels(voted, admin_user, client):
    client.force_login(admin_user)
    draft = guideline_draft_create(project=voted, text="Birds count.", author=admin_user)
    url = f"/admin/tasks/guidelineversion/{draft.pk}/publish/"
    step = client.post(url, {"requeue": Requeue.LABELS, "labels": ["dog"]})
    assert step.context["requeue_count"] == 1
    assert 'name="labels" value="dog"' in step.content.decode()  # carried to the confirmation
