"""Webhooks: the final label of a predicted item, POSTed to the project's callback URL, and
again whenever that label changes (a user's feedback, an admin's resolution, a consensus that
changed its mind).

Body: JSON {"event": "item.labeled" | "item.relabeled", "delivery_id", "project_id", "item_id",
"external_id", "label", "previous_label" (the label the last delivery carried, or null),
"label_source", "confidence", "created_at"}. A newer delivery for an item supersedes a pending
older one (never sent after it).

Headers: `X-HITLCrowd-Signature: t=<unix seconds>,v1=<hex>` where v1 is the HMAC-SHA256, keyed
with the project's callback_secret, of `<t>.<raw body>`: the timestamp is signed with the body,
so a captured delivery cannot be replayed later with a fresh timestamp (receivers refuse a `t`
older than a few minutes, and may drop a `delivery_id` they have seen). `X-HITLCrowd-Timestamp`
repeats t and `X-HITLCrowd-Delivery` the delivery id (both for logs; trust the signed values).

A non-2xx answer (a redirect included: none is followed) or a network error is
retried with a growing delay through a django-q2 ONCE schedule; attempts and the last status
are kept on the WebhookDelivery row (read-only in the admin: an edited body would be signed
and sent). A URL that is not public (hitlcrowd/outbound.py) fails the delivery at once, checked
against the address actually connected to.

At most WEBHOOK_MAX_CONCURRENT deliveries are in flight, over all qclusters: a job sends only
while it holds a WebhookSlot, and then keeps sending whatever else is due for up to
DRAIN_SECONDS. A job that finds every slot taken leaves its delivery to the holder and returns
at once, so a slow receiver (each attempt ends within WEBHOOK_TIMEOUT_SECONDS) holds at most
that many workers, and aggregation and retraining keep the others. A holder that dies loses
its slot after `_lease()`; the sweep job (every minute) then picks up what is due.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.models.models import Prediction, WebhookDelivery, WebhookSlot
from apps.models.services.common import WEBHOOK_JOB, WEBHOOK_SWEEP_JOB
from apps.tasks.models import Item
from hitlcrowd import outbound

MAX_ATTEMPTS = 8
FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
# One job sends for at most this long (less if Q_TIMEOUT is short: see `_drain_seconds`), then
# leaves the rest to the next job in the queue.
DRAIN_SECONDS = 60
FINAL_STATES = (Item.State.CONSENSUS, Item.State.RESOLVED)
RELABEL_BY_ID = 500


SIGNATURE_SCHEME = "v1"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-HITLCrowd-Signature value: `t=<timestamp>,v1=<HMAC-SHA256 of "<t>." + body>`."""
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},{SIGNATURE_SCHEME}={digest}"


def backoff(attempts: int) -> timedelta:
    """Delay before the next attempt after `attempts` failures: 30 s, 1 min, 2 min, ... 1 h."""
    return min(FIRST_DELAY * 2 ** max(attempts - 1, 0), MAX_DELAY)


def webhooks_queue_due(*, project_id: int, changed_item_ids: Iterable[int] = ()) -> int:
    """One delivery per predicted item that reached a final label (never sent yet: a partial
    index finds them), and one per changed item whose final label is not the one last sent."""
    first = Prediction.objects.filter(
        project_id=project_id, webhook_queued_at__isnull=True, item__state__in=FINAL_STATES
    )
    queued = []
    with transaction.atomic():
        for prediction in _locked(first):
            queued += _delivery_create(prediction)
        for prediction in _locked(_relabeled(project_id, list(changed_item_ids))):
            queued += _delivery_create(prediction)
        for delivery_id in queued:
            transaction.on_commit(lambda d=delivery_id: _enqueue(d))
    return len(queued)


