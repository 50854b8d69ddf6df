import pytest

from apps.tasks.models import HIT, Answer, Assignment
from apps.tasks.services.assignments.claim import assignment_claim
from tests.factories import (
    GuidelineAcknowledgementFactory,
    GuidelineVersionFactory,
    HITFactory,
    WorkerFactory,
)

pytestmark = pytest.mark.django_db


def submit_url(assignment_id: int) -> str:
    return f"/api/v1/work/assignments/{assignment_id}/submit/"


@pytest.fixture
def lease(worker, project):
    project.gold_share = 0
    project.save()
    GuidelineAcknowledgementFactory(
        guideline=GuidelineVersionFactory(project=project, number=4), worker=worker
    )
    HITFactory(item__project=project, answers_wanted=2)
    return assignment_claim(worker=worker, project=project)


def test_an_answer_records_the_label_time_and_guideline_version(api_client_for, worker, lease):
    response = api_client_for(worker).post(
        submit_url(lease.pk), {"label": "dog", "seconds_spent": 4.5}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["label"] == "dog"
    assert body["guideline_number"] == 4
    answer = Answer.objects.get(pk=body["id"])
    assert (answer.worker, answer.item_id, answer.seconds_spent) == (worker, lease.hit.item_id, 4.5)
    assert answer.guideline_version.number == 4
    lease.refresh_from_db()
    assert lease.state == Assignment.State.SUBMITTED


def test_the_same_submission_twice_is_accepted_once(api_client_for, worker, lease):
    client = api_client_for(worker)
    first = client.post(submit_url(lease.pk), {"label": "dog", "seconds_spent": 4})
    second = client.post(submit_url(lease.pk), {"label": "dog", "seconds_spent": 4})
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()
    assert Answer.objects.count() == 1


def test_a_different_label_on_an_answered_task_is_a_409(api_client_for, worker, lease):
    client = api_client_for(worker)
    client.post(submit_url(lease.pk), {"label": "dog", "seconds_spent": 4})
    response = client.post(submit_url(lease.pk), {"label": "cat", "seconds_spent": 4})
    assert response.status_code == 409
    assert response.json()["code"] == "answer_conflict"
    assert Answer.objects.get().label == "dog"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"label": "horse", "seconds_spent": 3}, "label"),
        ({"label": "", "seconds_spent": 3}, "label"),
        ({"seconds_spent": 3}, "label"),
        ({"label": "cat", "seconds_spent": -1}, "seconds_spent"),
        ({"label": "cat", "seconds_spent": "soon"}, "seconds_spent"),
        ({"label": "cat"}, "seconds_spent"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api_client_for, worker, lease, body, field):
    response = api_client_for(worker).post(submit_url(lease.pk), body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Answer.objects.exists()


def test_after_the_lease_expired_it_is_a_410(api_client_for, worker, lease):
    Assignment.objects.filter(pk=lease.pk).update(lease_expires_at=lease.leased_at)
    response = api_client_for(worker).post(
        submit_url(lease.pk), {"label": "dog", "seconds_spent": 1}
    )
    assert response.status_code == 410
    body = response.json()
    assert body["code"] == "lease_expired"
    assert "expired" in body["detail"]
    assert not Answer.objects.exists()


def test_someone_elses_assignment_is_a_404(api_client_for, other_worker, lease):
    response = api_client_for(other_worker).post(
        submit_url(lease.pk), {"label": "dog", "seconds_spent": 1}
    )
    assert response.status_code == 404
    assert not Answer.objects.exists()


def test_a_hit_is_done_when_it_has_its_wanted_answers(api_client_for, worker, project, lease):
    api_client_for(worker).post(submit_url(lease.pk), {"label": "dog", "seconds_spent": 1})
    assert HIT.objects.get().state == HIT.State.OPEN
    second_worker = WorkerFactory()
    GuidelineAcknowledgementFactory(guideline=lease.guideline_version, worker=second_worker)
    second = assignment_claim(worker=second_worker, project=project)
    api_client_for(second_worker).post(submit_url(second.pk), {"label": "cat", "seconds_spent": 1})
    assert HIT.objects.get().state == HIT.State.DONE


def test_the_answer_hook_runs_once_after_commit(
    api_client_for, worker, lease, monkeypatch, django_capture_on_commit_callbacks
):
    calls = []
    monkeypatch.setattr(
        "apps.tasks.services.assignments.submit.answer_committed",
        lambda **kwargs: calls.append(kwargs),
    )
    client = api_client_for(worker)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(submit_url(lease.pk), {"label": "dog", "seconds_spent": 1})
        client.post(submit_url(lease.pk), {"label": "dog", "seconds_spent": 1})
    assert calls == [{"project_id": lease.project_id, "item_id": lease.hit.item_id}]
