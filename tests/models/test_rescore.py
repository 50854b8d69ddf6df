"""After a promotion the open items are re-scored and re-routed (real sync django-q2 jobs)."""

from __future__ import annotations

import pytest

from apps.models.models import ItemFlag, LearningSettings, RescoreRun
from apps.models.services.training import model_retrain
from apps.tasks.models import HIT, Assignment, Item
from apps.tasks.selectors.invariants import project_invariants
from apps.tasks.services.assignments.submit import assignment_submit
from tests import factories
from tests.helpers.pets import answer, labeled, text_of, waiting

UNSURE = "zebra giraffe"  # words no label uses: the model says about 0.5


def test_confident_items_are_auto_labeled_and_the_rest_prioritized(
    pets, worker, other_worker, sync_q, django_capture_on_commit_callbacks
):
    labeled(pets, 100, worker)
    sure_cat, sure_dog, unsure, answered = waiting(
        pets, [text_of("cat", 901), text_of("dog", 902), UNSURE, text_of("cat", 903)]
    )
    answer(answered, other_worker, "cat")

    with django_capture_on_commit_callbacks(execute=True):
        run = model_retrain(project_id=pets.pk)

    version = run.model_version
    for item in (sure_cat, sure_dog, unsure, answered):
        item.refresh_from_db()
    assert (sure_cat.state, sure_cat.final_label) == (Item.State.AUTO_LABELED, "cat")
    assert (sure_dog.state, sure_dog.final_label) == (Item.State.AUTO_LABELED, "dog")
    assert sure_cat.label_source == Item.Source.MODEL and sure_cat.model_version == version.name
    assert HIT.objects.get(item=sure_cat).state == HIT.State.CANCELLED
    assert HIT.objects.get(item=sure_cat).slots_taken == 0
    # Answered items stay with people even when the model is sure.
    assert answered.state == Item.State.WAITING and answered.prediction == "cat"
    assert unsure.state == Item.State.WAITING and unsure.confidence < pets.confidence_threshold
    # Margin uncertainty: the unsure item goes before the answered (sure) one.
    assert HIT.objects.get(item=unsure).priority > HIT.objects.get(item=answered).priority
    progress = RescoreRun.objects.get(model_version=version)
    assert progress.status == RescoreRun.Status.FINISHED
    assert (progress.done, progress.total, progress.auto_labeled) == (4, 4, 2)


def test_a_rescore_leaves_an_item_with_its_worker_whose_lease_is_live(
    pets, worker, other_worker, sync_q, django_capture_on_commit_callbacks
):
    labeled(pets, 100, worker)
    (sure,) = waiting(pets, [text_of("cat", 904)])
    lease = factories.AssignmentFactory(hit=sure.hit, worker=other_worker)
    HIT.objects.filter(pk=sure.hit.pk).update(slots_taken=1)

    with django_capture_on_commit_callbacks(execute=True):
        run = model_retrain(project_id=pets.pk)

    sure.refresh_from_db()
    hit = HIT.objects.get(item=sure)
    # The model is sure, but the worker keeps the task: the item stays with people.
    assert sure.state == Item.State.WAITING and sure.prediction == "cat"
    assert (hit.state, hit.slots_taken) == (HIT.State.OPEN, 1)
    lease.refresh_from_db()
    assert lease.state == Assignment.State.LEASED
    answer_ = assignment_submit(
        worker=other_worker, assignment_id=lease.pk, label="cat", seconds_spent=1
    )
    assert answer_.item_id == sure.pk and not answer_.replayed
    progress = RescoreRun.objects.get(model_version=run.model_version)
    assert (progress.auto_labeled, progress.reprioritized) == (0, 1)
    # Its answer judges the model: the item is an audit, never a training label.
    flag = ItemFlag.objects.get(item=sure, kind=ItemFlag.Kind.AUDIT)
    assert (flag.model_version, flag.model_label) == (run.model_version, "cat")


def test_an_audit_share_keeps_auto_labeled_items_in_front_of_people(
    pets, worker, sync_q, django_capture_on_commit_callbacks
):
    LearningSettings.objects.filter(project=pets).update(audit_share=1.0)
    labeled(pets, 100, worker)
    (sure,) = waiting(pets, [text_of("dog", 950)])

    with django_capture_on_commit_callbacks(execute=True):
        run = model_retrain(project_id=pets.pk)

    sure.refresh_from_db()
    assert sure.state == Item.State.AUTO_LABELED
    assert HIT.objects.get(item=sure).state == HIT.State.OPEN
    flag = ItemFlag.objects.get(item=sure, kind=ItemFlag.Kind.AUDIT)
    assert flag.model_version == run.model_version and flag.model_label == "dog"


