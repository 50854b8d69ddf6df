"""externalSubmit: the question's form posts the answer with its assignmentId, from another
site (no session cookie, no CSRF token); it is recorded once, as MTurk's QuestionFormAnswers
XML, through the one submit path, and anything but a live lease of ours is refused with a
page saying why."""

from __future__ import annotations

from datetime import timedelta
from xml.etree.ElementTree import fromstring

import pytest
from django.test import Client
from django.utils import timezone

from apps.mturk.answers import NAMESPACE
from apps.mturk.assignment_ids import assignment_id_of
from apps.mturk.models import MturkAssignment
from apps.tasks.models import Answer, Assignment
from apps.tasks.services.assignments.claim import assignment_claim
from apps.workers.models import LedgerEntry
from tests import factories

URL = "/mturk/externalSubmit"


@pytest.fixture
def hit(db):
    return factories.MturkHITFactory(task_hit__answers_wanted=2)


@pytest.fixture
def lease(hit, worker):
    return assignment_claim(worker=worker, project=hit.hit_type.project)


@pytest.fixture
def aid(lease) -> str:
    return assignment_id_of(lease.pk)


@pytest.fixture
def cross_site() -> Client:
    """The requester's page posting from its own site: no cookie, and CSRF enforced."""
    return Client(enforce_csrf_checks=True)


def answers_of(xml: str) -> dict[str, str]:
    ns = {"q": NAMESPACE}
    return {
        a.findtext("q:QuestionIdentifier", namespaces=ns): a.findtext("q:FreeText", namespaces=ns)
        for a in fromstring(xml.encode()).findall("q:Answer", ns)
    }


def test_a_cross_site_post_submits_the_assignment_once_as_mturk_xml(cross_site, aid, lease, hit):
    response = cross_site.post(URL, {"assignmentId": aid, "cat": "yes", "why": "whiskers"})

    assert response.status_code == 200
    assert b"Thanks: your answers were submitted." in response.content
    assert f'href="/work/projects/{hit.hit_type.project_id}/task/"'.encode() in response.content
    mturk = MturkAssignment.objects.get()
    assert (mturk.assignment_id, mturk.task_assignment_id, mturk.mturk_hit) == (aid, lease.pk, hit)
    assert mturk.status == "Submitted"
    assert answers_of(mturk.answer) == {"cat": "yes", "why": "whiskers"}
    delay = timedelta(seconds=hit.hit_type.auto_approval_delay_seconds)
    assert mturk.auto_approval_at == mturk.submitted_at + delay
    answer = Answer.objects.get()
    assert (answer.assignment_id, answer.label, answer.created_at) == (
        lease.pk,
        "",
        mturk.submitted_at,
    )
    lease.refresh_from_db()
    assert lease.state == Assignment.State.SUBMITTED
    assert not LedgerEntry.objects.exists()  # MTurk's reward is credited on approval


def test_the_frame_may_show_our_answer_page_but_no_other_site_may(cross_site, aid):
    response = cross_site.post(URL, {"assignmentId": aid, "cat": "yes"})
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]


def test_the_same_post_again_changes_nothing(cross_site, aid):
    cross_site.post(URL, {"assignmentId": aid, "cat": "yes"})
    again = cross_site.post(URL, {"assignmentId": aid, "cat": "yes"})

    assert again.status_code == 200
    assert b"already submitted with these answers" in again.content
    assert MturkAssignment.objects.count() == Answer.objects.count() == 1


def test_other_answers_to_a_submitted_assignment_are_refused(cross_site, aid):
    cross_site.post(URL, {"assignmentId": aid, "cat": "yes"})
    other = cross_site.post(URL, {"assignmentId": aid, "cat": "no"})

    assert other.status_code == 409
    assert b"already submitted with other answers" in other.content
    assert answers_of(MturkAssignment.objects.get().answer) == {"cat": "yes"}