def _relabeled(project_id: int, changed: list[int]):
    """Predictions already sent whose item's label moved. A few changed items are looked up by
    id; past RELABEL_BY_ID the whole project is compared in one join, which is then cheaper
    (PostgreSQL, 100k predictions, shared 2-core machine: 300 ids ~10 ms, 1,000 ids ~85 ms,
    the join 0.16-0.22 s; 100k ids in IN-lists of 5,000 took 2.7 s)."""
    if not changed:
        return Prediction.objects.none()
    sent = Prediction.objects.filter(
        project_id=project_id, webhook_queued_at__isnull=False, item__state__in=FINAL_STATES
    ).exclude(webhook_label=F("item__final_label"))
    return sent.filter(item_id__in=changed) if len(changed) <= RELABEL_BY_ID else sent


def _locked(predictions):
    return predictions.select_related("item", "project").select_for_update(
        skip_locked=True, of=("self",)
    )


def _delivery_create(prediction: Prediction) -> list[int]:
    """Records the label as sent; returns the new delivery's id ([] without a callback URL)."""
    now = timezone.now()
    project, item = prediction.project, prediction.item
    relabeled = prediction.webhook_queued_at is not None
    Prediction.objects.filter(pk=prediction.pk).update(
        webhook_queued_at=now, webhook_label=item.final_label
    )
    if not project.callback_url:
        return []
    delivery = WebhookDelivery.objects.create(
        project=project, item=item, url=project.callback_url, body=""
    )
    body = {
        "event": "item.relabeled" if relabeled else "item.labeled",
        "delivery_id": delivery.pk,
        "project_id": project.pk,
        "item_id": item.pk,
        "external_id": item.external_id,
        "label": item.final_label,
        "previous_label": prediction.webhook_label if relabeled else None,
        "label_source": item.label_source,
        "confidence": item.final_confidence,
        "created_at": now.isoformat(),
    }
    delivery.body = json.dumps(body, separators=(",", ":"), sort_keys=True)
    delivery.save(update_fields=["body"])
    WebhookDelivery.objects.filter(
        item=item, status=WebhookDelivery.Status.PENDING, pk__lt=delivery.pk
    ).update(
        status=WebhookDelivery.Status.SUPERSEDED,
        next_attempt_at=None,
        last_error=f"Superseded by delivery {delivery.pk}.",
    )
    return [delivery.pk]


def _enqueue(delivery_id: int) -> None:
    from django_q.tasks import async_task

    async_task(WEBHOOK_JOB, delivery_id, q_options={"group": "webhooks"})


def webhook_deliver(*, delivery_id: int) -> WebhookDelivery:
    """The job of one delivery: send it if a slot is free (then whatever else is due), else
    leave it to the slot's holder. A delivered or failed one is not sent again."""
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    if delivery.status == WebhookDelivery.Status.PENDING:
        with _slot() as held:
            if held:
                _drain(deadline=time.monotonic() + _drain_seconds(), first=delivery_id)
        _sweep_again_if_due()
    delivery.refresh_from_db()
    return delivery


def webhooks_sweep() -> int:
    """The periodic job: sends what is due (a delivery left behind by a holder that died).
    Returns how many attempts were made."""
    with _slot() as held:
        sent = _drain(deadline=time.monotonic() + _drain_seconds()) if held else 0
    _sweep_again_if_due()
    return sent


def _drain_seconds() -> float:
    """Stop starting attempts early enough that the last one ends well inside the job's
    Q_TIMEOUT: a job killed mid-drain would hold its slot until the lease ran out."""
    return max(0.0, min(DRAIN_SECONDS, settings.Q_TIMEOUT / 2 - settings.WEBHOOK_TIMEOUT_SECONDS))


def _drain(*, deadline: float, first: int | None = None) -> int:
    """Attempts `first`, then whatever is due, until the deadline passes; at least one
    attempt when anything is due, so a sweep always makes progress. Returns the attempts."""
    sent = 0
    while True:
        delivery_id = first if first is not None else _due().values_list("pk", flat=True).first()
        if delivery_id is None:
            return sent
        _attempt(delivery_id)
        sent, first = sent + 1, None
        if time.monotonic() >= deadline:
            return sent


def _due():
    now = timezone.now()
    return (
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(Q(sending_until__isnull=True) | Q(sending_until__lt=now))
        .order_by(F("next_attempt_at").asc(nulls_first=True), "pk")
    )


