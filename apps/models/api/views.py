"""The learning loop's API, for a project's owner (another requester gets 404, a worker 403,
no token 401)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from apps.models.api.serializers import (
    AutoLabelPreviewInput,
    AutoLabelPreviewSerializer,
    FeedbackInput,
    FeedbackOutput,
    LearningSettingsSerializer,
    ModelVersionSerializer,
    PredictInput,
    PredictLabeled,
    PredictQueued,
    QueuedSerializer,
    RescoreSerializer,
    TrainingRunSerializer,
)
from apps.models.selectors import (
    auto_label_preview,
    incumbent,
    learning_settings_of,
    model_version_active,
    model_version_list,
    rescore_latest,
    training_run_list,
)
from apps.models.services.feedback import item_feedback
from apps.models.services.learning_settings import learning_settings_update
from apps.models.services.scoring import item_predict
from apps.models.services.training import retrain_request
from apps.tasks.selectors.projects import project_get_for_requester
from apps.workers.permissions import IsRequester
from hitlcrowd.api import ApiError

PROJECT = OpenApiParameter("project_id", int, OpenApiParameter.PATH)
ERRORS = {
    401: OpenApiResponse(description="No or expired token."),
    403: OpenApiResponse(description="Not a requester."),
    404: OpenApiResponse(description="No such project (or item) among yours."),
}
INVALID = {400: OpenApiResponse(description="Invalid fields: `errors` maps each to messages.")}
MAX_LIST = 200


class _ProjectView(APIView):
    permission_classes = [IsRequester]

    def project(self, project_id: int):
        return project_get_for_requester(user=self.request.user, project_id=project_id)


@extend_schema(parameters=[PROJECT])
class ModelVersionListView(_ProjectView):
    @extend_schema(
        summary="A project's model versions, newest first",
        responses={200: ModelVersionSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, project_id: int) -> Response:
        versions = model_version_list(project=self.project(project_id))[:MAX_LIST]
        return Response(ModelVersionSerializer(versions, many=True).data)


@extend_schema(parameters=[PROJECT])
class ModelVersionActiveView(_ProjectView):
    @extend_schema(
        summary="The active model version",
        responses={
            200: ModelVersionSerializer,
            **ERRORS,
            409: OpenApiResponse(description="code `no_active_model`: none promoted yet."),
        },
    )
    def get(self, request: Request, project_id: int) -> Response:
        version = model_version_active(project=self.project(project_id))
        if version is None:
            raise ApiError(
                "No model version has been promoted yet.",
                code="no_active_model",
                status_code=status.HTTP_409_CONFLICT,
            )
        return Response(ModelVersionSerializer(version).data)


@extend_schema(parameters=[PROJECT])
class ModelVersionIncumbentView(_ProjectView):
    @extend_schema(
        summary="The model auto-labels are judged by, with its record",
        description="The active version, else the record of the import's model (the "
        "predictions that came with a batch). A new version is promoted only when the lower "
        "bound of its accuracy is above this one's.",
        responses={
            200: ModelVersionSerializer,
            **ERRORS,
            409: OpenApiResponse(description="code `no_model`: no version and no import's model."),
        },
    )
    def get(self, request: Request, project_id: int) -> Response:
        version = incumbent(project=self.project(project_id))
        if version is None:
            raise ApiError(
                "No model version and no imported predictions yet.",
                code="no_model",
                status_code=status.HTTP_409_CONFLICT,
            )
        return Response(ModelVersionSerializer(version).data)


@extend_schema(parameters=[PROJECT])
class AutoLabelPreviewView(_ProjectView):
    @extend_schema(
        summary="What an auto-label accuracy (or threshold) would do, before saving it",
        description="The confidence threshold the model's record gives for "
        "`auto_label_accuracy` (or `confidence_threshold` as given), and how many auto-labeled "
        "items are below it: saving it sends those back to people.",
        parameters=[AutoLabelPreviewInput],
        responses={200: AutoLabelPreviewSerializer, **INVALID, **ERRORS},
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = self.project(project_id)
        data = AutoLabelPreviewInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        if "auto_label_accuracy" not in given and "confidence_threshold" in given:
            accuracy = None  # a threshold by hand
        else:
            accuracy = given.get("auto_label_accuracy", project.auto_label_accuracy)
        preview = auto_label_preview(
            project=project,
            accuracy=accuracy,
            confidence_threshold=given.get("confidence_threshold"),
        )
        return Response(AutoLabelPreviewSerializer(preview).data)


@extend_schema(parameters=[PROJECT])
class TrainingRunListView(_ProjectView):
    @extend_schema(
        summary="Recent training runs: promoted, kept the old model, skipped or failed, and why",
        responses={200: TrainingRunSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, project_id: int) -> Response:
        runs = training_run_list(project=self.project(project_id))[:MAX_LIST]
        return Response(TrainingRunSerializer(runs, many=True).data)


@extend_schema(parameters=[PROJECT])
class RetrainView(_ProjectView):
    @extend_schema(
        summary="Retrain now (queued); promoted only if better than the active version",
        request=None,
        responses={
            202: QueuedSerializer,
            **ERRORS,
            409: OpenApiResponse(description="code `retrain_running`: one is running."),
        },
    )
    def post(self, request: Request, project_id: int) -> Response:
        retrain_request(project=self.project(project_id), trigger="manual")
        body = {"queued": True, "detail": "Follow it at models/runs."}
        return Response(body, status=status.HTTP_202_ACCEPTED)


@extend_schema(parameters=[PROJECT])
class RescoreProgressView(_ProjectView):
    @extend_schema(
        summary="Progress of the latest re-scoring of open items",
        responses={
            200: RescoreSerializer,
            **ERRORS,
            409: OpenApiResponse(description="code `no_rescore`: nothing re-scored yet."),
        },
    )
    def get(self, request: Request, project_id: int) -> Response:
        run = rescore_latest(project=self.project(project_id))
        if run is None:
            raise ApiError("No re-scoring has run yet.", code="no_rescore", status_code=409)
        return Response(RescoreSerializer(run).data)


@extend_schema(parameters=[PROJECT])
class LearningSettingsView(_ProjectView):
    @extend_schema(
        summary="Learning settings", responses={200: LearningSettingsSerializer, **ERRORS}
    )
    def get(self, request: Request, project_id: int) -> Response:
        row = learning_settings_of(self.project(project_id))
        return Response(LearningSettingsSerializer(row).data)

    @extend_schema(
        summary="Change learning settings",
        request=LearningSettingsSerializer,
        responses={200: LearningSettingsSerializer, **INVALID, **ERRORS},
    )
    def patch(self, request: Request, project_id: int) -> Response:
        project = self.project(project_id)
        data = LearningSettingsSerializer(
            learning_settings_of(project), data=request.data, partial=True
        )
        data.is_valid(raise_exception=True)
        row = learning_settings_update(project=project, **data.validated_data)
        return Response(LearningSettingsSerializer(row).data)


@extend_schema(parameters=[PROJECT])
class PredictView(_ProjectView):
    @extend_schema(
        summary="Label an item now if the model is sure, else send it to people",
        description=(
            "200: the active model's label is at or above the project's confidence threshold "
            "(the item is stored as auto-labeled). 202: the item and its HIT were created; "
            "poll `poll_url`, or get the final label by webhook at the project's callback_url. "
            "Idempotent by external_id."
        ),
        request=PredictInput,
        responses={
            200: PredictLabeled,
            202: PredictQueued,
            **INVALID,
            **ERRORS,
            409: OpenApiResponse(
                description="code `external_id_conflict`; or `model_unloadable`: the active "
                "version cannot be loaded (saved by another scikit-learn version, say), a "
                "retrain is queued and predictions resume once it promotes a new version."
            ),
        },
    )
    def post(self, request: Request, project_id: int) -> Response:
        project = self.project(project_id)
        data = PredictInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = item_predict(project=project, **data.validated_data)
        item = result.item
        if result.auto_labeled:
            body = {
                "item_id": item.pk,
                "external_id": item.external_id,
                "label": result.label,
                "confidence": result.confidence,
                "model_version": result.model_version,
            }
            return Response(body)
        url = reverse("project-item", args=[project.pk, item.pk], request=request)
        body = {
            "item_id": item.pk,
            "external_id": item.external_id,
            "status": item.state,
            "poll_url": url,
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)


@extend_schema(parameters=[PROJECT, OpenApiParameter("item_id", int, OpenApiParameter.PATH)])
class FeedbackView(_ProjectView):
    @extend_schema(
        summary="Accept or correct the model's label of an item (label source `user`)",
        request=FeedbackInput,
        responses={201: FeedbackOutput, **INVALID, **ERRORS},
    )
    def post(self, request: Request, project_id: int, item_id: int) -> Response:
        project = self.project(project_id)
        data = FeedbackInput(data=request.data)
        data.is_valid(raise_exception=True)
        feedback = item_feedback(
            project=project, item_id=item_id, user=request.user, **data.validated_data
        )
        return Response(FeedbackOutput(feedback).data, status=status.HTTP_201_CREATED)
