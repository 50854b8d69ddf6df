"""Every worker endpoint for the owner, another worker, a requester, an admin and anonymous."""

from decimal import Decimal

import pytest

from apps.tasks.models import Answer, Assignment
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.submit import assignment_submit
from tests.factories import HITFactory, ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lease(worker, project):
    project.gold_share = 0
    project.save()
    HITFactory.create_batch(2, item__project=project)
    return assignment_claim(worker=worker, project=project)


def _endpoints(assignment_id: int) -> list[tuple[str, str, dict]]:
    base = f"/api/v1/work/assignments/{assignment_id}"
    return [
        ("get", "/api/v1/work/projects/", {}),
        ("post", "/api/v1/work/next/", {}),
        ("get", f"{base}/", {}),
        ("post", f"{base}/submit/", {"label": "cat", "seconds_spent": 1}),
        ("post", f"{base}/skip/", {"reason": "no"}),
        ("get", "/api/v1/work/history/", {}),
        ("get", "/api/v1/work/earnings/", {}),
    ]


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("requester", 403), ("admin_user", 403)])
def test_non_workers_are_refused_everywhere(api_client_for, request, lease, who, status):
    client = api_client_for(request.getfixturevalue(who) if who else None)
    for method, url, body in _endpoints(lease.pk):
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == status, (method, url)
        assert set(response.json()) == {"code", "detail", "errors"}
    lease.refresh_from_db()
    assert lease.state == Assignment.State.LEASED


def test_another_worker_gets_404_on_my_assignment(api_client_for, lease, other_worker):
    client = api_client_for(other_worker)
    for method, url, body in _endpoints(lease.pk)[2:5]:
        assert getattr(client, method)(url, body, format="json").status_code == 404, url
    lease.refresh_from_db()
    assert lease.state == Assignment.State.LEASED


def test_the_owner_reaches_every_endpoint(api_client_for, lease, worker):
    client = api_client_for(worker)
    for method, url, body in _endpoints(lease.pk)[:5]:
        response = getattr(client, method)(url, body, format="json")
        expected = 409 if url.endswith("skip/") else (201 if url.endswith("submit/") else 200)
        assert response.status_code == expected, (url, response.content)


def test_history_and_earnings_hold_only_my_answers(
    api_client_for, lease, worker, other_worker, project
):
    project.reward_per_answer = Decimal("0.25")
    project.save()
    assignment_submit(worker=worker, assignment_id=lease.pk, label="dog", seconds_spent=3)
    theirs = assignment_claim(worker=other_worker, project=project)
    assignment_submit(worker=other_worker, assignment_id=theirs.pk, label="cat", seconds_spent=3)
    other_project = ProjectFactory(gold_share=0, reward_per_answer=Decimal("1"))
    HITFactory(item__project=other_project)
    elsewhere = assignment_claim(worker=other_worker, project=other_project)
    assignment_submit(worker=other_worker, assignment_id=elsewhere.pk, label="cat", seconds_spent=1)
    client = api_client_for(worker)

    history = client.get("/api/v1/work/history/").json()
    earnings = client.get("/api/v1/work/earnings/").json()

    assert [a["id"] for a in history["results"]] == [Answer.objects.get(worker=worker).pk]
    assert history["count"] == 1
    assert earnings["answers"] == 1
    assert Decimal(earnings["total"]) == Decimal("0.25")
    assert [row["project"]["id"] for row in earnings["projects"]] == [project.id]


def test_history_takes_a_fixed_number_of_queries(
    api_client_for, worker, project, django_assert_max_num_queries
):
    project.gold_share = 0
    project.save()
    HITFactory.create_batch(5, item__project=project)
    for _ in range(5):
        lease = assignment_claim(worker=worker, project=project)
        assignment_submit(worker=worker, assignment_id=lease.pk, label="cat", seconds_spent=1)
    client = api_client_for(worker)
    with django_assert_max_num_queries(6):
        assert client.get("/api/v1/work/history/").json()["count"] == 5
