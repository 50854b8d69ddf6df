"""A panel participant works up to their link's quota and leaves with the completion code:
the claim refuses them past the quota, and the worker task page sends them to the
completion page once it has nothing more for them (quota given, no work left, blocked or
failed the test), which redirects to the panel's completion URL with ?cc=CODE."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from apps.panels.errors import PanelQuotaReached
from apps.panels.models import PanelParticipant
from apps.panels.selectors import panel_completion_redirect
from apps.tasks.models import Answer
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.submit import assignment_submit
from tests.factories import (
    AssignmentFactory,
    BlockFactory,
    GuidelineVersionFactory,
    HITFactory,
    PanelLinkFactory,
    PanelParticipantFactory,
    WorkerFactory,
)
from tests.helpers.panels import done_path, entry_path, task_page_answer
from tests.helpers.web import client_for

pytestmark = pytest.mark.django_db

PROLIFIC_DONE = "https://app.prolific.com/submissions/complete"


@pytest.fixture
def link(project):
    project.gold_share = 0
    project.save()
    HITFactory.create_batch(6, item__project=project)
    return PanelLinkFactory(
        project=project,
        quota=3,
        completion_code="C1MBPM0K",
        completion_url=PROLIFIC_DONE,
    )


@pytest.fixture
def entered(link) -> tuple[Client, PanelParticipant]:
    client = Client()
    assert client.get(entry_path(link)).status_code == 302
    return client, PanelParticipant.objects.get(link=link)


def outcome_of(participant: PanelParticipant) -> str:
    participant.refresh_from_db()
    return participant.outcome


def answer(worker, project) -> Answer:
    lease = assignment_claim(worker=worker, project=project)
    return assignment_submit(worker=worker, assignment_id=lease.pk, label="cat", seconds_spent=1)


# --- The quota in the claim ------------------------------------------------------------------


def test_the_claim_serves_a_participant_up_to_the_quota_and_no_further(link, project, worker):
    participant = PanelParticipantFactory(link=link)
    for _ in range(3):
        answer(participant.user, project)
    with pytest.raises(PanelQuotaReached):
        assignment_claim(worker=participant.user, project=project)
    # Another worker on the same project is not limited.
    for _ in range(4):
        answer(worker, project)


def test_a_participant_who_is_done_gets_no_more_tasks_below_the_quota(link, project):
    participant = PanelParticipantFactory(link=link, done=True)
    with pytest.raises(PanelQuotaReached):
        assignment_claim(worker=participant.user, project=project)


def test_next_task_answers_409_panel_quota_reached(link, project, api_client_for):
    participant = PanelParticipantFactory(link=link)
    for _ in range(3):
        answer(participant.user, project)
    client = api_client_for(participant.user)
    response = client.post("/api/v1/work/next/", {"project": project.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "panel_quota_reached"
    # Without a project: nothing else is open to them, so nothing at all.
    assert client.post("/api/v1/work/next/", {}, format="json").status_code == 204


# --- The pages -------------------------------------------------------------------------------


def test_answering_to_the_quota_leads_to_the_code_and_the_redirect(entered, link, project):
    client, participant = entered
    for n in range(3):
        response = task_page_answer(client, project.pk)
        assert response["Location"] == f"/work/projects/{project.pk}/task/", n
    to_done = client.get(response["Location"])
    assert to_done.status_code == 302 and to_done["Location"] == done_path(link)

    page = client.get(done_path(link))
    text = page.content.decode()
    assert page.status_code == 200
    assert re.search(r'id="completion-code">C1MBPM0K<', text)
    onward = f"{PROLIFIC_DONE}?cc=C1MBPM0K"
    assert f'<meta http-equiv="refresh" content="3;url={onward}">' in text
    assert f'href="{onward}"' in text
    assert outcome_of(participant) == "quota_reached"
    assert Answer.objects.filter(worker=participant.user).count() == 3


def test_a_participant_who_comes_back_continues_with_the_same_answers(entered, link, project):
    client, participant = entered
    task_page_answer(client, project.pk)
    again = Client()
    response = again.get(entry_path(link, session="session-2"))
    assert response["Location"] == f"/work/projects/{project.pk}/task/"
    task_page_answer(again, project.pk)
    task_page_answer(again, project.pk)
    assert again.get(response["Location"])["Location"] == done_path(link)
    assert Answer.objects.filter(worker=participant.user).count() == 3


def test_a_participant_who_comes_back_after_the_end_sees_the_completion_page(entered, link):
    client, participant = entered
    PanelParticipant.objects.filter(pk=participant.pk).update(
        outcome="quota_reached", completed_at=participant.started_at
    )
    response = Client().get(entry_path(link))
    assert response.status_code == 302 and response["Location"] == done_path(link)
    task = client.get(f"/work/projects/{link.project_id}/task/")
    assert task["Location"] == done_path(link)


def test_without_a_completion_url_the_page_shows_the_code_and_does_not_redirect(project):
    HITFactory(item__project=project)
    link = PanelLinkFactory(project=project, quota=1, completion_code="PLAIN1")
    client = Client()
    client.get(entry_path(link))
    task_page_answer(client, project.pk)
    assert client.get(f"/work/projects/{project.pk}/task/")["Location"] == done_path(link)
    text = client.get(done_path(link)).content.decode()
    assert "PLAIN1" in text and "http-equiv" not in text and "Copy this code" in text


def test_the_code_replaces_a_cc_already_in_the_completion_url():
    url = panel_completion_redirect(url="https://panel.example/done?x=1&cc=old", code="NEW")
    assert url == "https://panel.example/done?x=1&cc=NEW"


def test_no_work_left_for_the_participant_ends_with_the_completion_code(project):
    project.gold_share = 0
    project.save()
    HITFactory(item__project=project)
    link = PanelLinkFactory(project=project, quota=5)
    client = Client()
    client.get(entry_path(link))
    task_page_answer(client, project.pk)
    assert client.get(f"/work/projects/{project.pk}/task/")["Location"] == done_path(link)
    assert "C0MPLETE" in client.get(done_path(link)).content.decode()
    assert outcome_of(PanelParticipant.objects.get()) == "no_work_left"


def test_work_taken_by_others_for_now_is_not_the_end(project):
    """The one HIT is leased by someone else: it may come back when that lease ends."""
    project.gold_share = 0
    project.save()
    hit = HITFactory(item__project=project, answers_wanted=1, slots_taken=1)
    AssignmentFactory(hit=hit, worker=WorkerFactory())
    link = PanelLinkFactory(project=project)
    client = Client()
    client.get(entry_path(link))
    page = client.get(f"/work/projects/{project.pk}/task/")
    assert page.status_code == 200 and "Nothing to do here right now" in page.content.decode()
    assert outcome_of(PanelParticipant.objects.get()) == ""


def test_a_blocked_participant_gets_the_screened_out_code(link, project, requester):
    link.screened_out_code = "SCREENED1"
    link.save()
    client = Client()
    client.get(entry_path(link))
    participant = PanelParticipant.objects.get()
    task_page_answer(client, project.pk)
    # The owner blocks them as any worker, through the same endpoint.
    owner = client_for(requester)
    block = f"/api/v1/projects/{project.pk}/workers/{participant.user_id}/block/"
    assert owner.post(block, {"reason": "Bot"}, content_type="application/json").status_code == 201

    response = client.get(f"/work/projects/{project.pk}/task/")
    assert response["Location"] == done_path(link)
    text = client.get(done_path(link)).content.decode()
    assert "SCREENED1" in text and "C1MBPM0K" not in text
    assert f"{PROLIFIC_DONE}?cc=SCREENED1" in text
    assert outcome_of(participant) == "screened_out"


def test_a_blocked_participant_without_a_screened_out_code_gets_no_code(link, project):
    participant = PanelParticipantFactory(link=link)
    BlockFactory(worker=participant.user, project=project)
    client = client_for(participant.user)
    assert client.get(f"/work/projects/{project.pk}/task/")["Location"] == done_path(link)
    text = client.get(done_path(link)).content.decode()
    assert "C1MBPM0K" not in text and "http-equiv" not in text
    assert "no completion code for you" in text


def test_a_participant_who_fails_the_qualification_test_is_screened_out(project):
    project.qualification_size = 2
    project.qualification_pass_rate = 1.0
    project.gold_share = 0
    project.save()
    for label in ("cat", "dog"):
        HITFactory(item__project=project, item__is_gold=True, item__gold_label=label)
    HITFactory(item__project=project)
    link = PanelLinkFactory(project=project, screened_out_code="NOTQUAL")
    client = Client()
    client.get(entry_path(link))
    task_page_answer(client, project.pk, label="bird")
    task_page_answer(client, project.pk, label="bird")
    assert client.get(f"/work/projects/{project.pk}/task/")["Location"] == done_path(link)
    assert "NOTQUAL" in client.get(done_path(link)).content.decode()
    assert outcome_of(PanelParticipant.objects.get()) == "screened_out"


def test_a_participant_acknowledges_the_guideline_first_as_other_workers_do(link, project):
    GuidelineVersionFactory(project=project, number=1, text="Pick the animal.")
    client = Client()
    client.get(entry_path(link))
    page = client.get(f"/work/projects/{project.pk}/task/")
    assert 'id="acknowledge-form"' in page.content.decode()
    acknowledge = f"/work/projects/{project.pk}/guideline/acknowledge/"
    client.post(acknowledge, {"version": "1"})
    assert task_page_answer(client, project.pk).status_code == 302


def test_a_closed_project_shows_its_refusal_and_is_not_an_end(entered, link, project):
    client, participant = entered
    project.is_open = False
    project.save()
    page = client.get(f"/work/projects/{project.pk}/task/")
    assert page.status_code == 404  # closed projects are not listed to workers
    assert outcome_of(participant) == ""


# --- Who sees the completion page ------------------------------------------------------------


def test_the_completion_page_before_the_end_goes_back_to_the_tasks(entered, link, project):
    client, _ = entered
    response = client.get(done_path(link))
    assert response.status_code == 302
    assert response["Location"] == f"/work/projects/{project.pk}/task/"


def test_nobody_else_sees_a_participants_completion_page(link, worker, requester):
    PanelParticipantFactory(link=link, done=True)
    other_participant = PanelParticipantFactory(link=PanelLinkFactory(project=link.project))
    for client in (Client(), client_for(worker), client_for(requester)):
        assert client.get(done_path(link)).status_code == 404
    assert client_for(other_participant.user).get(done_path(link)).status_code == 404