def _sweep_again_if_due() -> None:
    """A job that found the slots taken left its delivery to the holder; the holder checks
    after releasing, so a delivery committed before that job ran is never stranded."""
    if _due().exists() and not _slots_all_held():
        from django_q.tasks import async_task

        async_task(WEBHOOK_SWEEP_JOB, q_options={"group": "webhooks"})


def _attempt(delivery_id: int) -> None:
    """One attempt, if this sender can claim the delivery."""
    now = timezone.now()
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
        .filter(Q(sending_until__isnull=True) | Q(sending_until__lt=now))
        .update(sending_until=now + _lease())
    )
    if not claimed:
        return
    delivery = WebhookDelivery.objects.select_related("project").get(pk=delivery_id)
    outcome = _post(delivery)
    delivery.attempts += 1
    delivery.last_status_code = outcome.status
    delivery.last_error = outcome.error
    delivery.sending_until = None
    now = timezone.now()
    if outcome.error == "":
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif outcome.final or delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    delivery.save()
    if delivery.next_attempt_at is not None:
        _schedule_retry(delivery)


@dataclass(frozen=True)
class Outcome:
    status: int | None
    error: str  # "" when delivered
    final: bool = False  # no retry: the URL itself is refused


def _post(delivery: WebhookDelivery) -> Outcome:
    body = delivery.body.encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "HITLCrowd-Webhook/1",
        "X-HITLCrowd-Signature": signature(delivery.project.callback_secret, timestamp, body),
        "X-HITLCrowd-Timestamp": str(timestamp),
        "X-HITLCrowd-Delivery": str(delivery.pk),
    }
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    try:
        reply = outbound.post_pinned(delivery.url, body, headers, timeout=timeout)
    except outbound.UnsafeUrl as exc:
        return Outcome(None, f"Refused: {exc}", final=True)
    except TimeoutError:
        return Outcome(None, f"No answer within {timeout} s.")
    except (OSError, UnicodeError) as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:2000])
    if 200 <= reply.status < 300:
        return Outcome(reply.status, "")
    if 300 <= reply.status < 400:
        where = reply.location[:500] or "no Location"
        return Outcome(reply.status, f"HTTP {reply.status}: redirects are not followed ({where}).")
    return Outcome(reply.status, f"HTTP {reply.status}")


# --- Sending slots ----------------------------------------------------------------------------


def _lease() -> timedelta:
    """A slot or a claimed delivery whose holder died is free again after this: longer than
    a drain and its last attempt."""
    return timedelta(seconds=DRAIN_SECONDS + 2 * settings.WEBHOOK_TIMEOUT_SECONDS + 60)


class _slot:
    """Holds one of the WEBHOOK_MAX_CONCURRENT slots for the block, if one is free."""

    def __enter__(self) -> bool:
        self.holder = uuid.uuid4().hex
        self.number = _slot_claim(self.holder)
        return self.number is not None

    def __exit__(self, *exc_info: object) -> None:
        if self.number is not None:
            WebhookSlot.objects.filter(number=self.number, holder=self.holder).update(
                holder="", held_until=None
            )


def _slot_claim(holder: str) -> int | None:
    numbers = range(1, settings.WEBHOOK_MAX_CONCURRENT + 1)
    WebhookSlot.objects.bulk_create([WebhookSlot(number=n) for n in numbers], ignore_conflicts=True)
    now = timezone.now()
    for number in numbers:
        free = Q(held_until__isnull=True) | Q(held_until__lt=now)
        taken = WebhookSlot.objects.filter(free, number=number).update(
            holder=holder, held_until=now + _lease()
        )
        if taken:
            return number
    return None


def _slots_all_held() -> bool:
    now = timezone.now()
    held = WebhookSlot.objects.filter(
        number__lte=settings.WEBHOOK_MAX_CONCURRENT, held_until__gte=now
    ).count()
    return held >= settings.WEBHOOK_MAX_CONCURRENT


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
