"""Re-opened items get their place in the queue by the rule new HITs get (finding 14 of issue
13: after a guideline re-queue, HITs reopened at priority 0, below every HIT the model had
ranked, and none was served in the next 72 answers)."""

from __future__ import annotations

import pytest

from apps.models.services import item_queue_priorities
from apps.models.services.training import model_retrain
from apps.tasks.models import HIT, Item
from apps.tasks.services.guidelines import Requeue, guideline_draft_create, guideline_publish
from tests import factories
from tests.helpers.pets import answer, labeled, text_of, waiting

UNSURE = "zebra giraffe"  # words no label uses: the model says about 0.5


def settled(project, text: str, worker) -> Item:
    """An item the crowd settled before the model existed: its HIT done at priority 0."""
    item = factories.ItemFactory(
        project=project,
        payload={"text": text},
        state=Item.State.CONSENSUS,
        final_label="cat",
        label_source=Item.Source.CROWD,
    )
    answer(item, worker, "cat")
    HIT.objects.filter(item=item).update(state=HIT.State.DONE, priority=0.0)
    return item


def test_a_requeued_hit_gets_the_priority_the_model_gives_a_new_one(
    pets, worker, other_worker, admin_user, sync_q, django_capture_on_commit_callbacks
):
    labeled(pets, 100, worker)
    with django_capture_on_commit_callbacks(execute=True):
        model_retrain(project_id=pets.pk)
    (sure,) = waiting(pets, [text_of("dog", 990)])
    unsure = settled(pets, UNSURE, other_worker)
    draft = guideline_draft_create(project=pets, text="Cats purr.", author=admin_user)

    guideline_publish(guideline=draft, by=admin_user, requeue=Requeue.ALL)

    hit = HIT.objects.get(item=unsure)
    expected = item_queue_priorities(project=pets, item_ids=[unsure.pk])[unsure.pk]
    assert hit.state == HIT.State.OPEN
    assert hit.priority == pytest.approx(expected) and hit.priority > 0.5
    # The model doubts it more than the waiting item it is sure of: it goes first.
    assert hit.priority > HIT.objects.get(item=sure).priority


def test_without_a_model_a_reopened_item_gets_the_import_s_priority(project, worker):
    item = factories.ItemFactory(project=project)
    assert item_queue_priorities(project=project, item_ids=[item.pk]) == {item.pk: 0.0}


def test_a_sent_back_item_gets_the_priority_the_model_gives_a_new_one(
    pets, worker, other_worker, admin_user, sync_q, django_capture_on_commit_callbacks
):
    from apps.tasks.services.items import item_send_back

    labeled(pets, 100, worker)
    with django_capture_on_commit_callbacks(execute=True):
        model_retrain(project_id=pets.pk)
    item = settled(pets, UNSURE, other_worker)
    Item.objects.filter(pk=item.pk).update(state=Item.State.NEEDS_REVIEW)

    item_send_back(item_id=item.pk, more=1, by=admin_user)  # `worker` has not answered it

    expected = item_queue_priorities(project=pets, item_ids=[item.pk])[item.pk]
    priority = HIT.objects.get(item=item).priority
    assert priority == pytest.approx(expected) and priority > 0.5
