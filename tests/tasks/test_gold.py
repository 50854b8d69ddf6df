import json
import random

import pytest

from apps.tasks.models import HIT, Item
from apps.tasks.selectors.assignments import item_ref
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.gold import item_mark_gold
from apps.tasks.services.assignments.submit import assignment_submit
from apps.workers.models import WorkerStats
from tests.factories import HITFactory, ItemFactory, WorkerFactory

pytestmark = pytest.mark.django_db

GOLD_LABEL = "zebra-secret"


def gold_url(project_id: int, item_id: int) -> str:
    return f"/api/v1/projects/{project_id}/items/{item_id}/gold"


@pytest.fixture
def gold_project(project):
    project.labels = ["cat", "dog", GOLD_LABEL]
    project.gold_share = 1.0
    project.save()
    return project


def test_the_owner_marks_an_item_gold_and_it_gets_a_gold_hit(api_client_for, requester, project):
    item = ItemFactory(project=project)
    response = api_client_for(requester).post(gold_url(project.id, item.id), {"label": "dog"})
    assert response.status_code == 200, response.content
    assert response.json()["gold_label"] == "dog"
    item.refresh_from_db()
    assert (item.is_gold, item.gold_label) == (True, "dog")
    assert HIT.objects.get(item=item).is_gold


def test_marking_gold_turns_an_existing_hit_gold(requester, project):
    hit = HITFactory(item__project=project)
    item_mark_gold(project=project, item_id=hit.item_id, label="cat")
    hit.refresh_from_db()
    assert hit.is_gold and hit.state == HIT.State.OPEN


def test_marking_gold_with_an_unknown_label_is_a_400_naming_label(
    api_client_for, requester, project
):
    item = ItemFactory(project=project)
    response = api_client_for(requester).post(gold_url(project.id, item.id), {"label": "cow"})
    assert response.status_code == 400
    assert "label" in response.json()["errors"]
    assert not Item.objects.get(pk=item.pk).is_gold


@pytest.mark.parametrize("who", ["other_requester", "worker", None])
def test_only_the_owner_may_mark_gold(api_client_for, request, project, who):
    item = ItemFactory(project=project)
    user = request.getfixturevalue(who) if who else None
    response = api_client_for(user).post(gold_url(project.id, item.id), {"label": "dog"})
    assert response.status_code == {"other_requester": 404, "worker": 403, None: 401}[who]
    assert not Item.objects.get(pk=item.pk).is_gold


def test_an_item_of_another_project_is_a_404(api_client_for, requester, project):
    elsewhere = ItemFactory()
    response = api_client_for(requester).post(gold_url(project.id, elsewhere.id), {"label": "dog"})
    assert response.status_code == 404


def test_a_gold_hit_is_never_complete(gold_project):
    hit = HITFactory(
        item__project=gold_project, item__is_gold=True, item__gold_label="dog", answers_wanted=1
    )
    HITFactory(item__project=gold_project, answers_wanted=5)  # gold comes only with real work
    for worker in WorkerFactory.create_batch(4):
        lease = assignment_claim(worker=worker, project=gold_project)
        assert lease.hit_id == hit.pk
        assignment_submit(worker=worker, assignment_id=lease.pk, label="cat", seconds_spent=1)
    hit.refresh_from_db()
    assert (hit.state, hit.slots_taken) == (HIT.State.OPEN, 0)


def test_gold_share_zero_never_serves_gold(project, worker):
    project.gold_share = 0
    project.save()
    HITFactory(item__project=project, item__is_gold=True, item__gold_label="dog")
    assert assignment_claim(worker=worker, project=project) is None


def test_gold_share_serves_gold_first_then_falls_back_to_real_work(gold_project, worker):
    gold = HITFactory(item__project=gold_project, item__is_gold=True, item__gold_label="dog")
    real = HITFactory(item__project=gold_project)
    first = assignment_claim(worker=worker, project=gold_project)
    assignment_submit(worker=worker, assignment_id=first.pk, label="cat", seconds_spent=1)
    second = assignment_claim(worker=worker, project=gold_project)
    assert (first.hit_id, second.hit_id) == (gold.pk, real.pk)


