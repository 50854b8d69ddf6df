"""The sender checks the address it connects to, follows no redirect, gives up on a slow
receiver within WEBHOOK_TIMEOUT_SECONDS, and keeps at most WEBHOOK_MAX_CONCURRENT deliveries in
flight (audit finding 3). Real HTTP servers on 127.0.0.1, let through by the allow-list."""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.models.jobs import webhook_deliver_job, webhooks_sweep_job
from apps.models.models import WebhookDelivery, WebhookSlot
from apps.tasks.models import Item
from apps.tasks.services.projects import project_update
from tests import factories
from tests.models.webhook_helpers import FakeDns, receiver

PUBLIC = "93.184.215.14"


@pytest.fixture
def dns(monkeypatch) -> FakeDns:
    fake = FakeDns()
    monkeypatch.setattr(socket, "getaddrinfo", fake.getaddrinfo)
    return fake


def delivery_to(project, url: str, n: int = 0) -> WebhookDelivery:
    return factories.WebhookDeliveryFactory(
        item__project=project, item__external_id=f"x{n}", item__state=Item.State.CONSENSUS, url=url
    )


def test_a_name_that_resolves_elsewhere_at_send_is_refused_and_never_called(
    pets, dns, requester, sync_q
):
    """DNS rebinding: public when the requester saved it, 127.0.0.1 when the job sends."""
    with receiver() as (port, server):
        url = f"http://rebind.example.com:{port}/hook"
        dns.table["rebind.example.com"] = [PUBLIC]
        project_update(project=pets, by=requester, callback_url=url)  # passes the save check
        dns.table["rebind.example.com"] = ["127.0.0.1"]
        delivery = delivery_to(pets, url)

        webhook_deliver_job(delivery.pk)

        delivery.refresh_from_db()
        assert server.received == []
    assert delivery.status == "failed" and delivery.attempts == 1
    assert "not a public address" in delivery.last_error
    assert "rebind.example.com" in dns.lookups


def test_a_url_stored_before_the_rules_is_refused_at_send(pets, sync_q):
    with receiver() as (port, server):
        delivery = delivery_to(pets, f"http://127.0.0.1:{port}/hook")  # no allow-list
        webhook_deliver_job(delivery.pk)
        assert server.received == []
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.last_error.startswith("Refused")


def test_a_redirect_is_a_failed_attempt_and_is_not_followed(pets, settings, sync_q):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1/32"]
    with receiver(status=302) as (port, server):
        server.location = f"http://127.0.0.1:{port}/elsewhere"
        delivery = delivery_to(pets, f"http://127.0.0.1:{port}/hook")
        webhook_deliver_job(delivery.pk)
        requests = [(method, path) for method, path, _, _ in server.received]
    delivery.refresh_from_db()
    assert requests == [("POST", "/hook")]
    assert (delivery.status, delivery.last_status_code) == ("pending", 302)
    assert "redirects are not followed" in delivery.last_error
    assert delivery.next_attempt_at is not None  # retried like any other failure


def test_a_slow_receiver_is_given_up_on_within_the_timeout(pets, settings, sync_q):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    with receiver(delay=4.0) as (port, server):
        delivery = delivery_to(pets, f"http://127.0.0.1:{port}/hook")
        started = time.monotonic()
        webhook_deliver_job(delivery.pk)
        took = time.monotonic() - started
        assert len(server.received) == 1
    delivery.refresh_from_db()
    assert took < 2.0, took
    assert delivery.status == "pending" and delivery.last_error == "No answer within 1 s."


def test_a_receiver_trickling_its_headers_cannot_hold_the_sender(pets, settings, sync_q):
    """The socket timeout restarts with every byte; the sender's deadline does not."""
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        while not stop.is_set():
            try:
                conn.sendall(b"X-Slow: y\r\n")
            except OSError:
                break
            time.sleep(0.2)
        conn.close()

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    delivery = delivery_to(pets, f"http://127.0.0.1:{port}/hook")
    started = time.monotonic()
    webhook_deliver_job(delivery.pk)
    took = time.monotonic() - started
    stop.set()
    listener.close()
    delivery.refresh_from_db()
    assert took < 2.0, took
    assert delivery.status == "pending" and "1 s" in delivery.last_error


# --- The concurrency cap ------------------------------------------------------------------------


def test_a_job_that_finds_the_slot_taken_sends_nothing_and_returns_at_once(pets, settings, sync_q):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_MAX_CONCURRENT = 1
    busy_until = timezone.now() + timedelta(minutes=1)
    WebhookSlot.objects.create(number=1, holder="another sender", held_until=busy_until)
    with receiver() as (port, server):
        delivery = delivery_to(pets, f"http://127.0.0.1:{port}/hook")
        webhook_deliver_job(delivery.pk)
        assert server.received == []
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("pending", 0)

        WebhookSlot.objects.filter(number=1).update(held_until=timezone.now())  # holder died
        assert webhooks_sweep_job() == "1 attempt(s)"
        assert len(server.received) == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered"


@pytest.mark.django_db(transaction=True)
def test_concurrent_jobs_keep_one_delivery_in_flight_and_the_holder_sends_the_rest(
    on_postgres, settings, monkeypatch
):
    """Four jobs start at once against a receiver that takes 0.5 s: one holds the slot and
    sends all four in turn; the other three return at once (their worker is free again)."""
    from django.db import connection
    from django_q.conf import Conf

    from apps.models.models import LearningSettings
    from tests import factories

    monkeypatch.setattr(Conf, "SYNC", True)
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_MAX_CONCURRENT = 1
    owner = factories.RequesterFactory(username="owner")
    project = factories.ProjectFactory(owner=owner, labels=["cat", "dog"])
    LearningSettings.objects.create(project=project)
    with receiver(delay=0.5) as (port, server):
        deliveries = [delivery_to(project, f"http://127.0.0.1:{port}/h", n) for n in range(4)]
        took: dict[int, float] = {}

        def run(delivery_id: int) -> None:
            started = time.monotonic()
            try:
                webhook_deliver_job(delivery_id)
            finally:
                took[delivery_id] = time.monotonic() - started
                connection.close()

        threads = [threading.Thread(target=run, args=(d.pk,)) for d in deliveries]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert server.most_in_flight == 1
        assert len(server.received) == 4
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}
    quick = sorted(took.values())[:3]
    assert max(quick) < 1.5, took  # never waited for a receiver


def test_a_short_q_timeout_keeps_the_holder_to_its_own_delivery(pets, settings):
    """Q_TIMEOUT 10 s and a 5 s attempt leave no time to drain: the job sends its own
    delivery only and queues a sweep job (the ORM broker here, not run inline) for the rest."""
    from django_q.models import OrmQ

    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.Q_TIMEOUT, settings.WEBHOOK_TIMEOUT_SECONDS = 10, 5
    with receiver() as (port, server):
        mine, _other = (delivery_to(pets, f"http://127.0.0.1:{port}/h", n) for n in range(2))
        from apps.models.services import webhooks

        assert webhooks._drain_seconds() == 0
        webhook_deliver_job(mine.pk)
        assert len(server.received) == 1
        assert OrmQ.objects.count() == 1  # the sweep, queued
        assert webhooks_sweep_job() == "1 attempt(s)"
        assert len(server.received) == 2
