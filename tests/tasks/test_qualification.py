import pytest
from django.test import Client

from apps.tasks.errors import QualificationUnavailable
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.submit import assignment_submit
from apps.workers.models import Qualification
from tests.factories import HITFactory

pytestmark = pytest.mark.django_db

NEXT = "/api/v1/work/next/"


@pytest.fixture
def tested_project(project):
    project.qualification_size = 2
    project.qualification_pass_rate = 0.5
    project.gold_share = 0
    project.save()
    for label in ("cat", "dog", "bird"):
        HITFactory(item__project=project, item__is_gold=True, item__gold_label=label)
    HITFactory(item__project=project, item__payload={"text": "real"})
    return project


def _answer_test(worker, project, labels_by_gold):
    for _ in range(project.qualification_size):
        lease = assignment_claim(worker=worker, project=project)
        assert lease.hit.is_gold, "only test tasks until the test is done"
        label = labels_by_gold(lease.hit.item.gold_label)
        assignment_submit(worker=worker, assignment_id=lease.pk, label=label, seconds_spent=1)


def test_a_new_worker_gets_test_tasks_first_and_passing_unlocks_real_work(
    api_client_for, worker, tested_project
):
    _answer_test(worker, tested_project, lambda gold: gold)
    qualification = Qualification.objects.get(worker=worker, project=tested_project)
    assert (qualification.state, qualification.correct) == ("passed", 2)
    response = api_client_for(worker).post(NEXT, {"project": tested_project.id})
    assert response.status_code == 200
    assert response.json()["item"]["payload"] == {"text": "real"}


def test_scoring_below_the_pass_rate_gets_a_403_with_the_rule_but_not_the_score(
    api_client_for, worker, tested_project
):
    _answer_test(worker, tested_project, lambda gold: "cat" if gold != "cat" else "dog")
    response = api_client_for(worker).post(NEXT, {"project": tested_project.id})
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "not_qualified"
    assert "did not pass" in body["detail"] and "50%" in body["detail"]
    assert "0 of" not in body["detail"]  # a score from several accounts would give the labels


def test_the_project_list_shows_my_qualification_state(api_client_for, worker, tested_project):
    client = api_client_for(worker)
    states = [client.get("/api/v1/work/projects/").json()["results"][0]["qualification"]]
    client.post(NEXT, {"project": tested_project.id})
    states.append(client.get("/api/v1/work/projects/").json()["results"][0]["qualification"])
    assert [s["state"] for s in states] == ["not_started", "testing"]
    assert states[0] == {"state": "not_started", "size": 2, "pass_rate": 0.5}


def test_a_project_without_a_test_says_none(api_client_for, worker, project):
    body = api_client_for(worker).get("/api/v1/work/projects/").json()
    assert body["results"][0]["qualification"]["state"] == "none"


def test_without_a_project_a_failed_project_is_passed_over(worker, tested_project, requester):
    from tests.factories import ProjectFactory

    _answer_test(worker, tested_project, lambda gold: "cat" if gold != "cat" else "dog")
    other = ProjectFactory(owner=requester, gold_share=0)
    hit = HITFactory(item__project=other)
    assert assignment_claim(worker=worker).hit_id == hit.pk


def test_a_test_with_too_few_gold_items_says_so_instead_of_an_empty_204(
    api_client_for, worker, tested_project
):
    tested_project.qualification_size = 5  # three gold items exist
    tested_project.save()
    client = api_client_for(worker)
    for _ in range(3):
        task = client.post(NEXT, {"project": tested_project.id}).json()
        url = f"/api/v1/work/assignments/{task['assignment_id']}/submit/"
        assert client.post(url, {"label": "cat", "seconds_spent": 1}).status_code == 201
    response = client.post(NEXT, {"project": tested_project.id})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "qualification_unavailable"
    assert "needs 5 test tasks" in body["detail"] and "answered 3" in body["detail"]
    assert Qualification.objects.get(worker=worker, project=tested_project).state == "testing"
    browser = Client()
    browser.force_login(worker)
    page = browser.get(f"/work/projects/{tested_project.id}/task/")
    assert page.status_code == 409
    assert "needs 5 test tasks" in page.content.decode()


def test_without_a_project_a_stuck_test_is_passed_over(worker, tested_project, requester):
    from tests.factories import ProjectFactory

    tested_project.qualification_size = 5
    tested_project.save()
    _answer_test_all_gold(worker, tested_project)
    other = ProjectFactory(owner=requester, gold_share=0)
    hit = HITFactory(item__project=other)
    assert assignment_claim(worker=worker).hit_id == hit.pk


def _answer_test_all_gold(worker, project):
    with pytest.raises(QualificationUnavailable):
        while lease := assignment_claim(worker=worker, project=project):
            assignment_submit(worker=worker, assignment_id=lease.pk, label="cat", seconds_spent=1)
