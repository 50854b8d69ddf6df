"""Worker endpoints: projects open to me, next task, submit, skip, history, earnings.

Thin views: validate, call one service, render through the selectors' shapes. A task looks
the same whether its item is gold or not; nothing here ever renders a gold label.
"""

from __future__ import annotations

from decimal import Decimal

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.mturk.frames import question_for_api
from apps.mturk.services.accept import hit_accept
from apps.tasks.models import Answer, Assignment, Project
from apps.tasks.selectors.assignments import (
    ClaimContext,
    answer_for_worker,
    answer_list_for_worker,
    assignment_get_for_worker,
    project_get_open_for_claim,
    project_list_open_to_worker,
    qualification_state_of,
    task_for_worker,
    worker_earnings,
)
from apps.tasks.selectors.projects import project_get_for_requester
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.gold import item_mark_gold
from apps.tasks.services.assignments.skip import MAX_REASON_LENGTH, assignment_skip
from apps.tasks.services.assignments.submit import assignment_submit
from apps.workers.authentication import WorkTokenAuthentication
from apps.workers.models import User
from apps.workers.permissions import IsRequester, IsWorker
from hitlcrowd.api import ApiError
from hitlcrowd.errors import InvalidInput
from hitlcrowd.params import ascii_int

ERRORS = {
    401: OpenApiResponse(description="No or expired token."),
    403: OpenApiResponse(description="Not a worker."),
}
NOT_FOUND = {404: OpenApiResponse(description="No such assignment among yours.")}
# A worker blocked on the project after taking the lease: not recorded, not paid, lease ended.
BLOCKED = {
    403: OpenApiResponse(
        description="Not a worker, or `not_qualified`: blocked on this project (the lease ended)."
    )
}
INVALID = {400: OpenApiResponse(description="Invalid fields: `errors` names each field.")}
GONE = {
    410: OpenApiResponse(
        description="`lease_expired`: the lease ran out; `task_closed`: its item was settled "
        "(resolved or marked ambiguous) before the answer came, which is not recorded or paid."
    )
}


# --- Shapes ----------------------------------------------------------------------------------


class WorkRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class WorkGuidelineSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    text = serializers.CharField()


class WorkItemSerializer(serializers.Serializer):
    ref = serializers.CharField(
        help_text="The item for me: stable across my tasks, not its id (a worker never sees ids)."
    )
    payload = serializers.JSONField()


class WorkQuestionSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["external", "html"])
    url = serializers.CharField(
        help_text="The page to show the worker (in a frame), with MTurk's assignmentId, hitId, "
        "turkSubmitTo and workerId in its query; its form posts the answer to "
        "/mturk/externalSubmit."
    )
    frame_height = serializers.IntegerField(help_text="Pixels; 0: the whole window.")


class WorkTaskSerializer(serializers.Serializer):
    assignment_id = serializers.IntegerField()
    state = serializers.CharField()
    project = WorkRefSerializer()
    item = WorkItemSerializer()
    labels = serializers.ListField(child=serializers.CharField())
    guideline = WorkGuidelineSerializer(allow_null=True)
    lease_expires_at = serializers.DateTimeField()
    question = WorkQuestionSerializer(
        required=False,
        help_text="On an MTurk project's task only: its question, answered through its own "
        "form (not `submit`).",
    )


class WorkAnswerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    assignment_id = serializers.IntegerField()
    project = WorkRefSerializer()
    item_ref = serializers.CharField(help_text="As `item.ref` in the task.")
    label = serializers.CharField()
    seconds_spent = serializers.FloatField()
    guideline_number = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    discard_reason = serializers.ChoiceField(
        choices=["", "blocked", "rejected"],
        help_text="Why the answer no longer counts: `blocked` (a block on the project), "
        "`rejected` (an admin rejected it); blank while it counts.",
    )
    rejected_reason = serializers.CharField(
        allow_null=True, help_text="The admin's reason when they rejected it (its pay reversed)."
    )


class WorkQualificationSerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=["none", "not_started", "testing", "passed", "failed"],
        help_text="`none`: the project has no test.",
    )
    size = serializers.IntegerField(help_text="Test tasks to answer first.")
    pass_rate = serializers.FloatField()


class WorkProjectSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    item_kind = serializers.CharField()
    labels = serializers.ListField(child=serializers.CharField())
    reward_per_answer = serializers.DecimalField(max_digits=10, decimal_places=4)
    lease_seconds = serializers.IntegerField()
    qualification = serializers.SerializerMethodField()

    def get_qualification(self, project) -> WorkQualificationSerializer:
        return {
            "state": qualification_state_of(project),
            "size": project.qualification_size,
            "pass_rate": project.qualification_pass_rate,
        }


class EarningsRowSerializer(serializers.Serializer):
    project = WorkRefSerializer(
        allow_null=True,
        help_text="null: the projects no longer open to me (removed from a group, made "
        "private), folded into one last row that names none of them.",
    )
    answers = serializers.IntegerField(help_text="Answers credited.")
    reward_per_answer = serializers.DecimalField(
        max_digits=10, decimal_places=4, allow_null=True, help_text="null in the folded row."
    )
    bonuses = serializers.DecimalField(max_digits=18, decimal_places=4)
    reversals = serializers.DecimalField(
        max_digits=18, decimal_places=4, help_text="Credits taken back for rejected answers."
    )
    amount = serializers.DecimalField(
        max_digits=18, decimal_places=4, help_text="Credits + bonuses - reversals."
    )


class EarningsSerializer(serializers.Serializer):
    projects = EarningsRowSerializer(many=True)
    answers = serializers.IntegerField()
    bonuses = serializers.DecimalField(max_digits=18, decimal_places=4)
    reversals = serializers.DecimalField(max_digits=18, decimal_places=4)
    total = serializers.DecimalField(max_digits=18, decimal_places=4)


class NextInputSerializer(serializers.Serializer):
    project = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    hit = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="An MTurk HIT's HITId: accept that HIT (the one previewed), not the next.",
    )


class SubmitInputSerializer(serializers.Serializer):
    label = serializers.CharField(trim_whitespace=False)
    seconds_spent = serializers.FloatField(min_value=0)


class SkipInputSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_REASON_LENGTH, default=""
    )


class GoldInputSerializer(serializers.Serializer):
    label = serializers.CharField(trim_whitespace=False)


class GoldItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    is_gold = serializers.BooleanField()
    gold_label = serializers.CharField()


