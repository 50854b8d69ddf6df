"""Worker reliability: a project's workers for its owner, and a worker's own figures.

A project's owner sees everything: skill and spam score with their intervals, gold answers and
accuracy, agreement, the confusion matrix, the block and its reason.

A worker's own view shows only what follows from their own actions: how many answers they gave,
their median seconds per answer, and whether they are blocked, with a fixed sentence for why or
the admin's reason for a block by hand (apps/workers/selectors.py `block_notice`). Every figure
that depends on whether an answer was right, against gold or against the other workers, is left
out, however coarse or delayed it could be made (issue 12): skill and its Beta interval gave a
worker's gold answers and correct ones exactly after each answer, agreement's denominator
counted the answers that were not gold, and any correctness figure lets a worker probe a
suspected item's label by answering it both ways over time. `updated_at` is left out too: a row
rewritten without an answer of theirs would say that their figures moved with other workers'
answers. The block itself is decided at checkpoints (apps/workers/reliability.py).
tests/workers/test_gold_leakage.py plays the attacker against all of this.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.tasks.selectors.projects import project_get_for_requester
from apps.tasks.selectors.visibility import project_visible_q
from apps.workers.models import WorkerStats
from apps.workers.permissions import IsRequester, IsWorker
from apps.workers.selectors import (
    block_notice,
    worker_stats_list_for_project,
    worker_stats_list_for_worker,
)

UNAUTHORIZED = {401: OpenApiResponse(description="No or expired token.")}


class ProjectWorkerSerializer(serializers.Serializer):
    worker_id = serializers.IntegerField()
    username = serializers.CharField(source="worker.username")
    email_verified = serializers.BooleanField(
        source="worker.email_verified", help_text="The worker confirmed their email address."
    )
    answers = serializers.IntegerField()
    skill = serializers.FloatField(allow_null=True, help_text="Expected accuracy (the model).")
    skill_low = serializers.FloatField(allow_null=True, help_text="95% interval, low end.")
    skill_high = serializers.FloatField(allow_null=True, help_text="95% interval, high end.")
    spam_score = serializers.FloatField(
        allow_null=True,
        help_text="Accuracy above chance: 0 for random or constant answers, 1 for perfect.",
    )
    spam_score_low = serializers.FloatField(allow_null=True, help_text="95% interval, low end.")
    spam_score_high = serializers.FloatField(
        allow_null=True, help_text="95% interval, high end: the spam rule blocks on it."
    )
    gold_answers = serializers.IntegerField()
    gold_accuracy = serializers.FloatField(allow_null=True)
    agreement = serializers.FloatField(allow_null=True, help_text="Share agreeing with consensus.")
    median_seconds = serializers.FloatField(allow_null=True)
    confusion = serializers.JSONField(allow_null=True, help_text="true x given, project labels.")
    gold_check_at = serializers.IntegerField(
        allow_null=True,
        help_text=(
            "Set when the spam score or skill rule failed at this many answers: the worker is "
            "served only gold until the next check blocks them or clears this."
        ),
    )
    recheck_at = serializers.IntegerField(
        allow_null=True,
        help_text=(
            "Set when a rule failed, short of a clear failure, at this many answers with no "
            "gold left to check the worker on: the first check 10 answers later blocks them "
            "or clears this."
        ),
    )
    blocked = serializers.SerializerMethodField()
    blocked_reason = serializers.CharField(allow_null=True)
    updated_at = serializers.DateTimeField()

    def get_blocked(self, stats) -> bool:
        return stats.blocked_reason is not None


class MyStatsSerializer(serializers.Serializer):
    project_id = serializers.IntegerField()
    project_name = serializers.CharField(source="project.name")
    answers = serializers.IntegerField(help_text="My answers counted on the project.")
    median_seconds = serializers.FloatField(allow_null=True)
    blocked = serializers.SerializerMethodField()
    blocked_reason = serializers.SerializerMethodField(
        help_text="Why: the same sentence for every automatic block; an admin's reason."
    )

    def get_blocked(self, stats) -> bool:
        return stats.blocked_automatic is not None

    def get_blocked_reason(self, stats) -> str | None:
        if stats.blocked_automatic is None:
            return None
        return block_notice(
            automatic=bool(stats.blocked_automatic),
            reason=stats.blocked_by_admin_reason or "",
            by_requester=stats.blocked_by_requester is not None,
        )


class ProjectWorkersView(generics.ListAPIView):
    permission_classes = [IsRequester]
    serializer_class = ProjectWorkerSerializer

    @extend_schema(
        summary="The project's workers with skill, gold accuracy and blocks (project owner)",
        responses={
            200: ProjectWorkerSerializer(many=True),
            **UNAUTHORIZED,
            403: OpenApiResponse(description="Not a requester."),
            404: OpenApiResponse(description="No such project among yours."),
        },
        tags=["workers"],
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return WorkerStats.objects.none()
        project = project_get_for_requester(
            user=self.request.user, project_id=self.kwargs["project_id"]
        )
        return worker_stats_list_for_project(project=project)


class MyStatsView(generics.ListAPIView):
    permission_classes = [IsWorker]
    serializer_class = MyStatsSerializer

    @extend_schema(
        summary="My answers, median seconds and block per project (those I may see)",
        description="Nothing here depends on whether an answer was right; see the README.",
        responses={
            200: MyStatsSerializer(many=True),
            **UNAUTHORIZED,
            403: OpenApiResponse(description="Not a worker."),
        },
        tags=["work"],
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return WorkerStats.objects.none()
        worker = self.request.user
        mine = worker_stats_list_for_worker(worker=worker)
        return mine.filter(project_visible_q(worker=worker, field="project"))


urlpatterns = [
    path(
        "projects/<int:project_id>/workers/",
        ProjectWorkersView.as_view(),
        name="project-workers",
    ),
    path("work/me/stats/", MyStatsView.as_view(), name="work-my-stats"),
]
