"""Worker reliability: a project's workers for its owner, and a worker's own figures.

A worker's own view leaves out everything that would tell gold items apart (gold answer
counts, gold accuracy, the confusion matrix): those figures move right after a gold answer.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.tasks.selectors.projects import project_get_for_requester
from apps.workers.models import WorkerStats
from apps.workers.permissions import IsRequester, IsWorker
from apps.workers.selectors import worker_stats_list_for_project, worker_stats_list_for_worker

UNAUTHORIZED = {401: OpenApiResponse(description="No or expired token.")}


class ProjectWorkerSerializer(serializers.Serializer):
    worker_id = serializers.IntegerField()
    username = serializers.CharField(source="worker.username")
    answers = serializers.IntegerField()
    skill = serializers.FloatField(allow_null=True, help_text="Expected accuracy (the model).")
    skill_low = serializers.FloatField(allow_null=True, help_text="95% interval, low end.")
    skill_high = serializers.FloatField(allow_null=True, help_text="95% interval, high end.")
    gold_answers = serializers.IntegerField()
    gold_accuracy = serializers.FloatField(allow_null=True)
    agreement = serializers.FloatField(allow_null=True, help_text="Share agreeing with consensus.")
    median_seconds = serializers.FloatField(allow_null=True)
    confusion = serializers.JSONField(allow_null=True, help_text="true x given, project labels.")
    blocked = serializers.SerializerMethodField()
    blocked_reason = serializers.CharField(allow_null=True)
    updated_at = serializers.DateTimeField()

    def get_blocked(self, stats) -> bool:
        return stats.blocked_reason is not None


class MyStatsSerializer(serializers.Serializer):
    project_id = serializers.IntegerField()
    project_name = serializers.CharField(source="project.name")
    answers = serializers.IntegerField()
    skill = serializers.FloatField(allow_null=True)
    skill_low = serializers.FloatField(allow_null=True)
    skill_high = serializers.FloatField(allow_null=True)
    agreement = serializers.FloatField(allow_null=True)
    median_seconds = serializers.FloatField(allow_null=True)
    blocked = serializers.SerializerMethodField()
    blocked_reason = serializers.CharField(allow_null=True)
    updated_at = serializers.DateTimeField()

    def get_blocked(self, stats) -> bool:
        return stats.blocked_reason is not None


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
        summary="My skill and figures per project",
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
        return worker_stats_list_for_worker(worker=self.request.user)


urlpatterns = [
    path(
        "projects/<int:project_id>/workers/",
        ProjectWorkersView.as_view(),
        name="project-workers",
    ),
    path("work/me/stats/", MyStatsView.as_view(), name="work-my-stats"),
]
