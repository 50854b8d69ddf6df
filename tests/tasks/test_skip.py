import pytest

from apps.tasks.models import HIT, Assignment
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.submit import assignment_submit
from tests.factories import HITFactory

pytestmark = pytest.mark.django_db


def skip_url(assignment_id: int) -> str:
    return f"/api/v1/work/assignments/{assignment_id}/skip/"


@pytest.fixture
def real_project(project):
    project.gold_share = 0
    project.save()
    return project


def test_skipping_gives_the_slot_back_and_the_hit_is_not_offered_again(
    api_client_for, worker, other_worker, real_project
):
    hit = HITFactory(item__project=real_project, answers_wanted=1)
    lease = assignment_claim(worker=worker, project=real_project)
    response = api_client_for(worker).post(skip_url(lease.pk), {"reason": "unreadable"})

    assert response.status_code == 200, response.content
    assert response.json()["state"] == "skipped"
    lease.refresh_from_db()
    assert (lease.state, lease.skip_reason) == (Assignment.State.SKIPPED, "unreadable")
    hit.refresh_from_db()
    assert hit.slots_taken == 0
    assert assignment_claim(worker=worker, project=real_project) is None
    assert assignment_claim(worker=other_worker, project=real_project).hit_id == hit.pk


def test_skipping_twice_is_harmless(api_client_for, worker, real_project):
    HITFactory(item__project=real_project)
    lease = assignment_claim(worker=worker, project=real_project)
    client = api_client_for(worker)
    assert client.post(skip_url(lease.pk), {}).status_code == 200
    assert client.post(skip_url(lease.pk), {}).status_code == 200
    assert HIT.objects.get().slots_taken == 0


def test_an_answered_task_cannot_be_skipped(api_client_for, worker, real_project):
    HITFactory(item__project=real_project)
    lease = assignment_claim(worker=worker, project=real_project)
    assignment_submit(worker=worker, assignment_id=lease.pk, label="cat", seconds_spent=1)
    response = api_client_for(worker).post(skip_url(lease.pk), {})
    assert response.status_code == 409
    assert HIT.objects.get().slots_taken == 1


def test_a_too_long_reason_is_a_400_naming_reason(api_client_for, worker, real_project):
    HITFactory(item__project=real_project)
    lease = assignment_claim(worker=worker, project=real_project)
    response = api_client_for(worker).post(skip_url(lease.pk), {"reason": "x" * 501})
    assert response.status_code == 400
    assert "reason" in response.json()["errors"]
    lease.refresh_from_db()
    assert lease.state == Assignment.State.LEASED


def test_a_skipped_task_cannot_be_answered(api_client_for, worker, real_project):
    HITFactory(item__project=real_project)
    lease = assignment_claim(worker=worker, project=real_project)
    client = api_client_for(worker)
    client.post(skip_url(lease.pk), {})
    response = client.post(
        f"/api/v1/work/assignments/{lease.pk}/submit/", {"label": "cat", "seconds_spent": 1}
    )
    assert response.status_code == 409