def test_a_get_submits_too_as_on_mturk(cross_site, aid):
    assert cross_site.get(URL, {"assignmentId": aid, "cat": "yes"}).status_code == 200
    assert MturkAssignment.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "status", "text"),
    [
        ({"cat": "yes"}, 400, b"not accepted yet"),
        ({"assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE"}, 400, b"not accepted yet"),
        ({"assignmentId": "3" * 30}, 404, b"not one of this site"),
        ({"assignmentId": "<script>"}, 404, b"not one of this site"),
    ],
)
def test_no_or_an_unknown_assignment_id_is_refused_with_a_page(
    cross_site, lease, data, status, text
):
    response = cross_site.post(URL, data)
    assert response.status_code == status and text in response.content
    assert b"Not submitted" in response.content
    assert not MturkAssignment.objects.exists() and not Answer.objects.exists()


def test_a_forged_id_for_a_real_lease_is_unknown(cross_site, aid):
    forged = aid[:-1] + ("A" if aid[-1] != "A" else "B")
    assert cross_site.post(URL, {"assignmentId": forged}).status_code == 404
    assert not Answer.objects.exists()


def test_an_expired_lease_is_refused(cross_site, aid, lease):
    Assignment.objects.filter(pk=lease.pk).update(lease_expires_at=timezone.now())
    response = cross_site.post(URL, {"assignmentId": aid, "cat": "yes"})
    assert response.status_code == 410
    assert not MturkAssignment.objects.exists() and not Answer.objects.exists()


def test_a_returned_assignment_is_refused(client, worker, aid, lease):
    client.force_login(worker)
    client.post(f"/work/assignments/{lease.pk}/skip/")
    response = Client().post(URL, {"assignmentId": aid, "cat": "yes"})
    assert response.status_code == 409 and b"skipped" in response.content
    assert not Answer.objects.exists()


def test_another_workers_session_cannot_submit_it(other_worker, aid):
    signed_in = Client()
    signed_in.force_login(other_worker)
    assert signed_in.post(URL, {"assignmentId": aid, "cat": "yes"}).status_code == 404
    assert not Answer.objects.exists()


def test_the_workers_own_session_may_come_along(worker, aid):
    signed_in = Client()
    signed_in.force_login(worker)
    assert signed_in.post(URL, {"assignmentId": aid, "cat": "yes"}).status_code == 200


def test_a_native_assignment_has_no_assignment_id(cross_site, project, worker):
    native = factories.AssignmentFactory(hit__item__project=project, worker=worker)
    response = cross_site.post(URL, {"assignmentId": assignment_id_of(native.pk), "x": "1"})
    assert response.status_code == 404
    assert not Answer.objects.exists()


def test_the_native_submit_paths_refuse_an_mturk_task(worker, lease, api_client_for):
    page = Client()
    page.force_login(worker)
    page.post(f"/work/assignments/{lease.pk}/submit/", {"label": ""})
    api = api_client_for(worker).post(
        f"/api/v1/work/assignments/{lease.pk}/submit/",
        {"label": "", "seconds_spent": 3},
        format="json",
    )
    assert api.status_code == 400 and "label" in api.json()["errors"]
    assert not Answer.objects.exists()


def test_a_blocked_worker_is_refused_and_unpaid(cross_site, aid, worker, hit):
    factories.BlockFactory(worker=worker, project=hit.hit_type.project)
    response = cross_site.post(URL, {"assignmentId": aid, "cat": "yes"})
    assert response.status_code == 403
    assert not MturkAssignment.objects.exists()


def test_a_live_lease_may_still_submit_after_its_hit_expired(cross_site, aid, hit):
    hit.task_hit.expires_at = timezone.now() - timedelta(seconds=1)
    hit.task_hit.save()
    assert cross_site.post(URL, {"assignmentId": aid, "cat": "yes"}).status_code == 200
    assert MturkAssignment.objects.count() == 1
