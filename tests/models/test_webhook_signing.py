"""Callbacks sign the timestamp with the body, delivery records cannot be edited in the admin,
and a label corrected after its callback is sent again (audit finding 12).

The receiver's check is the README's own snippet, run from README.md, so the documentation
stays true."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from apps.models.jobs import webhook_deliver_job
from apps.models.models import Feedback, Prediction, WebhookDelivery
from apps.tasks.models import Item
from tests.models.webhook_helpers import readme_verify, receiver


@pytest.fixture
def local(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with receiver() as (port, server):
        yield f"http://127.0.0.1:{port}/hook", server


def consensus_item(pets, url: str) -> Item:
    pets.callback_url = url
    pets.save()
    item = Item.objects.create(
        project=pets,
        external_id="q1",
        payload={"text": "meow"},
        prediction="dog",
        state=Item.State.CONSENSUS,
        final_label="cat",
        label_source=Item.Source.CROWD,
    )
    Prediction.objects.create(item=item, project=pets)
    return item


def bodies(server) -> list[dict]:
    return [json.loads(body) for _, _, _, body in server.received]


def test_the_signature_covers_the_timestamp_so_a_replay_is_refused(
    pets, local, sync_q, monkeypatch, django_capture_on_commit_callbacks
):
    from apps.models.services.webhooks import webhooks_queue_due

    url, server = local
    consensus_item(pets, url)
    with django_capture_on_commit_callbacks(execute=True):
        webhooks_queue_due(project_id=pets.pk)
    _, _, headers, body = server.received[0]
    header = headers["X-HITLCrowd-Signature"]
    verify = readme_verify()

    assert verify(pets.callback_secret, header, body)
    t = int(headers["X-HITLCrowd-Timestamp"])
    assert header.startswith(f"t={t},v1=")
    assert not verify("another project's secret", header, body)
    assert not verify(pets.callback_secret, header, body.replace(b"cat", b"dog"))
    # A captured delivery later: its own timestamp is too old, and a fresh one breaks v1.
    monkeypatch.setattr(time, "time", lambda: t + 600)
    assert not verify(pets.callback_secret, header, body)
    fresh = header.replace(f"t={t},", f"t={t + 600},")
    assert not verify(pets.callback_secret, fresh, body)


def test_a_correction_by_feedback_sends_the_corrected_label_again(
    pets, requester, local, api_client_for, sync_q, django_capture_on_commit_callbacks
):
    url, server = local
    item = consensus_item(pets, url)
    from apps.models.services.webhooks import webhooks_queue_due

    with django_capture_on_commit_callbacks(execute=True):
        webhooks_queue_due(project_id=pets.pk)
    client = api_client_for(requester)
    feedback_url = f"/api/v1/projects/{pets.pk}/items/{item.pk}/feedback"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(feedback_url, {"label": "dog", "accepted": True}, format="json")
    assert response.status_code == 201, response.json()

    sent = bodies(server)
    assert [(b["event"], b["label"], b["previous_label"]) for b in sent] == [
        ("item.labeled", "cat", None),
        ("item.relabeled", "dog", "cat"),
    ]
    assert sent[1]["label_source"] == "user" and sent[1]["delivery_id"] != sent[0]["delivery_id"]
    _, _, headers, body = server.received[1]
    assert readme_verify()(pets.callback_secret, headers["X-HITLCrowd-Signature"], body)

    with django_capture_on_commit_callbacks(execute=True):  # the same feedback again
        client.post(feedback_url, {"label": "dog", "accepted": True}, format="json")
    assert len(server.received) == 2
    assert Feedback.objects.filter(item=item).count() == 1


def test_a_newer_label_supersedes_a_pending_older_delivery(
    pets, requester, local, api_client_for, sync_q, django_capture_on_commit_callbacks
):
    url, server = local
    server.status = 503
    item = consensus_item(pets, url)
    from apps.models.services.webhooks import webhooks_queue_due

    with django_capture_on_commit_callbacks(execute=True):
        webhooks_queue_due(project_id=pets.pk)
    first = WebhookDelivery.objects.get(item=item)
    assert first.status == "pending" and first.attempts == 1

    server.status = 200
    feedback_url = f"/api/v1/projects/{pets.pk}/items/{item.pk}/feedback"
    with django_capture_on_commit_callbacks(execute=True):
        api_client_for(requester).post(
            feedback_url, {"label": "dog", "accepted": True}, format="json"
        )
    webhook_deliver_job(first.pk)  # its scheduled retry fires later: nothing is sent

    first.refresh_from_db()
    assert first.status == "superseded"
    assert [b["label"] for b in bodies(server)] == ["cat", "dog"]


# --- The admin ----------------------------------------------------------------------------------


@pytest.fixture
def staff(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize("model", ["webhookdelivery", "feedback"])
def test_delivery_and_feedback_records_are_read_only_in_the_admin(staff, pets, requester, model):
    item = consensus_item(pets, "https://hooks.example.com/")
    delivery = WebhookDelivery.objects.create(project=pets, item=item, url=pets.callback_url)
    feedback = Feedback.objects.create(
        item=item, project=pets, user=requester, label="cat", accepted=False
    )
    row = delivery if model == "webhookdelivery" else feedback
    base = f"/admin/mlmodels/{model}/"

    assert staff.get(base).status_code == 200
    assert staff.get(f"{base}{row.pk}/change/").status_code == 200  # viewable
    assert staff.get(f"{base}add/").status_code == 403
    edited = staff.post(f"{base}{row.pk}/change/", {"body": '{"label":"evil"}', "label": "dog"})
    assert edited.status_code == 403
    assert staff.post(f"{base}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    delivery.refresh_from_db()
    feedback.refresh_from_db()
    assert (delivery.body, feedback.label) == ("", "cat")


def test_an_admin_resolution_after_the_callback_sends_the_new_label(
    pets, admin_user, local, sync_q, django_capture_on_commit_callbacks
):
    from apps.models.services.webhooks import webhooks_queue_due
    from apps.tasks.services.items import item_resolve

    url, server = local
    item = consensus_item(pets, url)
    with django_capture_on_commit_callbacks(execute=True):
        webhooks_queue_due(project_id=pets.pk)
    with django_capture_on_commit_callbacks(execute=True):
        item_resolve(item_id=item.pk, label="dog", by=admin_user)

    assert [(b["event"], b["label"], b["label_source"]) for b in bodies(server)] == [
        ("item.labeled", "cat", "crowd"),
        ("item.relabeled", "dog", "admin"),
    ]


def test_only_changed_items_are_compared_and_an_unchanged_label_is_not_sent_again(
    pets, local, sync_q, django_capture_on_commit_callbacks
):
    from apps.models.services.webhooks import webhooks_queue_due

    url, server = local
    item = consensus_item(pets, url)
    with django_capture_on_commit_callbacks(execute=True):
        webhooks_queue_due(project_id=pets.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks_queue_due(project_id=pets.pk, changed_item_ids=[item.pk]) == 0

    Item.objects.filter(pk=item.pk).update(final_label="dog")  # as a consensus run writes it
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks_queue_due(project_id=pets.pk) == 0  # not named as changed
        assert webhooks_queue_due(project_id=pets.pk, changed_item_ids=[item.pk]) == 1
    assert [b["label"] for b in bodies(server)] == ["cat", "dog"]
