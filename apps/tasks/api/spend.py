"""A requester's spend on a project, from the rewards ledger (apps/workers/ledger.py)."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.tasks.selectors.projects import project_get_for_requester
from apps.workers.permissions import IsRequester
from apps.workers.selectors import budget_status, project_spend, project_spend_per_worker

MONEY = {"max_digits": 18, "decimal_places": 4}


class SpendTotalsSerializer(serializers.Serializer):
    answers = serializers.IntegerField(help_text="Answers credited.")
    rejected = serializers.IntegerField(help_text="Answers whose credit was reversed.")
    credits = serializers.DecimalField(**MONEY)
    bonuses = serializers.DecimalField(**MONEY)
    reversals = serializers.DecimalField(**MONEY)
    amount = serializers.DecimalField(**MONEY, help_text="Credits + bonuses - reversals.")


class SpendWorkerSerializer(SpendTotalsSerializer):
    worker_id = serializers.IntegerField()
    username = serializers.CharField(source="worker__username")


class SpendSerializer(serializers.Serializer):
    budget = serializers.DecimalField(**MONEY, allow_null=True, help_text="null: unlimited.")
    budget_remaining = serializers.DecimalField(**MONEY, allow_null=True)
    budget_exhausted = serializers.BooleanField()
    totals = SpendTotalsSerializer()
    workers = SpendWorkerSerializer(many=True)


class ProjectSpendView(APIView):
    permission_classes = [IsRequester]

    @extend_schema(
        summary="What a project spent: totals and per worker",
        responses={
            200: SpendSerializer,
            401: OpenApiResponse(description="No or expired token."),
            403: OpenApiResponse(description="Not a requester."),
            404: OpenApiResponse(description="No such project among yours."),
        },
        tags=["projects"],
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = project_get_for_requester(user=request.user, project_id=project_id)
        budget = budget_status(project=project)
        body = {
            "budget": budget["budget"],
            "budget_remaining": budget["remaining"],
            "budget_exhausted": budget["exhausted"],
            "totals": project_spend(project=project),
            "workers": project_spend_per_worker(project=project),
        }
        return Response(SpendSerializer(body).data)


urlpatterns = [
    path("projects/<int:project_id>/spend/", ProjectSpendView.as_view(), name="project-spend"),
]
