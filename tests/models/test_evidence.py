"""Auto-labels at the accuracy asked for: a version needs evidence to be promoted, the import's
model is the incumbent with its audited record, and the threshold comes from that record."""

from __future__ import annotations

import io
import json

from apps.models.models import ItemFlag, ModelVersion, TrainingRun
from apps.models.selectors import audit_verdicts, auto_label_threshold
from apps.models.services.audits import evidence_refresh, import_record_of
from apps.models.services.training import model_retrain
from apps.tasks.models import HIT, Item
from apps.tasks.services.batches import batch_import
from tests import factories
from tests.helpers.pets import labeled, text_of


def upload(project, rows: list[dict], key: str, model: str = "their-model-7"):
    body = "".join(json.dumps(row) + "\n" for row in rows).encode()
    return batch_import(
        project=project,
        user=project.owner,
        stream=io.BytesIO(body),
        fmt="jsonl",
        idempotency_key=key,
        model_version=model,
    ).batch


def predicted(n: int, prefix: str, confidence: float = 0.99) -> list[dict]:
    return [
        {
            "external_id": f"{prefix}{i}",
            "payload": {"text": text_of("cat", 500 + i)},
            "prediction": "cat",
            "confidence": confidence,
        }
        for i in range(n)
    ]


def people_label(items, label_of) -> None:
    for item in items:
        Item.objects.filter(pk=item.pk).update(
            state=Item.State.CONSENSUS,
            label_source=Item.Source.CROWD,
            final_label=label_of(item),
        )


def test_a_first_version_judged_on_ten_held_out_items_is_not_promoted(pets, worker):
    labeled(pets, 50, worker)  # 20% held out: 10 items, as in the digits run

    run = model_retrain(project_id=pets.pk)

    assert run.status == TrainingRun.Status.KEPT_OLD and "too little evidence" in run.detail
    assert not ModelVersion.objects.filter(project=pets, is_active=True).exists()
    version = run.model_version
    assert version.evidence_n == 10 and version.accuracy_low is not None


def test_with_an_accuracy_target_the_imports_model_auto_labels_nothing_until_audited(pets):
    pets.auto_label_accuracy = 0.95
    pets.save()

    batch = upload(pets, predicted(100, "a"), key="first")

    assert batch.auto_labeled_count == 0 and batch.sent_to_people_count == 100
    record = import_record_of(pets)
    assert record.source == ModelVersion.Source.IMPORT and record.name == "their-model-7"
    flags = ItemFlag.objects.filter(project=pets, kind=ItemFlag.Kind.AUDIT)
    # Enough audits for the target's bound (52 correct), with a margin: 78 of 100.
    assert 60 <= flags.count() <= 95
    assert set(flags.values_list("model_version", flat=True)) == {record.pk}
    assert auto_label_threshold(project=pets, source="import") is None


def test_the_imports_audited_record_gives_its_threshold_and_later_imports_use_it(pets):
    pets.auto_label_accuracy = 0.95
    pets.save()
    upload(pets, predicted(100, "a"), key="first")
    audited = Item.objects.filter(
        pk__in=ItemFlag.objects.filter(kind=ItemFlag.Kind.AUDIT).values("item_id")
    )
    people_label(audited, lambda item: "cat")

    evidence_refresh(project=pets)

    record = import_record_of(pets)
    assert record.evidence_n == audited.count() and record.evidence_correct == record.evidence_n
    assert record.accuracy_low >= 0.95
    assert auto_label_threshold(project=pets, source="import") == 0.99
    second = upload(pets, predicted(10, "b") + predicted(5, "c", confidence=0.9), key="second")
    assert second.auto_labeled_count == 10 and second.sent_to_people_count == 5


def test_a_wrong_imports_model_earns_no_threshold(pets):
    pets.auto_label_accuracy = 0.95
    pets.save()
    upload(pets, predicted(100, "a"), key="first")
    audited = list(
        Item.objects.filter(
            pk__in=ItemFlag.objects.filter(kind=ItemFlag.Kind.AUDIT).values("item_id")
        )
    )
    people_label(audited, lambda item: "dog" if item.pk % 5 == 0 else "cat")  # ~80% right

    evidence_refresh(project=pets)

    assert auto_label_threshold(project=pets, source="import") is None
    assert len(audit_verdicts(project=pets)) == len(audited)


def test_audited_items_never_train_a_version(pets, worker):
    items = labeled(pets, 100, worker)
    ItemFlag.objects.bulk_create(
        ItemFlag(item=item, project=pets, kind=ItemFlag.Kind.AUDIT, model_label="cat")
        for item in items[:30]
    )

    run = model_retrain(project_id=pets.pk)

    version = run.model_version
    assert version.n_train + version.n_holdout == 70
    # Judged on its 14 held-out items and the 30 audited ones.
    assert version.evidence_n == 44


