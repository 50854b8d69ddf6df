"""A project's items for its owner: list (cursor-paginated), detail, and the streamed export."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import CursorPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.tasks.exports import FORMATS, export_response
from apps.tasks.models import Answer, Item
from apps.tasks.selectors.items import (
    item_filters_parse,
    item_get_for_project,
    item_list_for_project,
)
from apps.tasks.selectors.projects import project_get_for_requester
from apps.workers.permissions import IsRequester

ERRORS = {
    400: OpenApiResponse(description="A bad filter: `errors` names the field."),
    401: OpenApiResponse(description="No or expired token."),
    403: OpenApiResponse(description="Not a requester."),
    404: OpenApiResponse(description="No such project (or item) among yours."),
}
STATE = OpenApiParameter(
    "state",
    str,
    many=True,
    enum=Item.State.values,
    description="Only items in these states (repeat it or separate with commas).",
)
FILTERS = [
    STATE,
    OpenApiParameter("batch", int, description="Only items of this batch (of this project)."),
    OpenApiParameter("is_gold", bool, description="Only gold (true) or only real (false) items."),
    OpenApiParameter("external_id", str, description="The item with this external id."),
]


LABEL_SOURCE = {
    "choices": Item.Source.choices,
    "allow_blank": True,
    "read_only": True,
    "help_text": "Who gave the final label; blank while it has none.",
}


class ItemSerializer(serializers.ModelSerializer):
    batch = serializers.IntegerField(source="batch_id", read_only=True, allow_null=True)
    label_source = serializers.ChoiceField(**LABEL_SOURCE)

    class Meta:
        model = Item
        fields = [
            "id",
            "external_id",
            "batch",
            "state",
            "payload",
            "prediction",
            "confidence",
            "model_version",
            "final_label",
            "label_source",
            "final_confidence",
            "posterior",
            "is_gold",
            "gold_label",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AnswerSerializer(serializers.ModelSerializer):
    guideline_version = serializers.IntegerField(
        source="guideline_version.number", read_only=True, allow_null=True, default=None
    )
    superseded_by = serializers.IntegerField(
        source="superseded_by.number",
        read_only=True,
        allow_null=True,
        default=None,
        help_text="The guideline version whose re-queue took this answer out of the consensus.",
    )
    discard_reason = serializers.ChoiceField(
        choices=Answer.DiscardReason.choices,
        read_only=True,
        allow_blank=True,
        help_text="Why this answer left the consensus for good: its worker was blocked, or an "
        "admin rejected it; empty while it counts.",
    )

    class Meta:
        model = Answer
        fields = [
            "id",
            "worker",
            "label",
            "guideline_version",
            "superseded_by",
            "discarded_at",
            "discard_reason",
            "seconds_spent",
            "created_at",
        ]
        read_only_fields = fields


class ItemDetailSerializer(ItemSerializer):
    answers = AnswerSerializer(many=True, read_only=True)

    class Meta(ItemSerializer.Meta):
        fields = [*ItemSerializer.Meta.fields, "answers"]
        read_only_fields = fields


class ItemCursorPagination(CursorPagination):
    """Cursor pages stay one index range scan however deep the page (projects reach millions)."""

    ordering = "id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


@extend_schema(parameters=[OpenApiParameter("project_id", int, OpenApiParameter.PATH)])
class ItemViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsRequester]
    serializer_class = ItemSerializer
    pagination_class = ItemCursorPagination
    filter_backends: list = []

    def get_project(self):
        return project_get_for_requester(
            user=self.request.user, project_id=self.kwargs["project_id"]
        )

    def get_queryset(self):
        project = self.get_project()
        filters = item_filters_parse(project=project, params=self.request.query_params)
        return item_list_for_project(project=project, filters=filters)

    @extend_schema(
        summary="List a project's items",
        parameters=[*FILTERS, OpenApiParameter("page_size", int, description="1 to 500.")],
        responses={200: ItemSerializer(many=True), **ERRORS},
    )
    def list(self, request: Request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="One item with its answers",
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
        responses={200: ItemDetailSerializer, **ERRORS},
    )
    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        item = item_get_for_project(project=self.get_project(), item_id=self.kwargs["pk"])
        answers = item.answers.select_related("guideline_version", "superseded_by").order_by(
            "created_at", "id"
        )
        data = ItemSerializer(item).data
        data["answers"] = AnswerSerializer(answers, many=True).data
        return Response(data)


class IgnoreFormatOverride(DefaultContentNegotiation):
    """`?format=` picks the export's file format here, not a DRF renderer."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ExportFormat(serializers.Serializer):
    format = serializers.ChoiceField(choices=FORMATS, default="csv")


class ItemExportView(APIView):
    permission_classes = [IsRequester]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = IgnoreFormatOverride

    @extend_schema(
        summary="Download a project's items (streamed CSV, JSON lines or spreadsheet CSV)",
        description=(
            "Each row: external_id, state, final_label, label_source, final_confidence, "
            "posterior (CSV: one `p_<label>` column per label), prediction, confidence, "
            "model_version, batch, is_gold, gold_label and the payload (JSONL: a `payload` "
            "object; CSV: one column per payload key). A csv or jsonl file is a valid upload "
            "for a new project. `spreadsheet-csv` is the CSV for opening in a spreadsheet: a "
            "cell starting with =, +, -, @, tab or CR (a plain number aside) gets a leading ' "
            "so it is never run as a formula; it is not meant for upload."
        ),
        parameters=[
            OpenApiParameter("project_id", int, OpenApiParameter.PATH),
            OpenApiParameter("format", str, enum=list(FORMATS), default="csv"),
            *FILTERS,
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/x-ndjson"): OpenApiTypes.STR,
            **ERRORS,
        },
    )
    def get(self, request: Request, project_id: int) -> StreamingHttpResponse:
        project = project_get_for_requester(user=request.user, project_id=project_id)
        choice = ExportFormat(data={"format": request.query_params.get("format") or "csv"})
        choice.is_valid(raise_exception=True)
        filters = item_filters_parse(project=project, params=request.query_params)
        items = item_list_for_project(project=project, filters=filters)
        return export_response(project=project, items=items, fmt=choice.validated_data["format"])


item_list = ItemViewSet.as_view({"get": "list"})
item_detail = ItemViewSet.as_view({"get": "retrieve"})

urlpatterns = [
    path("projects/<int:project_id>/items/", item_list, name="project-items"),
    path("projects/<int:project_id>/items/<int:pk>/", item_detail, name="project-item"),
    path("projects/<int:project_id>/export", ItemExportView.as_view(), name="project-export"),
]
