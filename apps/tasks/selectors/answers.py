"""A project's answers by worker, for its owner (a panel link's reconciliation export):
never shown to a worker, who must not learn which of their answers were gold."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Count, F, Q

from apps.tasks.models import Answer


def answer_counts_by_worker(
    *, project_id: int, worker_ids: Sequence[int]
) -> dict[int, dict[str, int]]:
    """Per worker of `worker_ids` on the project: answers `given` (counted or not), `gold`
    answers and `gold_correct` ones. For the project's owner (a panel's reconciliation),
    never for a worker. One query."""
    gold = Q(item__is_gold=True)
    rows = (
        Answer.objects.filter(project_id=project_id, worker_id__in=worker_ids)
        .values("worker_id")
        .annotate(
            given=Count("pk"),
            gold=Count("pk", filter=gold),
            gold_correct=Count("pk", filter=gold & Q(label=F("item__gold_label"))),
        )
        .order_by()
    )
    return {row.pop("worker_id"): row for row in rows}
