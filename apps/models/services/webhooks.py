"""Webhooks: the final label of a predicted item, POSTed to the project's callback URL.

Body: JSON {"event", "project_id", "item_id", "external_id", "label", "label_source",
"confidence", "created_at"}. Headers: `X-HITLCrowd-Signature: sha256=<hex>`, the HMAC-SHA256 of
the raw body with the project's callback_secret, and `X-HITLCrowd-Timestamp` (unix seconds of
this attempt). A non-2xx answer or a network error is retried with a growing delay through a
django-q2 ONCE schedule; attempts and the last status are kept on the WebhookDelivery row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.models.models import Prediction, WebhookDelivery
from apps.models.services.common import WEBHOOK_JOB
from apps.tasks.models import Item

MAX_ATTEMPTS = 8
FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
TIMEOUT_SECONDS = 10
FINAL_STATES = (Item.State.CONSENSUS, Item.State.RESOLVED)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(attempts: int) -> timedelta:
    """Delay before the next attempt after `attempts` failures: 30 s, 1 min, 2 min, ... 1 h."""
    return min(FIRST_DELAY * 2 ** max(attempts - 1, 0), MAX_DELAY)


def webhooks_queue_due(*, project_id: int) -> int:
    """One delivery per predicted item that reached a final label; queued once."""
    owed = Prediction.objects.filter(
        project_id=project_id, webhook_queued_at__isnull=True, item__state__in=FINAL_STATES
    ).select_related("item", "project")
    queued = []
    with transaction.atomic():
        for prediction in owed.select_for_update(skip_locked=True, of=("self",)):
            delivery = _delivery_create(prediction)
            if delivery is not None:
                queued.append(delivery.pk)
        for delivery_id in queued:
            transaction.on_commit(lambda d=delivery_id: _enqueue(d))
    return len(queued)


def _delivery_create(prediction: Prediction) -> WebhookDelivery | None:
    now = timezone.now()
    Prediction.objects.filter(pk=prediction.pk).update(webhook_queued_at=now)
    project, item = prediction.project, prediction.item
    if not project.callback_url:
        return None
    body = {
        "event": "item.labeled",
        "project_id": project.pk,
        "item_id": item.pk,
        "external_id": item.external_id,
        "label": item.final_label,
        "label_source": item.label_source,
        "confidence": item.final_confidence,
        "created_at": now.isoformat(),
    }
    return WebhookDelivery.objects.create(
        project=project,
        item=item,
        url=project.callback_url,
        body=json.dumps(body, separators=(",", ":"), sort_keys=True),
    )


def _enqueue(delivery_id: int) -> None:
    from django_q.tasks import async_task

    async_task(WEBHOOK_JOB, delivery_id, q_options={"group": "webhooks"})


def webhook_deliver(*, delivery_id: int) -> WebhookDelivery:
    """One attempt. On failure, schedules the next one (or gives up after MAX_ATTEMPTS)."""
    delivery = WebhookDelivery.objects.select_related("project").get(pk=delivery_id)
    if delivery.status != WebhookDelivery.Status.PENDING:
        return delivery  # delivered already: a duplicate run sends nothing
    code, error = _post(delivery)
    delivery.attempts += 1
    delivery.last_status_code = code
    delivery.last_error = error
    now = timezone.now()
    if error == "":
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    delivery.save()
    if delivery.next_attempt_at is not None:
        _schedule_retry(delivery)
    return delivery


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    if not delivery.url.startswith(("http://", "https://")):
        return None, "Only http(s) callback URLs are called."
    body = delivery.body.encode()
    request = urllib.request.Request(
        delivery.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "HITLCrowd-Webhook/1",
            "X-HITLCrowd-Signature": signature(delivery.project.callback_secret, body),
            "X-HITLCrowd-Timestamp": str(int(time.time())),
            "X-HITLCrowd-Delivery": str(delivery.pk),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:2000]


def _schedule_retry(delivery: WebhookDelivery) -> None:
    from django_q.models import Schedule
    from django_q.tasks import schedule

    schedule(
        WEBHOOK_JOB,
        delivery.pk,
        name=f"webhook-{delivery.pk}-attempt-{delivery.attempts + 1}",
        schedule_type=Schedule.ONCE,
        next_run=delivery.next_attempt_at,
        repeats=1,
    )
