"""A project's owner blocks, unblocks and rejects the answers of one worker on that project,
with a reason the worker reads (issue 14): the same services as the admin's pages
(apps/workers/admin/blocking.py). Another requester's project is a 404, as everywhere in the
requester API; blocking everywhere is the admins' alone."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.tasks.selectors.projects import project_get_for_requester
from apps.workers.ledger import (
    MAX_CHOSEN_ANSWERS,
    MAX_REASON_LENGTH,
    AnswerChoice,
    ledger_reject_answers,
)
from apps.workers.models import Block, User
from apps.workers.permissions import IsRequester
from apps.workers.services import worker_block, worker_unblock

ERRORS = {
    400: OpenApiResponse(description="Invalid fields: `errors` names each field."),
    401: OpenApiResponse(description="No or expired token."),
    403: OpenApiResponse(description="Not a requester."),
    404: OpenApiResponse(description="No such project among yours, or no such worker."),
}


class ChoiceInputSerializer(serializers.Serializer):
    since = serializers.DateTimeField(required=False, help_text="Answers from then (included).")
    until = serializers.DateTimeField(required=False, help_text="Answers until then (excluded).")

    def choice(self) -> AnswerChoice:
        data = self.validated_data
        ids = data.get("answer_ids")
        return AnswerChoice(
            answer_ids=None if ids is None else tuple(ids),
            since=data.get("since"),
            until=data.get("until"),
        )


class BlockInputSerializer(ChoiceInputSerializer):
    reason = serializers.CharField(max_length=MAX_REASON_LENGTH, help_text="Shown to the worker.")
    reject_answers = serializers.BooleanField(
        default=False,
        help_text="Also reject their answers on the project (all, or those in since/until): "
        "their pay is reversed.",
    )


class RejectInputSerializer(ChoiceInputSerializer):
    reason = serializers.CharField(max_length=MAX_REASON_LENGTH, help_text="Shown to the worker.")
    answer_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=MAX_CHOSEN_ANSWERS,
        help_text="The worker's answers to reject (with since/until: those of them in range). "
        "Left out: all their answers on the project (in range).",
    )


class UnblockInputSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=MAX_REASON_LENGTH, required=False, default="", allow_blank=True
    )


class BlockSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    worker_id = serializers.IntegerField()
    project_id = serializers.IntegerField()
    reason = serializers.CharField()
    automatic = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    lifted_at = serializers.DateTimeField(allow_null=True)


class RejectedSerializer(serializers.Serializer):
    reversed = serializers.IntegerField(help_text="Answers whose pay was reversed now.")


def _target(request: Request, project_id: int, worker_id: int):
    project = project_get_for_requester(user=request.user, project_id=project_id)
    worker = get_object_or_404(User, pk=worker_id, role=User.Role.WORKER)
    return project, worker


class WorkerBlockView(APIView):
    permission_classes = [IsRequester]

    @extend_schema(
        summary="Block a worker on my project, with a reason they read",
        description="Their answers leave the consensus for good and their leases end. "
        "An active block is returned as it is (200).",
        request=BlockInputSerializer,
        responses={201: BlockSerializer, 200: BlockSerializer, **ERRORS},
        tags=["workers"],
    )
    def post(self, request: Request, project_id: int, worker_id: int) -> Response:
        project, worker = _target(request, project_id, worker_id)
        data = BlockInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reject = data.choice() if data.validated_data["reject_answers"] else None
        before = Block.objects.filter(worker=worker, project=project, lifted_at__isnull=True)
        existed = before.exists()
        block = worker_block(
            worker=worker,
            project=project,
            reason=data.validated_data["reason"],
            by=request.user,
            reject=reject,
        )
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(BlockSerializer(block).data, status=code)


class WorkerUnblockView(APIView):
    permission_classes = [IsRequester]

    @extend_schema(
        summary="Lift a worker's block on my project",
        description="Their discarded answers stay out of the consensus. No active block: 404.",
        request=UnblockInputSerializer,
        responses={200: BlockSerializer, **ERRORS},
        tags=["workers"],
    )
    def post(self, request: Request, project_id: int, worker_id: int) -> Response:
        project, worker = _target(request, project_id, worker_id)
        data = UnblockInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        active = Block.objects.filter(worker=worker, project=project, lifted_at__isnull=True)
        block = get_object_or_404(active)
        block = worker_unblock(block=block, by=request.user, reason=data.validated_data["reason"])
        return Response(BlockSerializer(block).data)


class WorkerRejectView(APIView):
    permission_classes = [IsRequester]

    @extend_schema(
        summary="Reject a worker's answers on my project, with a reason they read",
        description="Their pay for those answers is reversed and the answers leave the "
        "consensus for good. Rejecting again reverses nothing more.",
        request=RejectInputSerializer,
        responses={200: RejectedSerializer, **ERRORS},
        tags=["workers"],
    )
    def post(self, request: Request, project_id: int, worker_id: int) -> Response:
        project, worker = _target(request, project_id, worker_id)
        data = RejectInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reversed_ = ledger_reject_answers(
            worker=worker,
            project=project,
            by=request.user,
            reason=data.validated_data["reason"],
            choice=data.choice(),
        )
        return Response(RejectedSerializer({"reversed": reversed_}).data)


urlpatterns = [
    path(
        "projects/<int:project_id>/workers/<int:worker_id>/block/",
        WorkerBlockView.as_view(),
        name="project-worker-block",
    ),
    path(
        "projects/<int:project_id>/workers/<int:worker_id>/unblock/",
        WorkerUnblockView.as_view(),
        name="project-worker-unblock",
    ),
    path(
        "projects/<int:project_id>/workers/<int:worker_id>/reject/",
        WorkerRejectView.as_view(),
        name="project-worker-reject",
    ),
]
