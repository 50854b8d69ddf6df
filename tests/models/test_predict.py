"""POST /api/v1/projects/{id}/predict: the model's answer when sure, people otherwise; the
final label by signed webhook, retried by django-q2 until the receiver takes it."""

from __future__ import annotations

import json
import threading
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django_q.models import Schedule

from apps.models.jobs import webhook_deliver_job
from apps.models.models import Prediction, WebhookDelivery
from apps.models.services.training import model_retrain
from apps.models.services.webhooks import backoff
from apps.tasks.models import HIT, Item
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.submit import assignment_submit
from tests import factories
from tests.helpers.pets import labeled, text_of
from tests.models.webhook_helpers import readme_verify


def predict(client, project, body):
    return client.post(f"/api/v1/projects/{project.pk}/predict", body, format="json")


@pytest.fixture
def trained(pets, worker):
    labeled(pets, 100, worker)
    model_retrain(project_id=pets.pk)
    return pets


def test_a_confident_prediction_is_answered_at_once_and_stored(trained, requester, api_client_for):
    client = api_client_for(requester)
    body = {"external_id": "q1", "payload": {"text": text_of("dog", 500)}}

    first = predict(client, trained, body)
    again = predict(client, trained, body)

    assert first.status_code == 200, first.json()
    assert first.json()["label"] == "dog" and first.json()["confidence"] >= 0.6
    assert first.json()["model_version"] == f"p{trained.pk}-v1"
    assert again.status_code == 200 and again.json() == first.json()
    item = Item.objects.get(project=trained, external_id="q1")
    assert item.state == Item.State.AUTO_LABELED and item.label_source == Item.Source.MODEL
    assert not HIT.objects.filter(item=item).exists()


def test_an_unsure_prediction_goes_to_people_with_an_item_to_poll(
    trained, requester, api_client_for
):
    trained.confidence_threshold = 0.99  # above any confidence on words never seen
    trained.save()
    client = api_client_for(requester)
    response = predict(client, trained, {"payload": {"text": "zebra quantum"}})

    assert response.status_code == 202, response.json()
    item = Item.objects.get(pk=response.json()["item_id"])
    assert item.state == Item.State.WAITING and item.prediction and item.confidence < 0.99
    assert HIT.objects.get(item=item).state == HIT.State.OPEN
    poll = client.get(response.json()["poll_url"])
    assert poll.status_code == 200 and poll.json()["id"] == item.pk


def test_without_an_active_model_every_item_goes_to_people(pets, requester, api_client_for):
    response = predict(api_client_for(requester), pets, {"payload": {"text": "meow purr"}})
    assert response.status_code == 202
    assert Item.objects.get(pk=response.json()["item_id"]).prediction == ""


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"payload": {"text": ""}}, "text"),
        ({"payload": "just a string"}, "payload"),
        ({}, "payload"),
        ({"external_id": "", "payload": {"text": "x"}}, "external_id"),
    ],
)
def test_a_bad_item_is_a_400_naming_the_field(pets, requester, api_client_for, body, field):
    response = predict(api_client_for(requester), pets, body)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Item.objects.filter(project=pets).exists()


def test_the_same_external_id_with_another_payload_is_a_conflict(pets, requester, api_client_for):
    client = api_client_for(requester)
    predict(client, pets, {"external_id": "z", "payload": {"text": "one"}})
    response = predict(client, pets, {"external_id": "z", "payload": {"text": "two"}})
    assert response.status_code == 409 and response.json()["code"] == "external_id_conflict"
    assert Item.objects.filter(project=pets).count() == 1


class Receiver(BaseHTTPRequestHandler):
    statuses: list[int] = []
    received: list[tuple[Message, bytes]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.headers, body))  # case-insensitive
        self.send_response(self.statuses.pop(0) if self.statuses else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]  # an on-premise receiver, allowed
    Receiver.statuses, Receiver.received = [500], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", Receiver
    server.shutdown()
    server.server_close()


def test_consensus_on_a_predicted_item_is_posted_signed_and_retried_until_taken(
    pets,
    requester,
    worker,
    other_worker,
    api_client_for,
    receiver,
    sync_q,
    django_capture_on_commit_callbacks,
):
    url, server = receiver
    pets.callback_url = url
    pets.save()
    response = predict(api_client_for(requester), pets, {"payload": {"text": "meow"}})
    item_id = response.json()["item_id"]
    assert Prediction.objects.filter(item_id=item_id).exists()

    for person in (worker, other_worker):  # min_overlap 2: two agreeing answers decide
        assignment = assignment_claim(worker=person, project=pets)
        with django_capture_on_commit_callbacks(execute=True):
            assignment_submit(
                worker=person, assignment_id=assignment.pk, label="cat", seconds_spent=2
            )

    delivery = WebhookDelivery.objects.get(item_id=item_id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    retry = Schedule.objects.get(func="apps.models.jobs.webhook_deliver_job")
    assert retry.schedule_type == Schedule.ONCE and retry.next_run > delivery.created_at
    assert (delivery.next_attempt_at - delivery.created_at) >= backoff(1) * 0.9

    webhook_deliver_job(*json_args(retry))  # what the scheduler runs at next_run

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        "delivered",
        2,
        200,
    )
    headers, body = server.received[-1]
    assert readme_verify()(pets.callback_secret, headers["X-Hitlcrowd-Signature"], body)
    assert headers["X-Hitlcrowd-Signature"].startswith(f"t={headers['X-HITLCrowd-Timestamp']},")
    payload = json.loads(body)
    assert payload["item_id"] == item_id and payload["label"] == "cat"
    assert len(server.received) == 2
    webhook_deliver_job(delivery.pk)  # a duplicate run sends nothing
    assert len(server.received) == 2


def json_args(schedule: Schedule) -> tuple:
    import ast

    return ast.literal_eval(schedule.args)


def test_a_receiver_that_never_answers_ok_is_given_up_after_the_last_attempt(
    pets, receiver, sync_q
):
    from apps.models.services import webhooks

    url, server = receiver
    server.statuses = [500] * 20
    delivery = factories.WebhookDeliveryFactory(
        item__project=pets, item__state=Item.State.CONSENSUS, url=url
    )
    for _ in range(webhooks.MAX_ATTEMPTS):
        webhook_deliver_job(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempts == webhooks.MAX_ATTEMPTS
    retries = Schedule.objects.filter(func="apps.models.jobs.webhook_deliver_job")
    assert retries.count() == webhooks.MAX_ATTEMPTS - 1
