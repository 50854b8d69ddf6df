"""An MTurk project on the worker's pages: listed like any project; its task page previews a
HIT (assignmentId ASSIGNMENT_ID_NOT_AVAILABLE, no WorkerId), Accept takes our lease for the
HIT type's duration and frames the question with the assignment's ids as MTurk did; Return
gives the slot back; MaxAssignments distinct workers; an expired HIT is not previewed."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from apps.mturk.assignment_ids import assignment_id_of
from apps.mturk.workers import worker_id_of
from apps.tasks.models import Assignment
from apps.workers.services import worker_block_for_requester
from tests import factories
from tests.helpers.web import client_for

SITE = "https://labels.example.org"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE + "/"


@pytest.fixture
def hit(db):
    return factories.MturkHITFactory(task_hit__answers_wanted=2)


@pytest.fixture
def project(hit):
    return hit.hit_type.project


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def frame_src(response) -> str:
    found = re.search(r'<iframe id="question"[^>]* src="([^"]+)"', response.content.decode())
    assert found, response.content.decode()
    return unescape(found.group(1))


def query(src: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(src).query).items()}


def test_the_project_is_in_the_workers_list(worker, project):
    assert project.name in signed_in(worker).get("/work/").content.decode()


def test_the_task_page_previews_a_hit_without_taking_it(worker, project, hit):
    response = signed_in(worker).get(f"/work/projects/{project.pk}/task/")

    assert response.status_code == 200 and b"Accept" in response.content
    src = frame_src(response)
    assert src.startswith("https://tasks.example.org/q?")
    assert query(src) == {"assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE", "hitId": hit.hit_id}
    assert not Assignment.objects.exists()
    policy = response["Content-Security-Policy"]
    assert "frame-src 'self' https://tasks.example.org" in policy


def test_accept_leases_the_hit_and_frames_it_with_the_assignments_ids(worker, project, hit):
    client = signed_in(worker)
    accepted = client.post(f"/work/projects/{project.pk}/accept/")
    assert accepted.status_code == 302

    lease = Assignment.objects.get()
    assert (lease.worker, lease.hit_id, lease.state) == (worker, hit.task_hit_id, "leased")
    duration = (lease.lease_expires_at - lease.leased_at).total_seconds()
    assert duration == pytest.approx(hit.hit_type.assignment_duration_seconds, abs=1)
    src = frame_src(client.get(f"/work/projects/{project.pk}/task/"))
    assert query(src) == {
        "assignmentId": assignment_id_of(lease.pk),
        "hitId": hit.hit_id,
        "turkSubmitTo": SITE,
        "workerId": worker_id_of(worker),
    }


def test_the_requesters_query_is_kept_and_ours_appended(worker, project, hit):
    hit.question = hit.question.replace("/q<", "/q?picture=7&amp;set=2<")
    hit.save()
    src = frame_src(signed_in(worker).get(f"/work/projects/{project.pk}/task/"))
    assert src.startswith("https://tasks.example.org/q?picture=7&set=2&assignmentId=")


def test_return_gives_the_slot_back_to_another_worker(worker, other_worker, db):
    hit = factories.MturkHITFactory()  # MaxAssignments 1
    project = hit.hit_type.project
    client = signed_in(worker)
    client.post(f"/work/projects/{project.pk}/accept/")
    lease = Assignment.objects.get()
    other = signed_in(other_worker)
    assert b"Nothing to do" in other.get(f"/work/projects/{project.pk}/task/").content

    client.post(f"/work/assignments/{lease.pk}/skip/")
    assert query(frame_src(other.get(f"/work/projects/{project.pk}/task/")))["hitId"] == hit.hit_id
    other.post(f"/work/projects/{project.pk}/accept/")
    assert Assignment.objects.filter(worker=other_worker, state="leased").count() == 1


def test_max_assignments_distinct_workers(worker, other_worker, project, hit):
    third = factories.WorkerFactory()
    for who in (worker, other_worker):
        client = signed_in(who)
        client.post(f"/work/projects/{project.pk}/accept/")
        lease = Assignment.objects.get(worker=who)
        Client().post(
            "/mturk/externalSubmit", {"assignmentId": assignment_id_of(lease.pk), "a": "1"}
        )
        # The worker's own HIT is not offered again.
        assert b"Nothing to do" in client.get(f"/work/projects/{project.pk}/task/").content
    third_client = signed_in(third)
    assert b"Nothing to do" in third_client.get(f"/work/projects/{project.pk}/task/").content
    third_client.post(f"/work/projects/{project.pk}/accept/")
    assert not Assignment.objects.filter(worker=third).exists()


def test_an_expired_hit_is_not_previewed(worker, project, hit):
    hit.task_hit.expires_at = timezone.now() - timedelta(seconds=1)
    hit.task_hit.save()
    response = signed_in(worker).get(f"/work/projects/{project.pk}/task/")
    assert b"Nothing to do" in response.content


def test_a_worker_who_may_not_see_the_project_gets_a_404(other_requester, project):
    assert signed_in(other_requester).get(f"/work/projects/{project.pk}/task/").status_code == 403
    project.visibility = "private"
    project.save()
    stranger = factories.WorkerFactory()
    assert signed_in(stranger).get(f"/work/projects/{project.pk}/task/").status_code == 404
    assert signed_in(stranger).post(f"/work/projects/{project.pk}/accept/").status_code == 404


def test_the_work_api_lists_the_project_and_hands_out_its_question(
    worker, project, hit, api_client_for
):
    api = api_client_for(worker)
    listed = api.get("/api/v1/work/projects/").json()["results"]
    assert project.pk in [p["id"] for p in listed]

    task = api.post("/api/v1/work/next/", {"project": project.pk}, format="json").json()
    lease = Assignment.objects.get()
    assert task["assignment_id"] == lease.pk
    assert task["question"]["kind"] == "external" and task["question"]["frame_height"] == 600
    assert query(task["question"]["url"]) == {
        "assignmentId": assignment_id_of(lease.pk),
        "hitId": hit.hit_id,
        "turkSubmitTo": SITE,
        "workerId": worker_id_of(worker),
    }
    again = api.get(f"/api/v1/work/assignments/{lease.pk}/").json()
    assert again["question"] == task["question"]


def test_a_native_task_has_no_question(worker, api_client_for):
    native = factories.HITFactory()
    api = api_client_for(worker)
    task = api.post("/api/v1/work/next/", {"project": native.project_id}, format="json").json()
    assert "question" not in task


def test_a_worker_blocked_by_the_requester_sees_no_preview(worker, project, hit):
    worker_block_for_requester(worker=worker, requester=hit.requester, reason="spam")
    response = client_for(worker).get(f"/work/projects/{project.pk}/task/")
    assert response.status_code == 403 and b"<iframe" not in response.content
    assert b"can't take HITs here" in response.content


def test_an_expired_hit_cannot_be_accepted(worker, project, hit):
    client = client_for(worker)
    assert b"<iframe" in client.get(f"/work/projects/{project.pk}/task/").content  # previewed
    hit.task_hit.expires_at = timezone.now() - timedelta(seconds=1)
    hit.task_hit.save()
    client.post(f"/work/projects/{project.pk}/accept/")
    assert not Assignment.objects.exists()
