"""A project's consensus for its owner: labels with posteriors per item, and a quality summary."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.tasks.api.items import LABEL_SOURCE
from apps.tasks.models import Item
from apps.tasks.selectors.consensus import (
    consensus_get_for_project,
    consensus_list_for_project,
    project_quality,
)
from apps.tasks.selectors.projects import project_get_for_requester
from apps.workers.permissions import IsRequester

ERRORS = {
    401: OpenApiResponse(description="No or expired token."),
    403: OpenApiResponse(description="Not a requester."),
    404: OpenApiResponse(description="No such project (or item) among yours."),
}


class ConsensusItemSerializer(serializers.ModelSerializer):
    label_source = serializers.ChoiceField(**LABEL_SOURCE)
    review_reason = serializers.ChoiceField(
        choices=Item.ReviewReason.choices,
        allow_blank=True,
        read_only=True,
        help_text="Why the item is in review; blank when it is not.",
    )
    n_answers = serializers.IntegerField(read_only=True)
    run = serializers.IntegerField(source="aggregation_run_id", read_only=True, allow_null=True)
    method = serializers.CharField(source="consensus_method", read_only=True)
    resolved_by = serializers.CharField(
        source="resolved_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Item
        fields = [
            "id",
            "external_id",
            "state",
            "final_label",
            "label_source",
            "final_confidence",
            "posterior",
            "n_answers",
            "method",
            "run",
            "review_reason",
            "resolved_by",
            "resolved_at",
        ]
        read_only_fields = fields


class RunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    method = serializers.CharField()
    status = serializers.CharField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    answers = serializers.IntegerField()
    items = serializers.IntegerField()
    workers = serializers.IntegerField()
    iterations = serializers.IntegerField()
    log_likelihood = serializers.FloatField(allow_null=True)
    items_changed = serializers.IntegerField()


class TradeoffSerializer(serializers.Serializer):
    review_below = serializers.FloatField(help_text="A review bar (the project's is `current`).")
    current = serializers.BooleanField(help_text="This is the project's `review_below`.")
    decided = serializers.IntegerField(help_text="Crowd-labeled items in consensus or review.")
    to_review = serializers.IntegerField(help_text="Of those, posterior below this bar.")
    share_to_review = serializers.FloatField(allow_null=True)
    expected_accuracy = serializers.FloatField(
        allow_null=True,
        help_text="Mean top posterior of the others: Dawid-Skene's own estimate, optimistic "
        "on hard data (docs/benchmarks-quality.md).",
    )


class QualitySerializer(serializers.Serializer):
    gold_answers = serializers.IntegerField()
    gold_accuracy = serializers.FloatField(allow_null=True, help_text="Crowd answers on gold.")
    crowd_labeled = serializers.IntegerField()
    mean_posterior = serializers.FloatField(allow_null=True)
    answers = serializers.IntegerField(
        help_text="Answers on non-gold items that still count (not superseded, not discarded)."
    )
    answers_per_item = serializers.FloatField(allow_null=True)
    blocked_workers = serializers.IntegerField()
    items_by_state = serializers.DictField(child=serializers.IntegerField())
    latest_run = RunSerializer(allow_null=True)
    review_tradeoff = TradeoffSerializer(
        many=True,
        help_text="For a few review bars: items that would go to review, and the expected "
        "accuracy of the rest.",
    )


STATE = OpenApiParameter(
    "state", str, enum=Item.State.values, description="Only this state; needs_review: lowest first."
)


class ConsensusListView(generics.ListAPIView):
    permission_classes = [IsRequester]
    serializer_class = ConsensusItemSerializer

    @extend_schema(
        summary="Consensus per item with its posterior (project owner)",
        parameters=[STATE],
        responses={
            200: ConsensusItemSerializer(many=True),
            **ERRORS,
            400: OpenApiResponse(description="A bad `state`: `errors` names it."),
        },
        tags=["consensus"],
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Item.objects.none()
        project = project_get_for_requester(
            user=self.request.user, project_id=self.kwargs["project_id"]
        )
        state = self.request.query_params.get("state")
        if state is not None and state not in Item.State.values:
            raise serializers.ValidationError(
                {"state": [f"Pick one of: {', '.join(Item.State.values)}."]}
            )
        return consensus_list_for_project(project=project, state=state)


class ConsensusDetailView(APIView):
    permission_classes = [IsRequester]

    @extend_schema(
        summary="One item's consensus with its posterior (project owner)",
        responses={200: ConsensusItemSerializer, **ERRORS},
        tags=["consensus"],
    )
    def get(self, request: Request, project_id: int, item_id: int) -> Response:
        project = project_get_for_requester(user=request.user, project_id=project_id)
        item = consensus_get_for_project(project=project, item_id=item_id)
        return Response(ConsensusItemSerializer(item).data)


class QualityView(APIView):
    permission_classes = [IsRequester]

    @extend_schema(
        summary="Project quality: gold accuracy, mean posterior, answers per item, blocks, "
        "the review bar's trade-off",
        responses={200: QualitySerializer, **ERRORS},
        tags=["consensus"],
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = project_get_for_requester(user=request.user, project_id=project_id)
        return Response(QualitySerializer(project_quality(project=project)).data)


urlpatterns = [
    path(
        "projects/<int:project_id>/consensus/",
        ConsensusListView.as_view(),
        name="project-consensus",
    ),
    path(
        "projects/<int:project_id>/consensus/<int:item_id>/",
        ConsensusDetailView.as_view(),
        name="project-consensus-item",
    ),
    path("projects/<int:project_id>/quality/", QualityView.as_view(), name="project-quality"),
]