# --- Hot path: next task and submit ----------------------------------------------------------


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """JSON whatever the Accept header or ?format= asks (DRF's IgnoreClientContentNegotiation):
    the default negotiation's parsing of both was ~5% of a hot request's CPU."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class HotPathView(APIView):
    """Next task, submit, skip, one assignment: JSON only (no browsable-API renderer, no
    negotiation) and the cheaper knox check."""

    authentication_classes = [WorkTokenAuthentication, SessionAuthentication]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnlyNegotiation
    permission_classes = [IsWorker]


# --- Views -----------------------------------------------------------------------------------


class WorkProjectListView(generics.ListAPIView):
    permission_classes = [IsWorker]
    serializer_class = WorkProjectSerializer

    @extend_schema(
        summary="Projects open to me, with my qualification state",
        responses={200: WorkProjectSerializer(many=True), **ERRORS},
        tags=["work"],
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Project.objects.none()
        return project_list_open_to_worker(worker=self.request.user)


class NextTaskView(HotPathView):
    @extend_schema(
        summary="Take the next task (or get my live one back)",
        description="Optional `project`: else any project open to me. 204: nothing to do now."
        " Optional `hit` (an MTurk HITId): that HIT, or 409 `hit_unavailable` saying why.",
        request=NextInputSerializer,
        responses={
            200: WorkTaskSerializer,
            204: OpenApiResponse(description="No task for you right now."),
            **INVALID,
            **ERRORS,
            403: OpenApiResponse(description="Not a worker, or `not_qualified` (with why)."),
            409: OpenApiResponse(
                description="`project_closed`, `budget_spent`, `hit_unavailable` (the `hit` is"
                " expired, full, yours before, or you hold another HIT of its type),"
                " `qualification_unavailable` (the"
                " qualification test has no task left for you), `guideline_not_acknowledged`"
                " (its `guideline` names the `number` to read and its `url`), or"
                " `panel_quota_reached` (a panel participant gave their link's quota)."
            ),
        },
        tags=["work"],
    )
    def post(self, request: Request) -> Response:
        # Hot path: fields checked by hand and the task returned as the selector shapes it
        # (the serializers above document it); DRF serializers cost ~0.3 ms per request here.
        body = _body(request)
        project_id = _optional_id(body, "project")
        hit_id = _optional_text(body, "hit")
        if hit_id:  # an MTurk HIT previewed: that HIT or a refusal
            assignment = hit_accept(worker=request.user, hit_id=hit_id, project_id=project_id)
            return Response(_task(assignment, request.user))
        context = None if project_id is None else _open_project(request, project_id)
        assignment = assignment_claim(worker=request.user, context=context)
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(_task(assignment, request.user))


def _task(assignment: Assignment, worker: User) -> dict:
    """The task as `worker` sees it; an MTurk project's with its question (one more query)."""
    task = task_for_worker(assignment=assignment)
    if assignment.project.kind == Project.Kind.MTURK:
        task["question"] = question_for_api(lease=assignment, worker=worker)
    return task


def _open_project(request: Request, project_id: int) -> ClaimContext:
    context = project_get_open_for_claim(worker=request.user, project_id=project_id)
    if context is None:
        raise InvalidInput.field("project", "No open project with this id.")
    return context


def _body(request: Request) -> dict:
    data = request.data
    if not isinstance(data, dict):
        raise ApiError(
            "The request is not valid.",
            code="invalid",
            errors={"non_field_errors": ["Send a JSON object."]},
        )
    return data


def _optional_id(data: dict, field: str) -> int | None:
    value = data.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidInput.field(field, "A valid integer is required.")
    number = value if isinstance(value, int) else ascii_int(value.strip())
    if number is None:
        raise InvalidInput.field(field, "A valid integer is required.")
    if number < 1:
        raise InvalidInput.field(field, "Ensure this value is greater than or equal to 1.")
    return number


def _optional_text(data: dict, field: str) -> str:
    value = data.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput.field(field, "Not a valid string.")
    return value.strip()


def _required(data: dict, field: str):
    if field not in data or data[field] is None:
        raise InvalidInput.field(field, "This field is required.")
    return data[field]


class AssignmentDetailView(HotPathView):
    @extend_schema(
        summary="One of my assignments",
        responses={200: WorkTaskSerializer, **ERRORS, **NOT_FOUND},
        tags=["work"],
    )
    def get(self, request: Request, assignment_id: int) -> Response:
        assignment = assignment_get_for_worker(worker=request.user, assignment_id=assignment_id)
        return Response(WorkTaskSerializer(_task(assignment, request.user)).data)


class SubmitView(HotPathView):
    @extend_schema(
        summary="Answer my task",
        description="Sending the same answer again returns the first (200).",
        request=SubmitInputSerializer,
        responses={
            201: WorkAnswerSerializer,
            200: WorkAnswerSerializer,
            **INVALID,
            **ERRORS,
            **NOT_FOUND,
            **BLOCKED,
            409: OpenApiResponse(description="`answer_conflict`: answered differently."),
            **GONE,
        },
        tags=["work"],
    )
    def post(self, request: Request, assignment_id: int) -> Response:
        data = _body(request)  # checked by hand, see NextTaskView.post
        label = _required(data, "label")
        if not isinstance(label, str):
            raise InvalidInput.field("label", "Not a valid string.")
        answer = assignment_submit(
            worker=request.user,
            assignment_id=assignment_id,
            label=label,
            seconds_spent=_required(data, "seconds_spent"),
        )
        code = status.HTTP_200_OK if answer.replayed else status.HTTP_201_CREATED
        return Response(answer_for_worker(answer=answer), status=code)


