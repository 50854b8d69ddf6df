"""HITs that expire (an MTurk HIT's lifetime): the every-minute sweep closes them so they leave
the claim's index, and their expiry or answers wanted changed later settle their state from
their rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.tasks.jobs import expire_leases_job
from apps.tasks.models import HIT
from apps.tasks.services import items
from apps.tasks.services.items import hit_answers_add, hit_expiry_set, hits_expire_due
from tests.factories import AssignmentFactory, HITFactory

pytestmark = pytest.mark.django_db


def test_the_sweep_closes_open_hits_past_their_expiry_and_nothing_else(project):
    now = timezone.now()
    due = HITFactory.create_batch(3, item__project=project, expires_at=now - timedelta(1))
    later = HITFactory(item__project=project, expires_at=now + timedelta(hours=1))
    native = HITFactory(item__project=project)
    done = HITFactory(item__project=project, expires_at=now, state=HIT.State.DONE)

    assert hits_expire_due(now=now) == 3
    states = dict(HIT.objects.values_list("pk", "state"))
    assert {states[hit.pk] for hit in due} == {HIT.State.EXPIRED}
    assert [states[h.pk] for h in (later, native, done)] == ["open", "open", "done"]


def test_the_sweep_works_in_batches(project, monkeypatch):
    monkeypatch.setattr(items, "APPLY_BATCH", 2)
    past = timezone.now() - timedelta(seconds=1)
    HITFactory.create_batch(5, item__project=project, expires_at=past)
    expire_leases_job()
    assert set(HIT.objects.values_list("state", flat=True)) == {HIT.State.EXPIRED}


def test_a_new_expiry_or_more_answers_settle_the_state_from_the_rows(project, worker):
    hit = HITFactory(item__project=project, answers_wanted=1, expires_at=timezone.now())
    hits_expire_due()

    hit = hit_expiry_set(hit_id=hit.pk, expires_at=timezone.now() + timedelta(hours=1))
    assert hit.state == HIT.State.OPEN
    AssignmentFactory(hit=hit, worker=worker, submitted=True)
    assert hit_expiry_set(hit_id=hit.pk, expires_at=hit.expires_at).state == HIT.State.DONE
    assert hit_answers_add(hit_id=hit.pk, more=1).state == HIT.State.OPEN
    past = timezone.now() - timedelta(seconds=1)
    assert hit_expiry_set(hit_id=hit.pk, expires_at=past).state == HIT.State.EXPIRED
