"""Users in the loop, suspected label errors and pre-annotation."""

from __future__ import annotations

from apps.models.models import Feedback, ItemFlag, LearningSettings
from apps.models.services.training import model_retrain, training_set_collect
from apps.tasks.models import HIT, Answer, Assignment, Item
from apps.tasks.selectors.assignments import task_for_worker
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.submit import assignment_submit
from tests.helpers.pets import labeled, waiting


def feedback(client, item, body):
    url = f"/api/v1/projects/{item.project_id}/items/{item.pk}/feedback"
    return client.post(url, body, format="json")


def test_a_correction_becomes_a_user_label_that_training_uses(pets, requester, api_client_for):
    (item,) = waiting(pets, ["meow purr"])
    Item.objects.filter(pk=item.pk).update(prediction="dog", confidence=0.55)

    response = feedback(api_client_for(requester), item, {"label": "cat", "accepted": False})
    again = feedback(api_client_for(requester), item, {"label": "cat", "accepted": False})

    assert response.status_code == 201, response.json()
    assert again.status_code == 201 and again.json()["id"] == response.json()["id"]
    item.refresh_from_db()
    assert (item.final_label, item.label_source, item.state) == ("cat", "user", "resolved")
    assert HIT.objects.get(item=item).state == HIT.State.DONE
    assert Feedback.objects.get().model_label == "dog"
    data = training_set_collect(project=pets)
    assert data.sources[data.item_ids.index(item.pk)] == "user"


def test_accepting_a_label_the_model_did_not_give_is_refused(pets, requester, api_client_for):
    (item,) = waiting(pets, ["meow"])
    Item.objects.filter(pk=item.pk).update(prediction="dog")
    response = feedback(api_client_for(requester), item, {"label": "cat", "accepted": True})
    assert response.status_code == 400 and "accepted" in response.json()["errors"]
    response = feedback(api_client_for(requester), item, {"label": "cow", "accepted": False})
    assert response.status_code == 400 and "label" in response.json()["errors"]
    assert not Feedback.objects.exists()


def test_consensus_the_model_confidently_contradicts_goes_to_review(pets, worker):
    LearningSettings.objects.filter(project=pets).update(suspected_error_threshold=0.6)
    items = labeled(pets, 100, worker, flip={7})

    run = model_retrain(project_id=pets.pk)

    wrong = Item.objects.get(pk=items[7].pk)
    assert wrong.state == Item.State.NEEDS_REVIEW
    assert wrong.review_reason == Item.ReviewReason.SUSPECTED_ERROR
    flag = ItemFlag.objects.get(item=wrong, kind=ItemFlag.Kind.SUSPECTED_ERROR)
    assert flag.given_label == wrong.final_label and flag.model_label == items[7].truth
    assert flag.model_version == run.model_version and "out of fold" in flag.reason
    flagged = ItemFlag.objects.filter(kind=ItemFlag.Kind.SUSPECTED_ERROR).count()
    assert flagged <= 3  # the clean ones stay put


def test_pre_annotation_is_off_by_default_and_answers_record_when_shown(pets, worker, other_worker):
    (item,) = waiting(pets, ["meow purr"])
    Item.objects.filter(pk=item.pk).update(prediction="cat", confidence=0.7)

    first = assignment_claim(worker=worker, project=pets)
    assert "suggestion" not in task_for_worker(assignment=first)
    assignment_submit(worker=worker, assignment_id=first.pk, label="cat", seconds_spent=2)

    LearningSettings.objects.filter(project=pets).update(pre_annotation=True)
    second = assignment_claim(worker=other_worker, project=pets)
    assert task_for_worker(assignment=second)["suggestion"] == {"label": "cat", "confidence": 0.7}
    assignment_submit(worker=other_worker, assignment_id=second.pk, label="cat", seconds_spent=2)

    shown = dict(Answer.objects.values_list("worker__username", "suggestion_shown"))
    assert shown == {"worker": False, "other-worker": True}