def test_no_worker_facing_response_ever_shows_a_gold_label(api_client_for, worker, gold_project):
    gold_project.qualification_size = 1
    gold_project.qualification_pass_rate = 0.0
    gold_project.gold_share = 0.0  # after the one-task test, real work
    gold_project.save()
    HITFactory(item__project=gold_project, item__is_gold=True, item__gold_label=GOLD_LABEL)
    HITFactory(item__project=gold_project, item__is_gold=True, item__gold_label=GOLD_LABEL)
    real = HITFactory(item__project=gold_project, item__payload={"text": "plain"})
    client = api_client_for(worker)
    responses = [client.get("/api/v1/work/projects/")]

    for _ in range(2):
        task = client.post("/api/v1/work/next/", {"project": gold_project.id})
        responses.append(task)
        assignment_id = task.json()["assignment_id"]
        responses.append(client.get(f"/api/v1/work/assignments/{assignment_id}/"))
        responses.append(
            client.post(
                f"/api/v1/work/assignments/{assignment_id}/submit/",
                {"label": "cat", "seconds_spent": 2},
            )
        )
    real_task = responses[-3].json()
    gold_task = responses[1].json()
    assert real_task["item"]["ref"] == item_ref(worker_id=worker.pk, item_id=real.item_id)
    assert sorted(real_task) == sorted(gold_task), "gold and real tasks have the same shape"
    responses += [
        client.get("/api/v1/work/projects/"),
        client.get("/api/v1/work/history/"),
        client.get("/api/v1/work/earnings/"),
        client.post("/api/v1/work/next/", {"project": gold_project.id}),
    ]

    # projects; next, task, submit for the test's gold task, then for the real one; projects,
    # history, earnings; next with nothing left.
    served, after = [200, 200, 201], [200, 200, 200, 204]
    assert [r.status_code for r in responses] == [200, *served, *served, *after]
    for response in responses:
        # The label set (which holds every label, gold ones too) is the only place it may be.
        text = json.dumps(_without_label_sets(response.json() if response.content else None))
        assert GOLD_LABEL not in text
        assert "gold" not in text.lower()
        assert "correct" not in text.lower()


def _without_label_sets(value):
    if isinstance(value, dict):
        return {k: _without_label_sets(v) for k, v in value.items() if k != "labels"}
    if isinstance(value, list):
        return [_without_label_sets(v) for v in value]
    return value


def _answer(worker, project, label: str = "cat"):
    lease = assignment_claim(worker=worker, project=project)
    if lease is not None:
        assignment_submit(worker=worker, assignment_id=lease.pk, label=label, seconds_spent=1)
    return lease


def test_once_real_work_runs_out_a_worker_gets_204_although_unanswered_gold_remains(
    api_client_for, worker, other_worker, gold_project
):
    golds = [
        HITFactory(item__project=gold_project, item__is_gold=True, item__gold_label="dog")
        for _ in range(3)
    ]
    real = HITFactory(item__project=gold_project, answers_wanted=1)
    assert _answer(worker, gold_project).hit_id == golds[0].pk  # gold_share 1: gold first
    gold_project.gold_share = 0
    gold_project.save()
    assert _answer(other_worker, gold_project).hit_id == real.pk  # the last real work
    gold_project.gold_share = 1
    gold_project.save()

    response = api_client_for(worker).post("/api/v1/work/next/", {"project": gold_project.id})

    assert response.status_code == 204
    assert HIT.objects.filter(pk__in=[g.pk for g in golds[1:]], state=HIT.State.OPEN).count() == 2


