import pytest

from apps.tasks.models import HIT, Assignment
from apps.tasks.selectors.assignments import item_ref
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.submit import assignment_submit
from tests.factories import (
    GuidelineAcknowledgementFactory,
    GuidelineVersionFactory,
    HITFactory,
    ProjectFactory,
    WorkerFactory,
)

pytestmark = pytest.mark.django_db

NEXT = "/api/v1/work/next/"


@pytest.fixture
def real_project(project):
    project.gold_share = 0
    project.save()
    return project


def test_a_worker_gets_the_payload_labels_guideline_and_lease(api_client_for, worker, real_project):
    GuidelineVersionFactory(project=real_project, number=1, text="old")
    current = GuidelineVersionFactory(project=real_project, number=2, text="current")
    GuidelineAcknowledgementFactory(guideline=current, worker=worker)
    GuidelineVersionFactory(project=real_project, number=3, text="draft", published_at=None)
    hit = HITFactory(item__project=real_project, item__payload={"text": "a cat"})

    response = api_client_for(worker).post(NEXT, {"project": real_project.id})

    assert response.status_code == 200, response.content
    body = response.json()
    ref = item_ref(worker_id=worker.pk, item_id=hit.item_id)
    assert body["item"] == {"ref": ref, "payload": {"text": "a cat"}}
    assert body["labels"] == ["cat", "dog", "bird"]
    assert body["guideline"] == {"number": 2, "text": "current"}
    assert body["project"] == {"id": real_project.id, "name": "Animals"}
    assignment = Assignment.objects.get(pk=body["assignment_id"])
    assert assignment.guideline_version.number == 2
    lease = (assignment.lease_expires_at - assignment.leased_at).total_seconds()
    assert lease == pytest.approx(real_project.lease_seconds, abs=1)


def test_asking_again_returns_the_same_lease(api_client_for, worker, real_project):
    HITFactory.create_batch(3, item__project=real_project)
    client = api_client_for(worker)
    first = client.post(NEXT, {"project": real_project.id}).json()
    second = client.post(NEXT, {"project": real_project.id}).json()
    assert first["assignment_id"] == second["assignment_id"]
    assert Assignment.objects.filter(worker=worker).count() == 1


def test_a_worker_never_gets_the_same_hit_twice(worker, real_project):
    HITFactory(item__project=real_project, answers_wanted=3)
    first = assignment_claim(worker=worker, project=real_project)
    assignment_submit(worker=worker, assignment_id=first.pk, label="cat", seconds_spent=2)
    assert assignment_claim(worker=worker, project=real_project) is None


def test_a_hit_never_gets_more_leases_than_answers_wanted(real_project):
    hit = HITFactory(item__project=real_project, answers_wanted=2)
    workers = WorkerFactory.create_batch(3)
    taken = [assignment_claim(worker=w, project=real_project) for w in workers]
    assert [a is not None for a in taken] == [True, True, False]
    hit.refresh_from_db()
    assert hit.slots_taken == 2


def test_it_answers_204_when_there_is_nothing_to_do(api_client_for, worker, real_project):
    response = api_client_for(worker).post(NEXT, {"project": real_project.id})
    assert response.status_code == 204
    assert response.content == b""


def test_higher_priority_comes_first_then_the_hit_closest_to_completion(real_project):
    low = HITFactory(item__project=real_project, priority=0, answers_wanted=3)
    nearly_done = HITFactory(item__project=real_project, priority=0, answers_wanted=3)
    urgent = HITFactory(item__project=real_project, priority=5, answers_wanted=3)
    HIT.objects.filter(pk=nearly_done.pk).update(slots_taken=2)
    order = [
        assignment_claim(worker=WorkerFactory(), project=real_project).hit_id for _ in range(3)
    ]
    assert order == [urgent.pk, urgent.pk, urgent.pk]
    assert assignment_claim(worker=WorkerFactory(), project=real_project).hit_id == nearly_done.pk
    assert assignment_claim(worker=WorkerFactory(), project=real_project).hit_id == low.pk


def test_without_a_project_it_finds_work_in_any_open_project(api_client_for, worker, requester):
    ProjectFactory(owner=requester, gold_share=0)
    busy = ProjectFactory(owner=requester, gold_share=0)
    hit = HITFactory(item__project=busy)
    ProjectFactory(owner=requester, gold_share=0, is_open=False)
    HITFactory(item__project__is_open=False, item__project__gold_share=0)

    response = api_client_for(worker).post(NEXT, {}, format="json")

    assert response.status_code == 200
    assert response.json()["item"]["ref"] == item_ref(worker_id=worker.pk, item_id=hit.item_id)


@pytest.mark.parametrize("value", ["abc", 0, -3])
def test_a_bad_project_field_is_a_400_naming_project(api_client_for, worker, value):
    response = api_client_for(worker).post(NEXT, {"project": value}, format="json")
    assert response.status_code == 400
    assert "project" in response.json()["errors"]


def test_a_closed_or_unknown_project_is_a_400_naming_project(api_client_for, worker, requester):
    closed = ProjectFactory(owner=requester, is_open=False)
    HITFactory(item__project=closed)
    client = api_client_for(worker)
    for project_id in (closed.id, closed.id + 1000):
        response = client.post(NEXT, {"project": project_id}, format="json")
        assert response.status_code == 400
        assert "project" in response.json()["errors"]


def test_next_task_takes_a_bounded_number_of_queries(
    api_client_for, worker, real_project, django_assert_max_num_queries
):
    GuidelineAcknowledgementFactory(guideline__project=real_project, worker=worker)
    HITFactory.create_batch(20, item__project=real_project)
    client = api_client_for(worker)
    with django_assert_max_num_queries(14):
        assert client.post(NEXT, {"project": real_project.id}).status_code == 200