def test_an_answer_records_no_suggestion_when_pre_annotation_came_on_after_the_hand_out(
    pets, worker
):
    (item,) = waiting(pets, ["meow purr"])
    Item.objects.filter(pk=item.pk).update(prediction="cat", confidence=0.7)
    lease = assignment_claim(worker=worker, project=pets)

    LearningSettings.objects.filter(project=pets).update(pre_annotation=True)
    again = assignment_claim(worker=worker, project=pets)  # the page reloaded: the same lease
    answer = assignment_submit(worker=worker, assignment_id=lease.pk, label="cat", seconds_spent=2)

    assert again.pk == lease.pk and "suggestion" not in task_for_worker(assignment=again)
    assert answer.suggestion_shown is False
    assert Answer.objects.get(pk=answer.pk).suggestion_shown is False


def test_an_answer_records_the_suggestion_shown_when_pre_annotation_went_off_after(pets, worker):
    LearningSettings.objects.filter(project=pets).update(pre_annotation=True)
    (item,) = waiting(pets, ["meow purr"])
    Item.objects.filter(pk=item.pk).update(prediction="cat", confidence=0.7)
    lease = assignment_claim(worker=worker, project=pets)

    LearningSettings.objects.filter(project=pets).update(pre_annotation=False)
    again = assignment_claim(worker=worker, project=pets)
    answer = assignment_submit(worker=worker, assignment_id=lease.pk, label="cat", seconds_spent=2)

    assert task_for_worker(assignment=again)["suggestion"] == {"label": "cat", "confidence": 0.7}
    assert Answer.objects.get(pk=answer.pk).suggestion_shown is True


def test_the_next_task_endpoint_records_the_suggestion_it_shows(pets, worker, api_client_for):
    LearningSettings.objects.filter(project=pets).update(pre_annotation=True)
    (item,) = waiting(pets, ["meow purr"])
    Item.objects.filter(pk=item.pk).update(prediction="dog", confidence=0.6)

    response = api_client_for(worker).post("/api/v1/work/next/", {"project": pets.pk})

    assert response.status_code == 200, response.content
    assert response.json()["suggestion"] == {"label": "dog", "confidence": 0.6}
    lease = Assignment.objects.get(pk=response.json()["assignment_id"])
    assert (lease.pre_annotated, lease.suggestion_shown) == (True, True)


def test_audit_items_never_show_the_suggestion(pets, worker):
    LearningSettings.objects.filter(project=pets).update(pre_annotation=True)
    (item,) = waiting(pets, ["meow purr"])
    Item.objects.filter(pk=item.pk).update(
        prediction="cat", confidence=0.99, state=Item.State.AUTO_LABELED, label_source="model"
    )
    assignment = assignment_claim(worker=worker, project=pets)
    assert task_for_worker(assignment=assignment)["suggestion"] is None


def test_with_pre_annotation_on_a_gold_task_has_the_same_keys_as_a_real_one(pets, worker):
    LearningSettings.objects.filter(project=pets).update(pre_annotation=True)
    pets.gold_share = 1.0  # gold first (drawn with this share), then the real task
    pets.save()
    real, gold = waiting(pets, ["meow purr", "woof"])
    Item.objects.filter(pk=real.pk).update(prediction="cat", confidence=0.7)
    Item.objects.filter(pk=gold.pk).update(is_gold=True, gold_label="dog")
    HIT.objects.filter(item=gold).update(is_gold=True)

    tasks = {}
    for _ in range(2):
        assignment = assignment_claim(worker=worker, project=pets)
        tasks[assignment.hit.item_id] = task_for_worker(assignment=assignment)
        assignment_submit(worker=worker, assignment_id=assignment.pk, label="cat", seconds_spent=1)

    assert set(tasks) == {real.pk, gold.pk}
    assert tasks[real.pk].keys() == tasks[gold.pk].keys()
    assert tasks[real.pk]["suggestion"] == {"label": "cat", "confidence": 0.7}
