from __future__ import annotations

from django.db.models import Count, QuerySet

from apps.tasks.models import HIT, Item, Project
from apps.workers.models import User
from hitlcrowd.errors import one_or_not_found


def project_list_for_requester(*, user: User) -> QuerySet[Project]:
    """The projects a requester owns; admins see all."""
    projects = Project.objects.select_related("owner")
    if user.is_staff:
        return projects
    return projects.filter(owner=user)


def project_get_for_requester(*, user: User, project_id: int) -> Project:
    """404 (not 403) for someone else's project, so ids of other projects don't leak."""
    return one_or_not_found(project_list_for_requester(user=user), pk=project_id)


def project_held_count(*, project: Project) -> int:
    """Waiting items the pacing holds back until the model catches up (HIT.held; index
    hit_held_by_priority)."""
    return HIT.objects.filter(project=project, state=HIT.State.OPEN, held=True).count()


def project_item_counts(*, project: Project) -> dict[str, int]:
    counts = dict.fromkeys(Item.State.values, 0)
    rows = Item.objects.filter(project=project).values("state").annotate(n=Count("id"))
    for row in rows.order_by():
        counts[row["state"]] = row["n"]
    return counts
