"""Reads for the workers app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import OuterRef, QuerySet, Subquery

from apps.workers.models import Block, Qualification, User, WorkerStats

if TYPE_CHECKING:
    from apps.tasks.models import Project


def qualification_get(*, worker: User, project: Project) -> Qualification | None:
    return Qualification.objects.filter(worker=worker, project=project).first()


def blocked_worker_ids(*, project: Project) -> QuerySet:
    """Ids of the workers blocked on the project now (a subquery; evaluate with list())."""
    return Block.objects.filter(project=project, lifted_at__isnull=True).values("worker_id")


def block_active(*, worker: User, project: Project) -> Block | None:
    """The worker's active block on the project, if any (the claim refuses them)."""
    return Block.objects.filter(worker=worker, project=project, lifted_at__isnull=True).first()


def worker_stats_list_for_project(*, project: Project) -> QuerySet[WorkerStats]:
    """A project's workers with their stats, best first, each annotated with `blocked_reason`
    (the active block's reason or None). Scope the project to its owner before calling."""
    active = Block.objects.filter(
        project=OuterRef("project"), worker=OuterRef("worker"), lifted_at__isnull=True
    )
    return (
        WorkerStats.objects.filter(project=project)
        .select_related("worker")
        .annotate(blocked_reason=Subquery(active.values("reason")[:1]))
        .order_by("-skill", "worker_id")
    )


def worker_stats_list_for_worker(*, worker: User) -> QuerySet[WorkerStats]:
    """The worker's own stats on each project, annotated like the list for a project."""
    active = Block.objects.filter(
        project=OuterRef("project"), worker=OuterRef("worker"), lifted_at__isnull=True
    )
    return (
        WorkerStats.objects.filter(worker=worker)
        .select_related("project")
        .annotate(blocked_reason=Subquery(active.values("reason")[:1]))
        .order_by("project_id")
    )
