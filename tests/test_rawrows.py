"""hitlcrowd.rawrows.update_rows, the one raw bulk update: every kind of column the services
write with it (text, JSON and SQL NULL, floats and NULL, a foreign key, datetimes, small
integers, booleans) comes back as written, through the prepared cursor and through the logged
one (CaptureQueriesContext turns preparing off), on PostgreSQL's unnest form and elsewhere."""

from contextlib import nullcontext
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.tasks.models import HIT, Item
from hitlcrowd.rawrows import update_rows
from tests.factories import AggregationRunFactory, HITFactory, ItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["prepared", "logged"])
def cursor_kind(request):
    return CaptureQueriesContext(connection) if request.param == "logged" else nullcontext()


def test_update_rows_writes_every_kind_of_column_the_services_write(cursor_kind):
    items = ItemFactory.create_batch(3)
    run = AggregationRunFactory(project=items[0].project)
    when = timezone.now() - timedelta(hours=1)
    wanted = [
        ("cat", {"cat": 0.75, "dog": 0.25}, 0.75, run.pk, "crowd"),
        ("dog", None, None, None, "model"),
        ("", {"cat": 0.5, "dog": 0.5}, 0.5, run.pk, ""),
    ]
    rows = [
        Item(
            pk=item.pk,
            final_label=label,
            posterior=posterior,
            final_confidence=confidence,
            aggregation_run_id=run_id,
            label_source=source,
            updated_at=when,
        )
        for item, (label, posterior, confidence, run_id, source) in zip(items, wanted, strict=True)
    ]
    names = ["final_label", "posterior", "final_confidence", "aggregation_run_id"]
    with cursor_kind:
        update_rows(list(reversed(rows)), *names, "label_source", "updated_at")
    for item, expected in zip(items, wanted, strict=True):
        item.refresh_from_db()
        got = (
            item.final_label,
            item.posterior,
            item.final_confidence,
            item.aggregation_run_id,
            item.label_source,
        )
        assert got == expected
        assert item.updated_at == when
    assert Item.objects.filter(posterior__isnull=True).count() == 1  # SQL NULL, not JSON null


def test_update_rows_writes_only_the_named_columns_of_the_given_rows(cursor_kind):
    hits = HITFactory.create_batch(3, priority=1.0, answers_wanted=2)
    with cursor_kind:
        update_rows(
            [HIT(pk=hits[0].pk, priority=5.5, held=True), HIT(pk=hits[2].pk, priority=-1.0)],
            "priority",
            "held",
        )
    got = dict(HIT.objects.values_list("pk", "priority"))
    assert got == {hits[0].pk: 5.5, hits[1].pk: 1.0, hits[2].pk: -1.0}
    assert list(HIT.objects.filter(held=True).values_list("pk", flat=True)) == [hits[0].pk]
    assert set(HIT.objects.values_list("answers_wanted", flat=True)) == {2}


def test_update_rows_writes_more_rows_than_one_statement_takes(monkeypatch, cursor_kind):
    monkeypatch.setattr("hitlcrowd.rawrows.UPDATE_BATCH", 2)
    hits = HITFactory.create_batch(5, answers_wanted=2)
    with cursor_kind:
        update_rows(
            [HIT(pk=hit.pk, answers_wanted=3 + n) for n, hit in enumerate(hits)], "answers_wanted"
        )
    assert [h.answers_wanted for h in HIT.objects.order_by("pk")] == [3, 4, 5, 6, 7]