class SkipView(HotPathView):
    @extend_schema(
        summary="Skip my task: its slot goes back and I won't get it again",
        request=SkipInputSerializer,
        responses={
            200: WorkTaskSerializer,
            **INVALID,
            **ERRORS,
            **NOT_FOUND,
            **BLOCKED,
            409: OpenApiResponse(description="`answer_conflict`: already answered."),
            **GONE,
        },
        tags=["work"],
    )
    def post(self, request: Request, assignment_id: int) -> Response:
        data = SkipInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = assignment_skip(
            worker=request.user, assignment_id=assignment_id, reason=data.validated_data["reason"]
        )
        return Response(WorkTaskSerializer(_task(assignment, request.user)).data)


class HistoryView(generics.ListAPIView):
    permission_classes = [IsWorker]
    serializer_class = WorkAnswerSerializer

    @extend_schema(
        summary="My answers, newest first",
        responses={200: WorkAnswerSerializer(many=True), **ERRORS},
        tags=["work"],
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Answer.objects.none()
        return answer_list_for_worker(worker=self.request.user)

    def get_serializer(self, instance=None, *args, **kwargs):
        rows = [answer_for_worker(answer=a) for a in instance] if kwargs.get("many") else instance
        return super().get_serializer(rows, *args, **kwargs)


class EarningsView(APIView):
    permission_classes = [IsWorker]

    @extend_schema(
        summary="What I earned per project, from the rewards ledger",
        responses={200: EarningsSerializer, **ERRORS},
        tags=["work"],
    )
    def get(self, request: Request) -> Response:
        rows = worker_earnings(worker=request.user)
        body = {
            "projects": rows,
            "answers": sum(row["answers"] for row in rows),
            "bonuses": sum((row["bonuses"] for row in rows), Decimal(0)),
            "reversals": sum((row["reversals"] for row in rows), Decimal(0)),
            "total": sum((row["amount"] for row in rows), Decimal(0)),
        }
        return Response(EarningsSerializer(body).data)


class GoldItemView(APIView):
    permission_classes = [IsRequester]

    @extend_schema(
        summary="Make an item gold with its known label (project owner)",
        request=GoldInputSerializer,
        responses={
            200: GoldItemSerializer,
            **INVALID,
            401: ERRORS[401],
            403: OpenApiResponse(description="Not a requester."),
            404: OpenApiResponse(description="No such project among yours, or no such item."),
        },
        tags=["items"],
    )
    def post(self, request: Request, project_id: int, item_id: int) -> Response:
        project = project_get_for_requester(user=request.user, project_id=project_id)
        data = GoldInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = item_mark_gold(project=project, item_id=item_id, **data.validated_data)
        return Response(GoldItemSerializer(item).data)


urlpatterns = [
    path("work/projects/", WorkProjectListView.as_view(), name="work-projects"),
    path("work/next/", NextTaskView.as_view(), name="work-next"),
    path(
        "work/assignments/<int:assignment_id>/",
        AssignmentDetailView.as_view(),
        name="work-assignment",
    ),
    path("work/assignments/<int:assignment_id>/submit/", SubmitView.as_view(), name="work-submit"),
    path("work/assignments/<int:assignment_id>/skip/", SkipView.as_view(), name="work-skip"),
    path("work/history/", HistoryView.as_view(), name="work-history"),
    path("work/earnings/", EarningsView.as_view(), name="work-earnings"),
    path(
        "projects/<int:project_id>/items/<int:item_id>/gold",
        GoldItemView.as_view(),
        name="item-gold",
    ),
]