def test_real_work_only_others_may_take_brings_no_gold(worker, other_worker, gold_project):
    HITFactory(item__project=gold_project, item__is_gold=True, item__gold_label="dog")
    real = HITFactory(item__project=gold_project, answers_wanted=2)
    gold_project.gold_share = 0
    gold_project.save()
    assert _answer(worker, gold_project).hit_id == real.pk
    gold_project.gold_share = 1
    gold_project.save()

    # The real HIT's free slot is the other worker's to take, so gold is too.
    assert assignment_claim(worker=worker, project=gold_project) is None
    assert assignment_claim(worker=other_worker, project=gold_project).hit.is_gold


def test_while_real_work_remains_about_gold_share_of_a_workers_answers_are_gold(
    worker, gold_project
):
    random.seed(7)
    gold_project.gold_share = 0.3
    gold_project.save()
    for _ in range(100):
        HITFactory(item__project=gold_project, item__is_gold=True, item__gold_label="dog")
    HITFactory.create_batch(100, item__project=gold_project)

    leases = [_answer(worker, gold_project) for _ in range(100)]

    gold = sum(lease.hit.is_gold for lease in leases)
    # Binomial(100, 0.3): standard deviation 4.6; 18..42 is beyond 2.5 of them.
    assert 18 <= gold <= 42, gold


def test_the_qualification_test_serves_gold_alone_even_without_real_work(worker, gold_project):
    gold_project.qualification_size = 2
    gold_project.qualification_pass_rate = 0.5
    gold_project.save()
    HITFactory(item__project=gold_project, item__is_gold=True, item__gold_label="dog")
    HITFactory(item__project=gold_project, item__is_gold=True, item__gold_label="cat")

    test = [_answer(worker, gold_project, "dog") for _ in range(2)]

    assert all(lease.hit.is_gold for lease in test)
    assert assignment_claim(worker=worker, project=gold_project) is None  # passed, no real work


def _gold_answers_in(worker, project, claims: int) -> int:
    return sum(_answer(worker, project).hit.is_gold for _ in range(claims))


@pytest.fixture
def mixed_project(gold_project):
    """gold_share 0.4, a gold bar of 0.6, plenty of real work and gold."""
    gold_project.gold_share = 0.4
    gold_project.block_gold_accuracy = 0.6
    gold_project.save()
    for _ in range(100):
        HITFactory(item__project=gold_project, item__is_gold=True, item__gold_label="dog")
    HITFactory.create_batch(100, item__project=gold_project)
    return gold_project


def test_a_worker_whose_gold_clears_the_bar_sees_gold_at_the_lower_rate(
    worker, other_worker, mixed_project
):
    random.seed(11)
    WorkerStats.objects.create(
        worker=worker, project=mixed_project, answers=100, gold_answers=20, gold_correct=20
    )
    WorkerStats.objects.create(
        worker=other_worker, project=mixed_project, answers=100, gold_answers=20, gold_correct=12
    )

    trusted = _gold_answers_in(worker, mixed_project, 80)
    unsure = _gold_answers_in(other_worker, mixed_project, 80)

    # Binomial(80, 0.4 x 0.25 = 0.1): mean 8, sd 2.7; Binomial(80, 0.4): mean 32, sd 4.4.
    assert trusted <= 16, trusted
    assert 20 <= unsure <= 44, unsure


def test_the_claim_reads_the_workers_gold_counts_only_for_draws_between_the_two_shares(
    worker, mixed_project, monkeypatch
):
    from apps.tasks.services.assignments import gold as plan

    reads = []
    monkeypatch.setattr(plan, "worker_gold_counts", lambda **kw: reads.append(kw) or (20, 20))
    for draw, (gold, read) in {
        0.05: (True, False),
        0.2: (False, True),
        0.5: (False, False),
    }.items():
        reads.clear()
        monkeypatch.setattr(plan.random, "random", lambda draw=draw: draw)
        assert plan._gold_first(worker, mixed_project) is gold
        assert bool(reads) is read