def test_a_retried_rescore_changes_nothing_twice(
    pets, worker, sync_q, django_capture_on_commit_callbacks
):
    from apps.models.services.scoring import rescore_run

    labeled(pets, 100, worker)
    waiting(pets, [text_of("cat", 960), UNSURE])
    with django_capture_on_commit_callbacks(execute=True):
        run = model_retrain(project_id=pets.pk)
    again = rescore_run(model_version_id=run.model_version.pk)
    assert again.status == RescoreRun.Status.FINISHED and again.auto_labeled == 1
    assert RescoreRun.objects.count() == 1


def auto_labeled(project, texts_and_labels: list[tuple[str, str]]) -> list[Item]:
    """Items an earlier model (the import's) auto-labeled, their HITs cancelled."""
    items = waiting(project, [text for text, _ in texts_and_labels], prefix="a")
    for item, (_, label) in zip(items, texts_and_labels, strict=True):
        Item.objects.filter(pk=item.pk).update(
            state=Item.State.AUTO_LABELED,
            final_label=label,
            final_confidence=0.91,
            label_source=Item.Source.MODEL,
            prediction=label,
            confidence=0.91,
            model_version="seed-model",
        )
        HIT.objects.filter(item=item).update(state=HIT.State.CANCELLED)
    return items


def test_a_promoted_model_relabels_earlier_auto_labels_and_sends_unsure_ones_to_people(
    pets, worker, sync_q, django_capture_on_commit_callbacks
):
    labeled(pets, 100, worker)
    wrong, right, unsure = auto_labeled(
        pets, [(text_of("cat", 970), "dog"), (text_of("dog", 971), "dog"), (UNSURE, "cat")]
    )

    with django_capture_on_commit_callbacks(execute=True):
        run = model_retrain(project_id=pets.pk)

    name = run.model_version.name
    for item in (wrong, right, unsure):
        item.refresh_from_db()
    # An auto-label is a model's label: the better model's replaces it.
    assert (wrong.state, wrong.final_label, wrong.model_version) == ("auto_labeled", "cat", name)
    assert wrong.final_confidence >= pets.confidence_threshold
    assert (right.state, right.final_label, right.label_source) == ("auto_labeled", "dog", "model")
    # Below the threshold now in force: back to people, on an open HIT.
    assert unsure.state == Item.State.WAITING and unsure.final_label == ""
    assert unsure.confidence < pets.confidence_threshold and unsure.model_version == name
    hit = HIT.objects.get(item=unsure)
    assert (hit.state, hit.answers_wanted) == (HIT.State.OPEN, pets.min_overlap)
    broken = project_invariants(project_id=pets.pk)
    assert not any(unsure.pk in ids for ids in broken.values())


def test_auto_labels_stand_while_the_new_version_proves_no_threshold(
    pets, worker, sync_q, django_capture_on_commit_callbacks
):
    pets.auto_label_accuracy = 0.999  # far more evidence than 100 labels give
    pets.save()
    labeled(pets, 100, worker)
    (unsure,) = auto_labeled(pets, [(UNSURE, "cat")])

    with django_capture_on_commit_callbacks(execute=True):
        run = model_retrain(project_id=pets.pk)

    assert run.status == "promoted"
    unsure.refresh_from_db()
    assert (unsure.state, unsure.final_label, unsure.model_version) == (
        Item.State.AUTO_LABELED,
        "cat",
        "seed-model",
    )


@pytest.mark.parametrize("strategy", ["kcenter", "cluster_margin", "coverage"])
def test_a_batch_strategy_puts_its_diverse_batch_first(
    strategy, pets, worker, sync_q, django_capture_on_commit_callbacks
):
    LearningSettings.objects.filter(project=pets).update(strategy=strategy)
    pets.confidence_threshold = 1.0
    pets.save()
    labeled(pets, 100, worker)
    waiting(pets, [f"{UNSURE} {i}" for i in range(5)] + [text_of("cat", 970)])
    with django_capture_on_commit_callbacks(execute=True):
        model_retrain(project_id=pets.pk)
    priorities = list(
        HIT.objects.filter(item__external_id__startswith="w").values_list("priority", flat=True)
    )
    assert max(priorities) > 1.0  # the picked batch ranks above any margin score


