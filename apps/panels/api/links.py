"""A project's panel entry links for its owner: list, create, read, change, revoke, and the
per-participant reconciliation export. Another requester's project (or link) is a 404."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.panels.exports import reconciliation_response
from apps.panels.models import PanelLink
from apps.panels.selectors import (
    panel_entry_url,
    panel_link_get_for_project,
    panel_link_list_for_project,
)
from apps.panels.services import (
    CREATE_FIELDS,
    panel_link_create,
    panel_link_revoke,
    panel_link_update,
)
from apps.tasks.selectors.projects import project_get_for_requester
from apps.workers.permissions import IsRequester

ERRORS = {
    401: OpenApiResponse(description="No or expired token."),
    403: OpenApiResponse(description="Not a requester."),
    404: OpenApiResponse(description="No such project among yours, or no such link on it."),
}
INVALID = {400: OpenApiResponse(description="Invalid fields: `errors` names each field.")}


class PanelLinkInputSerializer(serializers.ModelSerializer):
    class Meta:
        model = PanelLink
        fields = list(CREATE_FIELDS)


class PanelLinkSerializer(serializers.ModelSerializer):
    state = serializers.ChoiceField(
        choices=PanelLink.State.choices, read_only=True, help_text="active, revoked or expired."
    )
    entry_url = serializers.SerializerMethodField(
        help_text="The study URL to give the panel: SITE_URL, the link and its three "
        "parameters with Prolific's placeholders ({{%PROLIFIC_PID%}}...)."
    )
    participants = serializers.IntegerField(source="participant_count", read_only=True)
    done = serializers.IntegerField(
        source="done_count", read_only=True, help_text="Participants given their outcome."
    )

    class Meta:
        model = PanelLink
        fields = [
            "id",
            "project",
            "name",
            "state",
            "entry_url",
            "quota",
            "completion_code",
            "screened_out_code",
            "completion_url",
            "participant_param",
            "study_param",
            "session_param",
            "expires_at",
            "created_at",
            "revoked_at",
            "participants",
            "done",
        ]
        read_only_fields = fields

    def get_entry_url(self, link: PanelLink) -> str:
        return panel_entry_url(link=link)


class PanelLinkListView(APIView):
    permission_classes = [IsRequester]

    @extend_schema(
        summary="My project's panel entry links, newest first",
        responses={200: PanelLinkSerializer(many=True), **ERRORS},
        tags=["panels"],
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = project_get_for_requester(user=request.user, project_id=project_id)
        links = panel_link_list_for_project(project=project)
        return Response(PanelLinkSerializer(links, many=True).data)

    @extend_schema(
        summary="Create a panel entry link on my project",
        request=PanelLinkInputSerializer,
        responses={201: PanelLinkSerializer, **INVALID, **ERRORS},
        tags=["panels"],
    )
    def post(self, request: Request, project_id: int) -> Response:
        project = project_get_for_requester(user=request.user, project_id=project_id)
        data = PanelLinkInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        link = panel_link_create(project=project, by=request.user, **data.validated_data)
        link = panel_link_get_for_project(project=project, link_id=link.pk)
        return Response(PanelLinkSerializer(link).data, status=status.HTTP_201_CREATED)


class PanelLinkDetailView(APIView):
    permission_classes = [IsRequester]

    @extend_schema(
        summary="One panel entry link of my project",
        responses={200: PanelLinkSerializer, **ERRORS},
        tags=["panels"],
    )
    def get(self, request: Request, project_id: int, link_id: int) -> Response:
        project = project_get_for_requester(user=request.user, project_id=project_id)
        link = panel_link_get_for_project(project=project, link_id=link_id)
        return Response(PanelLinkSerializer(link).data)

    @extend_schema(
        summary="Change a panel entry link of my project",
        description="Any of the fields a link is created with; the token and the participants "
        "stay. A new quota holds from each participant's next task; new parameter names change "
        "the entry URL (give the panel the new one); a new `expires_at` must be in the future "
        "(null: never). Revoking is `revoke/`, for good. See docs/panels.md.",
        request=PanelLinkInputSerializer(partial=True),
        responses={200: PanelLinkSerializer, **INVALID, **ERRORS},
        tags=["panels"],
    )
    def patch(self, request: Request, project_id: int, link_id: int) -> Response:
        project = project_get_for_requester(user=request.user, project_id=project_id)
        link = panel_link_get_for_project(project=project, link_id=link_id)
        data = PanelLinkInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        panel_link_update(link=link, by=request.user, **data.validated_data)
        link = panel_link_get_for_project(project=project, link_id=link_id)
        return Response(PanelLinkSerializer(link).data)


class PanelLinkRevokeView(APIView):
    permission_classes = [IsRequester]

    @extend_schema(
        summary="Revoke a panel entry link: nobody enters through it any more",
        description="Participants already signed in may finish and get their code. "
        "Revoking again changes nothing (200).",
        request=None,
        responses={200: PanelLinkSerializer, **ERRORS},
        tags=["panels"],
    )
    def post(self, request: Request, project_id: int, link_id: int) -> Response:
        project = project_get_for_requester(user=request.user, project_id=project_id)
        link = panel_link_get_for_project(project=project, link_id=link_id)
        panel_link_revoke(link=link, by=request.user)
        link = panel_link_get_for_project(project=project, link_id=link_id)
        return Response(PanelLinkSerializer(link).data)


class PanelLinkExportView(APIView):
    permission_classes = [IsRequester]
    renderer_classes = [JSONRenderer]

    @extend_schema(
        summary="Reconcile a panel study: one CSV row per participant (streamed)",
        description=(
            "participant_id, study_id, session_id, worker_id, username, started_at, "
            "completed_at, outcome (quota_reached, no_work_left, screened_out, or empty), "
            "completed, answers_given, answers_accepted, answers_rejected (pay reversed), "
            "gold_answers, gold_correct, gold_accuracy, earnings (credits - reversals), "
            "bonuses, total, blocked. See docs/panels.md."
        ),
        responses={(200, "text/csv"): OpenApiTypes.STR, **ERRORS},
        tags=["panels"],
    )
    def get(self, request: Request, project_id: int, link_id: int) -> StreamingHttpResponse:
        project = project_get_for_requester(user=request.user, project_id=project_id)
        link = panel_link_get_for_project(project=project, link_id=link_id)
        return reconciliation_response(link=link)


urlpatterns = [
    path(
        "projects/<int:project_id>/panel-links/",
        PanelLinkListView.as_view(),
        name="project-panel-links",
    ),
    path(
        "projects/<int:project_id>/panel-links/<int:link_id>/",
        PanelLinkDetailView.as_view(),
        name="project-panel-link",
    ),
    path(
        "projects/<int:project_id>/panel-links/<int:link_id>/revoke/",
        PanelLinkRevokeView.as_view(),
        name="project-panel-link-revoke",
    ),
    path(
        "projects/<int:project_id>/panel-links/<int:link_id>/export",
        PanelLinkExportView.as_view(),
        name="project-panel-link-export",
    ),
]
