"""An HTMLQuestion's HTML is served from /mturk/question/<HITId>/ only to a worker who may
work on it, under its own sandbox policy, with MTurk's hard-coded submit address turned into
ours; the task page frames it sandboxed, without allow-same-origin."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from apps.mturk.models import MturkHIT
from tests import factories

SITE = "https://labels.example.org"
HTML = (
    "<!DOCTYPE html><html><body>"
    "<form method='post' action='https://www.mturk.com/mturk/externalSubmit'>"
    "<input type='hidden' name='assignmentId' value=''>"
    "<a href='https://workersandbox.mturk.com/mturk/externalSubmit'>sandbox</a>"
    "<a href='https://www.mturk.com/other'>other</a></form></body></html>"
)
QUESTION = (
    '<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/'
    'AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">'
    f"<HTMLContent><![CDATA[{HTML}]]></HTMLContent><FrameHeight>450</FrameHeight></HTMLQuestion>"
)


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE


@pytest.fixture
def hit(db):
    return factories.MturkHITFactory(question=QUESTION, question_kind=MturkHIT.QuestionKind.HTML)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(hit) -> str:
    return f"/mturk/question/{hit.hit_id}/?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE"


def test_the_html_is_served_sandboxed_with_mturks_submit_address_made_ours(worker, hit):
    response = signed_in(worker).get(url(hit))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    policy = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    sandbox = directives["sandbox"].split()
    assert "allow-scripts" in sandbox and "allow-forms" in sandbox
    assert "allow-same-origin" not in sandbox and "allow-top-navigation" not in sandbox
    assert directives["frame-ancestors"] == "'self'"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    assert f"action='{SITE}/mturk/externalSubmit'" in body
    assert f"href='{SITE}/mturk/externalSubmit'" in body
    assert "href='https://www.mturk.com/other'" in body  # only the submit address changes
    assert "mturk.com/mturk/externalSubmit" not in body


def test_the_task_page_frames_it_sandboxed_without_same_origin(worker, hit):
    page = signed_in(worker).get(f"/work/projects/{hit.hit_type.project_id}/task/")
    body = page.content.decode()
    assert f'src="/mturk/question/{hit.hit_id}/?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE' in body
    assert (
        'sandbox="allow-scripts allow-forms allow-popups allow-top-navigation-by-user-activation"'
        in body
    )
    assert "height: 450px" in body
    assert "frame-src 'self' https://labels.example.org" in page["Content-Security-Policy"]


def test_no_one_else_gets_it(client, requester, other_worker, hit):
    assert client.get(url(hit)).status_code == 404  # anonymous
    assert signed_in(requester).get(url(hit)).status_code == 404  # not a worker
    project = hit.hit_type.project
    project.visibility = "private"
    project.save()
    assert signed_in(other_worker).get(url(hit)).status_code == 404


def test_an_unknown_disposed_or_external_hit_is_a_404(worker, hit):
    client = signed_in(worker)
    assert client.get("/mturk/question/NOSUCHHIT/").status_code == 404
    external = factories.MturkHITFactory()
    assert client.get(url(external)).status_code == 404
    MturkHIT.objects.filter(pk=hit.pk).update(disposed_at=timezone.now())
    assert client.get(url(hit)).status_code == 404
