"""Pacing people with the model (LearningSettings.people_batch): at most the window is open to
people; the rest is held until the model has learned from their labels (real sync jobs)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from apps.models.models import LearningSettings, RescoreRun
from apps.models.services.pacing import PACE_MAX_WAIT, model_behind, project_pace
from apps.models.services.training import model_retrain
from apps.tasks.models import HIT, Assignment, Item
from apps.tasks.selectors.invariants import project_invariants
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.items import hits_pace, items_auto_labels_reopen
from tests import factories
from tests.helpers.pets import labeled, text_of, waiting


def _open_to_people(project) -> set[int]:
    hits = HIT.objects.filter(project=project, is_gold=False, state=HIT.State.OPEN, held=False)
    return set(hits.values_list("item_id", flat=True))


def _held(project) -> set[int]:
    hits = HIT.objects.filter(project=project, state=HIT.State.OPEN, held=True)
    return set(hits.values_list("item_id", flat=True))


def _upload(client, project, rows: list[str]):
    body = "external_id,text\n" + "".join(f"{row}\n" for row in rows)
    upload = SimpleUploadedFile("pets.csv", body.encode(), content_type="text/csv")
    return client.post(
        f"/api/v1/projects/{project.pk}/batches/", {"file": upload}, format="multipart"
    )


@pytest.fixture
def paced(pets):
    LearningSettings.objects.filter(project=pets).update(people_batch=3)
    return pets


def test_an_upload_opens_only_the_window_and_holds_the_rest(api_client_for, requester, paced):
    rows = [f"u{i},{text_of('cat', i)}" for i in range(8)]
    response = _upload(api_client_for(requester), paced, rows)

    assert response.status_code == 201, response.content
    assert len(_open_to_people(paced)) == 3
    assert len(_held(paced)) == 5
    assert not any(project_invariants(project_id=paced.pk).values())


def test_a_worker_is_never_served_a_held_item(paced, worker, other_worker):
    items = waiting(paced, [text_of("cat", i) for i in range(6)])
    project_pace(project=paced)
    opened = _open_to_people(paced)

    served = set()
    for who in (worker, other_worker):
        for _ in range(4):
            lease = assignment_claim(worker=who, project=paced)
            if lease is None:
                break
            served.add(lease.hit.item_id)
            Assignment.objects.filter(pk=lease.pk).update(state=Assignment.State.SKIPPED)

    assert len(opened) == 3 and served == opened
    assert _held(paced) == {item.pk for item in items} - opened


def test_with_pacing_off_every_item_is_open(api_client_for, requester, pets):
    rows = [f"u{i},{text_of('dog', i)}" for i in range(5)]
    _upload(api_client_for(requester), pets, rows)

    assert len(_open_to_people(pets)) == 5 and not _held(pets)


def test_turning_pacing_off_opens_every_held_item(
    api_client_for, requester, paced, django_capture_on_commit_callbacks
):
    _upload(api_client_for(requester), paced, [f"u{i},{text_of('cat', i)}" for i in range(6)])
    client = api_client_for(requester)

    url = f"/api/v1/projects/{paced.pk}/learning-settings"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(url, {"people_batch": 0}, format="json")

    assert response.status_code == 200 and response.json()["people_batch"] == 0
    assert len(_open_to_people(paced)) == 6 and not _held(paced)


def test_the_window_is_not_refilled_while_a_retrain_is_due(paced, worker):
    waiting(paced, [text_of("cat", 500 + i) for i in range(6)])
    project_pace(project=paced)
    first = _open_to_people(paced)
    labeled(paced, 40, worker)  # 40 labels, no version yet: a retrain is due
    HIT.objects.filter(item_id__in=first).update(state=HIT.State.DONE)
    Item.objects.filter(pk__in=first).update(state=Item.State.CONSENSUS, final_label="cat")

    assert model_behind(project=paced)
    assert project_pace(project=paced) == 0
    assert not _open_to_people(paced) and len(_held(paced)) == 3


def test_after_the_retrain_and_its_rescore_people_get_what_the_new_model_ranks_first(
    paced, worker, sync_q, django_capture_on_commit_callbacks
):
    sure = waiting(paced, [text_of("cat", 600 + i) for i in range(4)], prefix="s")
    unsure = waiting(paced, ["zebra giraffe", "giraffe okapi", "zebra okapi"], prefix="z")
    HIT.objects.filter(item__in=unsure).update(priority=-1.0)  # ranked last before any model
    project_pace(project=paced)
    assert _open_to_people(paced) == {item.pk for item in sure[:3]}
    labeled(paced, 100, worker)

    with django_capture_on_commit_callbacks(execute=True):
        run = model_retrain(project_id=paced.pk)

    assert run.status == "promoted", run.detail
    assert RescoreRun.objects.get(model_version=run.model_version).status == "finished"
    for item in sure:
        item.refresh_from_db()
        assert item.state == Item.State.AUTO_LABELED  # the model took them: no human answer
    assert _open_to_people(paced) == {item.pk for item in unsure}
    assert not _held(paced)


def test_a_worker_without_a_task_opens_the_next_items_once_the_model_is_too_slow(
    paced, worker, other_worker
):
    waiting(paced, [text_of("dog", 700 + i) for i in range(6)])
    project_pace(project=paced)
    labeled(paced, 40, other_worker)  # a retrain is due and no job will come
    for item_id in _open_to_people(paced):
        HIT.objects.filter(item_id=item_id).update(state=HIT.State.DONE)
        Item.objects.filter(pk=item_id).update(state=Item.State.CONSENSUS, final_label="dog")
    assert assignment_claim(worker=worker, project=paced) is None  # waits for the model

    LearningSettings.objects.filter(project=paced).update(
        paced_at=timezone.now() - PACE_MAX_WAIT - timedelta(seconds=1)
    )
    lease = assignment_claim(worker=worker, project=paced)

    assert lease is not None and len(_open_to_people(paced)) == 3


def test_a_hit_with_a_slot_taken_is_never_held(paced, worker):
    items = waiting(paced, [text_of("cat", 800 + i) for i in range(5)])
    for item in items:
        HIT.objects.filter(item=item).update(priority=float(item.pk))
    leased = items[0].hit  # the lowest priority: the first to hold
    factories.AssignmentFactory(hit=leased, worker=worker)
    HIT.objects.filter(pk=leased.pk).update(slots_taken=1)

    hits_pace(project=paced, cap=2, release=False)

    assert leased.item_id in _open_to_people(paced)
    assert len(_open_to_people(paced)) == 2 and len(_held(paced)) == 3


def test_the_first_worker_opens_the_window_when_nothing_was_ever_opened(paced, worker):
    labeled(paced, 40, worker)  # gold or labels that came first: a retrain is due, none queued
    waiting(paced, [text_of("cat", 900 + i) for i in range(5)])
    HIT.objects.filter(project=paced, slots_taken=0).update(held=True)
    assert project_pace(project=paced) == 0  # the model is behind

    lease = assignment_claim(worker=worker, project=paced)

    assert lease is not None and len(_open_to_people(paced)) == 3


def test_the_requester_sees_how_many_items_wait_for_the_model(api_client_for, requester, paced):
    client = api_client_for(requester)
    _upload(client, paced, [f"u{i},{text_of('cat', i)}" for i in range(7)])

    body = client.get(f"/api/v1/projects/{paced.pk}/").json()
    browser = Client()
    browser.force_login(requester)
    page = browser.get(f"/requester/projects/{paced.pk}/")

    assert (body["item_counts"]["waiting"], body["held_for_model"]) == (7, 4)
    assert "4 of the waiting items are held" in page.content.decode()


def test_an_auto_label_sent_back_opens_to_people_even_if_its_hit_was_held(pets):
    (item,) = waiting(pets, [text_of("cat", 950)])
    HIT.objects.filter(item=item).update(held=True, state=HIT.State.CANCELLED)
    Item.objects.filter(pk=item.pk).update(
        state=Item.State.AUTO_LABELED, label_source=Item.Source.MODEL, final_label="cat"
    )

    assert items_auto_labels_reopen(project=pets, item_ids=[item.pk]) == 1

    assert _open_to_people(pets) == {item.pk} and not _held(pets)  # pacing is off here