def test_a_version_must_beat_the_imports_record_with_its_lower_bound(pets, worker):
    record = factories.ModelVersionFactory(project=pets, imported=True, external_name="theirs")
    audited = labeled(pets, 60, worker, start=200)
    ItemFlag.objects.bulk_create(
        ItemFlag(
            item=item,
            project=pets,
            kind=ItemFlag.Kind.AUDIT,
            model_version=record,
            model_label=item.truth,  # the import's model was right on every one
            confidence=0.99,
        )
        for item in audited
    )
    labeled(pets, 100, worker)

    run = model_retrain(project_id=pets.pk)

    assert run.status == TrainingRun.Status.KEPT_OLD, run.detail
    assert "not better" in run.detail and "theirs 1.0000" in run.detail


def auto_labeled(project, confidences: list[float]) -> list[Item]:
    return [
        factories.ItemFactory(
            project=project,
            external_id=f"auto{i}",
            payload={"text": text_of("cat", 700 + i)},
            state=Item.State.AUTO_LABELED,
            label_source=Item.Source.MODEL,
            final_label="cat",
            final_confidence=c,
        )
        for i, c in enumerate(confidences)
    ]


def test_the_project_api_takes_the_accuracy_and_shows_the_threshold_in_force(
    pets, requester, api_client_for
):
    client = api_client_for(requester)
    url = f"/api/v1/projects/{pets.pk}/"

    before = client.get(url).json()
    assert before["auto_label_accuracy"] is None and before["auto_label_threshold"] == 0.6
    response = client.patch(url, {"auto_label_accuracy": 0.97}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["auto_label_accuracy"] == 0.97 and body["auto_label_threshold"] is None
    bad = client.patch(url, {"auto_label_accuracy": 1.5}, format="json")
    assert bad.status_code == 400 and "auto_label_accuracy" in bad.json()["errors"]


def test_the_preview_says_how_many_auto_labels_a_higher_setting_sends_back(
    pets, requester, api_client_for
):
    auto_labeled(pets, [0.92, 0.96, 0.99])
    client = api_client_for(requester)
    url = f"/api/v1/projects/{pets.pk}/auto-label-preview"

    by_threshold = client.get(url, {"confidence_threshold": 0.95}).json()
    by_accuracy = client.get(url, {"auto_label_accuracy": 0.99}).json()

    assert by_threshold["threshold"] == 0.95 and by_threshold["reopened"] == 1
    # No record proves 0.99: no threshold, every auto-label would go back.
    assert by_accuracy["threshold"] is None and by_accuracy["reopened"] == 3
    assert client.get(url, {"auto_label_accuracy": "x"}).status_code == 400
    assert api_client_for(None).get(url).status_code == 401


def test_the_incumbents_record_is_in_the_api(pets, requester, other_requester, api_client_for):
    url = f"/api/v1/projects/{pets.pk}/models/incumbent"
    assert api_client_for(requester).get(url).status_code == 409
    factories.ModelVersionFactory(
        project=pets,
        imported=True,
        external_name="theirs",
        evidence_n=80,
        evidence_correct=76,
        accuracy_low=0.89,
    )

    body = api_client_for(requester).get(url).json()

    assert body["name"] == "theirs" and body["source"] == "import"
    assert (body["evidence_n"], body["evidence_accuracy"], body["accuracy_low"]) == (80, 0.95, 0.89)
    assert api_client_for(other_requester).get(url).status_code == 404


def test_raising_the_threshold_sends_the_auto_labels_below_it_back_to_people(
    pets, requester, api_client_for
):
    low, middle, high = auto_labeled(pets, [0.92, 0.96, 0.99])
    factories.HITFactory(item=low, answers_wanted=1, state=HIT.State.CANCELLED)
    client = api_client_for(requester)

    response = client.patch(f"/api/v1/projects/{pets.pk}/", {"confidence_threshold": 0.95})

    assert response.status_code == 200 and response.json()["auto_labels_reopened"] == 1
    low.refresh_from_db()
    assert (low.state, low.final_label, low.label_source) == (Item.State.WAITING, "", "")
    hit = HIT.objects.get(item=low)
    assert (hit.state, hit.answers_wanted) == (HIT.State.OPEN, pets.min_overlap)
    assert Item.objects.filter(state=Item.State.AUTO_LABELED).count() == 2
    # An accuracy no record proves yet: every auto-label goes back, each on a HIT.
    body = client.patch(f"/api/v1/projects/{pets.pk}/", {"auto_label_accuracy": 0.99}).json()
    assert body["auto_labels_reopened"] == 2
    assert HIT.objects.filter(item__in=[middle, high], state=HIT.State.OPEN).count() == 2


def test_the_page_says_how_many_go_back_before_saving(pets, requester, client):
    auto_labeled(pets, [0.92, 0.96, 0.99])
    client.force_login(requester)
    url = f"/requester/projects/{pets.pk}/threshold/"

    asked = client.post(url, {"mode": "threshold", "confidence_threshold": "0.97"})

    assert asked.status_code == 200 and "sends <strong>2</strong>" in asked.content.decode()
    pets.refresh_from_db()
    assert pets.confidence_threshold == 0.6
    done = client.post(url, {"mode": "threshold", "confidence_threshold": "0.97", "confirm": "on"})
    assert done.status_code == 302
    assert Item.objects.filter(state=Item.State.WAITING).count() == 2
