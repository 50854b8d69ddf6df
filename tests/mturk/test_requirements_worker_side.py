"""QualificationRequirements on the worker's pages (issue 17 #2): a requirement guarding the
preview (PreviewAndAccept) keeps the HIT's question from a worker who does not meet it (the
task page says which qualification, the HTMLQuestion page is a 404), one guarding Accept only
lets them preview but not accept, one guarding the discovery keeps the project out of their
list; a worker who meets them sees and takes the HIT."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.mturk.models import MturkHIT
from apps.mturk.requirements import LOCALE
from apps.tasks.models import Assignment
from apps.workers.accounts import user_locale_set
from tests import factories

pytestmark = pytest.mark.django_db

HTML_QUESTION = (
    '<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/'
    'AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">'
    "<HTMLContent><![CDATA[<!DOCTYPE html><html><body><form>Cat?</form></body></html>]]>"
    "</HTMLContent><FrameHeight>450</FrameHeight></HTMLQuestion>"
)


def hit_guarded_by(guard: str, **extra) -> MturkHIT:
    """A HIT of a type open to workers in the US only, the requirement guarding `guard`."""
    wanted = {
        "QualificationTypeId": LOCALE,
        "Comparator": "EqualTo",
        "LocaleValues": [{"Country": "US"}],
        "ActionsGuarded": guard,
    }
    return factories.MturkHITFactory(
        hit_type__qualification_requirements=[wanted],
        hit_type__hides_from_unqualified=guard == "DiscoverPreviewAndAccept",
        **extra,
    )


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def american(worker):
    user_locale_set(user=worker, country="US")
    return worker


@pytest.fixture
def french(other_worker):
    user_locale_set(user=other_worker, country="FR")
    return other_worker


def task_page(user, hit: MturkHIT):
    return signed_in(user).get(f"/work/projects/{hit.hit_type.project_id}/task/")


def test_a_preview_guard_shows_no_question_to_a_worker_who_does_not_qualify(american, french):
    hit = hit_guarded_by("PreviewAndAccept")

    refused = task_page(french, hit)
    shown = task_page(american, hit)

    assert refused.status_code == 403 and b"<iframe" not in refused.content
    assert b"Worker_Locale" in refused.content
    assert shown.status_code == 200 and b"<iframe" in shown.content


def test_an_accept_guard_lets_them_preview_but_not_accept(american, french):
    hit = hit_guarded_by("Accept")
    project_id = hit.hit_type.project_id

    assert b"<iframe" in task_page(french, hit).content
    signed_in(french).post(f"/work/projects/{project_id}/accept/")
    assert not Assignment.objects.filter(worker=french).exists()
    signed_in(american).post(f"/work/projects/{project_id}/accept/")
    assert Assignment.objects.get().worker == american


def test_a_discovery_guard_keeps_the_project_out_of_their_list(american, french):
    hit = hit_guarded_by("DiscoverPreviewAndAccept")
    name = hit.hit_type.project.name
    assert name in signed_in(american).get("/work/").content.decode()
    assert name not in signed_in(french).get("/work/").content.decode()
    assert task_page(french, hit).status_code == 404


def test_the_html_question_is_served_only_to_those_who_may_preview_or_hold_the_task(
    american, french
):
    hit = hit_guarded_by(
        "PreviewAndAccept", question=HTML_QUESTION, question_kind=MturkHIT.QuestionKind.HTML
    )
    url = f"/mturk/question/{hit.hit_id}/?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE"

    assert signed_in(american).get(url).status_code == 200
    assert signed_in(french).get(url).status_code == 404
    # A worker who took the task and moved country meanwhile still sees its question.
    factories.AssignmentFactory(hit=hit.task_hit, worker=french)
    assert signed_in(french).get(url).status_code == 200
