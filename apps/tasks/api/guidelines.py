"""Worker endpoints for the guideline: read the current version, acknowledge it.

`POST /work/next/` answers 409 `guideline_not_acknowledged` (with `guideline.number` and
`guideline.url`) until the worker acknowledges the project's current version here.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.tasks.models import Project
from apps.tasks.selectors.assignments import project_list_open_to_worker
from apps.tasks.selectors.guidelines import guideline_for_worker
from apps.tasks.services.guidelines import guideline_acknowledge
from apps.workers.models import User
from apps.workers.permissions import IsWorker
from hitlcrowd.api import ApiError

ERRORS = {
    401: OpenApiResponse(description="No or expired token."),
    403: OpenApiResponse(description="Not a worker."),
    404: OpenApiResponse(description="No open project with this id, or it has no guideline."),
}


class GuidelineSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    number = serializers.IntegerField()
    text = serializers.CharField(help_text="Markdown.")
    html = serializers.CharField(help_text="The markdown rendered, raw HTML disabled.")
    change_note = serializers.CharField()
    published_at = serializers.DateTimeField()
    acknowledged = serializers.BooleanField(help_text="I acknowledged this version.")
    acknowledge_url = serializers.CharField()


class AcknowledgeInputSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, help_text="The version number I read.")


def _open_project(user: User, project_id: int) -> Project:
    project = project_list_open_to_worker(worker=user).filter(pk=project_id).first()
    if project is None:
        raise ApiError("No open project with this id.", code="not_found", status_code=404)
    return project


def _current(user: User, project: Project) -> dict:
    guideline = guideline_for_worker(worker=user, project=project)
    if guideline is None:
        raise ApiError(
            "This project has no published guideline.", code="not_found", status_code=404
        )
    return guideline


class GuidelineView(APIView):
    permission_classes = [IsWorker]

    @extend_schema(
        summary="The project's current guideline, and whether I acknowledged it",
        responses={200: GuidelineSerializer, **ERRORS},
        tags=["work"],
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = _open_project(request.user, project_id)
        return Response(GuidelineSerializer(_current(request.user, project)).data)


class GuidelineAcknowledgeView(APIView):
    permission_classes = [IsWorker]

    @extend_schema(
        summary="Acknowledge that I read a version of the project's guideline",
        description="Acknowledging again is a no-op. Returns the current version.",
        request=AcknowledgeInputSerializer,
        responses={
            200: GuidelineSerializer,
            400: OpenApiResponse(description="`version`: not a published version here."),
            **ERRORS,
        },
        tags=["work"],
    )
    def post(self, request: Request, project_id: int) -> Response:
        project = _open_project(request.user, project_id)
        data = AcknowledgeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        guideline_acknowledge(
            worker=request.user, project=project, number=data.validated_data["version"]
        )
        body = GuidelineSerializer(_current(request.user, project)).data
        return Response(body, status=status.HTTP_200_OK)


urlpatterns = [
    path(
        "work/projects/<int:project_id>/guideline", GuidelineView.as_view(), name="work-guideline"
    ),
    path(
        "work/projects/<int:project_id>/guideline/acknowledge",
        GuidelineAcknowledgeView.as_view(),
        name="work-guideline-acknowledge",
    ),
]