def test_coverage_also_covers_a_random_sample_of_the_rest_of_the_queue(
    pets, worker, sync_q, django_capture_on_commit_callbacks, monkeypatch
):
    from apps.models.services import scoring
    from apps.models.services.common import model_load

    monkeypatch.setattr(scoring, "DIVERSITY_POOL", 3)
    LearningSettings.objects.filter(project=pets).update(strategy="coverage")
    pets.confidence_threshold = 1.0
    pets.save()
    labeled(pets, 100, worker)
    items = waiting(pets, [f"{UNSURE} {i}" for i in range(6)] + [text_of("cat", 971)])
    HIT.objects.filter(item=items[-1]).update(is_gold=True)
    with django_capture_on_commit_callbacks(execute=True):
        run = model_retrain(project_id=pets.pk)

    pool = set(HIT.objects.filter(priority__gt=1.0).values_list("pk", flat=True))
    assert len(pool) == 3  # the batch, from the three most uncertain (pool size 3 here)
    model = model_load(run.model_version)
    ground = {pk for pk, _ in scoring._ground_sample(pets, model, skip=pool)}
    open_rest = set(
        HIT.objects.filter(project=pets, state=HIT.State.OPEN, is_gold=False)
        .exclude(pk__in=pool)
        .values_list("pk", flat=True)
    )
    assert ground == open_rest and len(ground) == 3


def test_a_rescore_chunk_costs_the_same_queries_whatever_its_size(
    pets, worker, sync_q, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.models.services import scoring
    from apps.models.services.common import learning_settings_of, model_load

    labeled(pets, 100, worker)
    with django_capture_on_commit_callbacks(execute=True):
        version = model_retrain(project_id=pets.pk).model_version
    model, row = model_load(version), learning_settings_of(pets)
    queries = []
    for size, prefix in ((3, "a"), (12, "b")):
        items = waiting(pets, [f"{UNSURE} {i}" for i in range(size)], prefix=prefix)
        run = RescoreRun.objects.get(model_version=version)
        chunk = list(
            scoring._open_items(pets.pk, run.last_item_id).values(
                "pk", "payload", "is_gold", "hit__pk"
            )
        )
        with CaptureQueriesContext(connection) as captured:
            scoring._rescore_chunk(pets, row, version, model, run, chunk)
        queries.append(len(captured.captured_queries))
        for item in items:
            item.refresh_from_db()
            assert item.model_version == version.name and item.prediction in ("cat", "dog")
            assert HIT.objects.get(item=item).priority > 0
    assert queries[0] == queries[1]


def test_auto_labels_below_the_threshold_wait_their_turn_while_people_have_work(
    pets, worker, sync_q, django_capture_on_commit_callbacks
):
    from apps.models.services.audits import auto_labels_due_back

    LearningSettings.objects.filter(project=pets).update(retrain_after_labels=2)
    labeled(pets, 100, worker)
    unsure = auto_labeled(pets, [(UNSURE, "cat"), (UNSURE, "dog"), (UNSURE, "dog")])
    queue = waiting(pets, [UNSURE, UNSURE, UNSURE], prefix="q")

    with django_capture_on_commit_callbacks(execute=True):
        run = model_retrain(project_id=pets.pk)

    # A retrain's worth (2) goes back; the third waits, scored by the new version.
    states = [Item.objects.get(pk=item.pk).state for item in unsure]
    assert sorted(states) == ["auto_labeled", "waiting", "waiting"]
    left = Item.objects.get(pk=unsure[states.index("auto_labeled")].pk)
    assert left.model_version == run.model_version.name
    assert left.final_confidence < pets.confidence_threshold
    assert auto_labels_due_back(project=pets) == 0  # people still have 5 items to do

    Item.objects.filter(pk__in=[item.pk for item in queue]).update(state=Item.State.CONSENSUS)
    HIT.objects.filter(item__in=queue).update(state=HIT.State.DONE)
    Item.objects.filter(pk__in=[item.pk for item in unsure], state="waiting").update(
        state=Item.State.CONSENSUS
    )
    HIT.objects.filter(item__in=unsure, state=HIT.State.OPEN).update(state=HIT.State.DONE)

    # People ran out of work: the rest goes to them.
    assert auto_labels_due_back(project=pets) == 1
    left.refresh_from_db()
    assert left.state == Item.State.WAITING and HIT.objects.get(item=left).state == HIT.State.OPEN


def test_a_rescore_job_of_a_replaced_version_scores_with_the_active_one(pets, worker):
    from apps.models.services.scoring import rescore_run

    labeled(pets, 100, worker)
    (sure,) = waiting(pets, [text_of("cat", 980)])
    first = model_retrain(project_id=pets.pk, trigger="manual")
    labeled(pets, 40, worker, start=100)
    second = model_retrain(project_id=pets.pk, trigger="manual")
    assert second.status == "promoted"

    run = rescore_run(model_version_id=first.model_version.pk)  # its job ran late

    assert run.model_version == second.model_version and run.status == "finished"
    sure.refresh_from_db()
    assert (sure.state, sure.model_version) == ("auto_labeled", second.model_version.name)
    assert rescore_run(model_version_id=second.model_version.pk).auto_labeled == 1  # no twice
