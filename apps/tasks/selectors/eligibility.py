"""Who may still answer an item: the one definition of "a worker who may answer it".

A worker may answer an item when the claim (apps/tasks/sql.py, _CLAIM_SQL) could serve
them its HIT: an active worker account who may see the project (selectors/visibility.py: a
private project's group members), not blocked on the project, not failed its
qualification test, not a panel participant who is done there (their link's quota given, or
their outcome recorded: the claim refuses them), and never given this HIT before under the
current guideline (an assignment in any state that is not superseded: submitted, live,
skipped or expired; the claim never serves the same HIT twice). An item with none left can
never be finished by people: send-back refuses it (services/items.py) and consensus sends it
to review.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, QuerySet

from apps.panels.selectors import panel_workers_done
from apps.tasks.models import Assignment, Project
from apps.tasks.selectors.visibility import workers_who_may_see
from apps.workers.models import Qualification, User
from apps.workers.selectors import blocked_worker_ids


def eligible_workers(*, project: Project) -> QuerySet[User]:
    """The workers the project may serve a task to (before looking at any one HIT)."""
    blocked = blocked_worker_ids(project=project)
    failed = Qualification.objects.filter(project=project, state=Qualification.State.FAILED).values(
        "worker_id"
    )
    return (
        User.objects.filter(role=User.Role.WORKER, is_active=True)
        .filter(workers_who_may_see(project=project))
        .exclude(pk__in=blocked)
        .exclude(pk__in=failed)
        .exclude(pk__in=panel_workers_done(project=project))
    )


def eligible_worker_count(*, project: Project, item_ids: Iterable[int]) -> dict[int, int]:
    """Per item of `project`: how many workers may still answer it. Two queries whatever the
    number of items: the eligible workers, and per HIT those of them it was already served to."""
    ids = sorted(set(item_ids))
    if not ids:
        return {}
    workers = eligible_workers(project=project)
    total = workers.count()
    served = (
        Assignment.objects.filter(
            project=project,
            hit__item_id__in=ids,
            superseded_by__isnull=True,
            worker__in=workers.values("pk"),
        )
        .values("hit__item_id")
        .annotate(n=Count("worker", distinct=True))
        .order_by()
    )
    had = {row["hit__item_id"]: row["n"] for row in served}
    return {item_id: total - had.get(item_id, 0) for item_id in ids}
