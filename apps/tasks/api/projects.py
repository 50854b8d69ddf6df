from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from apps.models.selectors import auto_label_threshold
from apps.tasks.api.serializers import ProjectDetailSerializer, ProjectSerializer
from apps.tasks.models import Project
from apps.tasks.selectors.overview import automation
from apps.tasks.selectors.projects import (
    project_get_for_requester,
    project_held_count,
    project_item_counts,
    project_list_for_requester,
)
from apps.tasks.services.projects import project_create, project_update
from apps.workers.permissions import IsRequester
from apps.workers.selectors import budget_status

ERRORS = {
    400: OpenApiResponse(description="Invalid fields: `errors` maps each field to messages."),
    401: OpenApiResponse(description="No or expired token."),
    403: OpenApiResponse(description="Not a requester."),
}
NOT_FOUND = {404: OpenApiResponse(description="No such project among yours.")}


@extend_schema_view(
    list=extend_schema(summary="List my projects", responses={200: ProjectSerializer, **ERRORS}),
    create=extend_schema(
        summary="Create a project", responses={201: ProjectDetailSerializer, **ERRORS}
    ),
    retrieve=extend_schema(
        summary="A project with its item counts",
        responses={200: ProjectDetailSerializer, **ERRORS, **NOT_FOUND},
    ),
    partial_update=extend_schema(
        summary="Change a project's settings",
        responses={200: ProjectDetailSerializer, **ERRORS, **NOT_FOUND},
    ),
)
class ProjectViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [IsRequester]
    serializer_class = ProjectSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    lookup_value_regex = "[0-9]+"  # ASCII digits: anything else is a 404, not a 500

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Project.objects.none()
        return project_list_for_requester(user=self.request.user).prefetch_related("groups")

    def get_object(self):
        return project_get_for_requester(user=self.request.user, project_id=self.kwargs["pk"])

    def create(self, request: Request, *args, **kwargs) -> Response:
        data = ProjectSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        project = project_create(owner=request.user, **data.validated_data)
        return Response(self._detail(project), status=201)

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return Response(self._detail(self.get_object()))

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        project = self.get_object()
        data = ProjectSerializer(
            project, data=request.data, partial=True, context=self.get_serializer_context()
        )
        data.is_valid(raise_exception=True)
        project = project_update(project=project, by=request.user, **data.validated_data)
        return Response(self._detail(project))

    def _detail(self, project) -> dict:
        project.item_counts = project_item_counts(project=project)
        project.held_for_model = project_held_count(project=project)
        project.automation = automation(project=project, counts=project.item_counts)
        budget = budget_status(project=project)
        project.budget_remaining = budget["remaining"]
        project.budget_exhausted = budget["exhausted"]
        project.auto_label_threshold = auto_label_threshold(project=project)
        return ProjectDetailSerializer(project).data
