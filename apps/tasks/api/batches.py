"""Batch upload and status.

The upload body is never parsed by DRF (that would read it whole): raw bodies are handed to the
service as the request stream, multipart files as Django's spooled temporary file.
"""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any, BinaryIO

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.tasks import ingest
from apps.tasks.selectors.batches import (
    batch_get_for_requester,
    batch_list_for_requester,
    batch_status,
    batch_status_many,
)
from apps.tasks.selectors.projects import project_get_for_requester
from apps.tasks.services.batches import batch_import
from apps.workers.permissions import IsRequester
from hitlcrowd.api import ApiError
from hitlcrowd.middleware import declared_length

ERRORS = {
    401: OpenApiResponse(description="No or expired token."),
    403: OpenApiResponse(description="Not a requester."),
}
NOT_FOUND = {404: OpenApiResponse(description="No such project or batch among yours.")}


class BatchStatusSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField()
    file_name = serializers.CharField()
    format = serializers.ChoiceField(choices=ingest.FORMATS)
    status = serializers.ChoiceField(choices=["imported", "rejected"])
    created_at = serializers.DateTimeField()
    uploaded_by = serializers.CharField()
    rows = serializers.IntegerField(help_text="Rows in the file.")
    created = serializers.IntegerField(help_text="Items created (re-sent ids are skipped).")
    auto_labeled = serializers.IntegerField(help_text="Items labeled by the model at upload.")
    sent_to_people = serializers.IntegerField(help_text="Items sent to people as HITs.")
    gold = serializers.IntegerField(help_text="Gold items (known answer) in the batch.")
    done = serializers.IntegerField(help_text="Items with a final label now.")
    by_state = serializers.DictField(child=serializers.IntegerField())
    error_count = serializers.IntegerField()
    errors = serializers.ListField(
        child=serializers.DictField(), help_text="First 100 row errors of a rejected batch."
    )


class BatchPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = BatchStatusSerializer(many=True)


class BatchUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV, JSON array or JSON lines.")
    model_version = serializers.CharField(required=False, allow_blank=True, max_length=100)
    format = serializers.ChoiceField(choices=ingest.FORMATS, required=False)


class _IgnoreFormatParam(DefaultContentNegotiation):
    """`?format=` names the upload's format here, not the response's renderer."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)


UPLOAD_PARAMETERS = [
    OpenApiParameter("format", str, enum=list(ingest.FORMATS), description="Upload format."),
    OpenApiParameter("model_version", str, description="Model version of the predictions."),
    OpenApiParameter(
        "Idempotency-Key", str, OpenApiParameter.HEADER, description="Replays return 200."
    ),
]
UPLOAD_REQUEST = {
    "multipart/form-data": BatchUploadSerializer,
    "text/csv": OpenApiTypes.BINARY,
    "application/json": OpenApiTypes.BINARY,
    "application/x-ndjson": OpenApiTypes.BINARY,
}


class ProjectBatchesView(APIView):
    permission_classes = [IsRequester]
    parser_classes = [MultiPartParser]
    content_negotiation_class = _IgnoreFormatParam

    @extend_schema(
        summary="List a project's batches, newest first",
        parameters=[OpenApiParameter("page", int, description="Page number (50 per page).")],
        responses={200: BatchPageSerializer, **ERRORS, **NOT_FOUND},
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = project_get_for_requester(user=request.user, project_id=project_id)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(
            batch_list_for_requester(user=request.user, project=project), request, view=self
        )
        statuses = batch_status_many(batches=page)
        data = BatchStatusSerializer([statuses[b.pk] for b in page], many=True).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        summary="Upload a batch of items (CSV, JSON array or JSON lines)",
        description=(
            "Every row is validated before anything is written: one bad row rejects the batch "
            "(400 `invalid_rows` with the first 100 row errors and `error_count`). Rows with a "
            "prediction at or above the project's confidence threshold are auto-labeled; the "
            "rest become HITs. The same Idempotency-Key (or the same body) returns the first "
            "batch with 200."
        ),
        parameters=UPLOAD_PARAMETERS,
        request=UPLOAD_REQUEST,
        responses={
            201: BatchStatusSerializer,
            200: OpenApiResponse(BatchStatusSerializer, description="A replay: nothing new."),
            400: OpenApiResponse(description="`invalid_rows` or an invalid parameter."),
            409: OpenApiResponse(description="The Idempotency-Key was used for another body."),
            411: OpenApiResponse(description="A chunked body the server did not decode."),
            413: OpenApiResponse(description="Over UPLOAD_MAX_BYTES or UPLOAD_MAX_ROWS."),
            **ERRORS,
            **NOT_FOUND,
        },
    )
    def post(self, request: Request, project_id: int) -> Response:
        project = project_get_for_requester(user=request.user, project_id=project_id)
        stream, file_name, options = _upload_source(request)
        result = batch_import(
            project=project,
            user=request.user,
            stream=stream,
            file_name=file_name,
            fmt=options["format"],
            idempotency_key=request.headers.get("Idempotency-Key"),
            model_version=options["model_version"],
            declared_bytes=options["declared_bytes"],
        )
        body = BatchStatusSerializer(batch_status(batch=result.batch)).data
        return Response(body, status=200 if result.replayed else 201)


class BatchDetailView(APIView):
    permission_classes = [IsRequester]

    @extend_schema(
        summary="A batch's status",
        responses={200: BatchStatusSerializer, **ERRORS, **NOT_FOUND},
    )
    def get(self, request: Request, batch_id: int) -> Response:
        batch = batch_get_for_requester(user=request.user, batch_id=batch_id)
        return Response(BatchStatusSerializer(batch_status(batch=batch)).data)


def _upload_source(request: Request) -> tuple[BinaryIO, str, dict[str, Any]]:
    """The body stream, its file name and the batch options from the query or the form."""
    options = {
        "format": request.query_params.get("format") or None,
        "model_version": request.query_params.get("model_version", ""),
        "declared_bytes": None,
    }
    if request.content_type.startswith("multipart/form-data"):
        form = BatchUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        options["format"] = form.validated_data.get("format") or options["format"]
        options["model_version"] = (
            form.validated_data.get("model_version") or (options["model_version"])
        )
        fmt = options["format"] or _format_or_none(upload.content_type, upload.name)
        options["format"] = fmt
        return upload, upload.name or "", options
    if not options["format"]:
        options["format"] = _format_or_none(request.content_type, "")
    if request.META.get("CONTENT_LENGTH"):
        options["declared_bytes"] = declared_length(request)
    return _raw_body(request), "", options


def _format_or_none(content_type: str, file_name: str) -> str | None:
    try:
        return ingest.detect_format(fmt=None, content_type=content_type, file_name=file_name)
    except ingest.FormatUnknown as exc:
        if file_name:
            return None  # the service tells from the file name or says what is missing
        raise ApiError(str(exc), code="invalid", errors={"format": [str(exc)]}) from exc


def _raw_body(request: Request) -> BinaryIO:
    django_request = request._request
    if request.META.get("CONTENT_LENGTH"):
        return django_request  # reads through Django's LimitedStream, never past the body
    if request.META.get("wsgi.input_terminated"):
        return request.META["wsgi.input"]  # chunked: the server ends the stream; we count
    if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        # A server that does not decode chunked bodies (Django's runserver) hands on none:
        # importing that as an empty file would answer "no rows" to a file that has some.
        raise ApiError(
            "This server does not accept chunked uploads: send a Content-Length.",
            code="length_required",
            status_code=status.HTTP_411_LENGTH_REQUIRED,
        )
    return io.BytesIO(b"")  # neither length nor chunked: HTTP says there is no body


urlpatterns = [
    path("projects/<int:project_id>/batches/", ProjectBatchesView.as_view(), name="batch-list"),
    path("batches/<int:batch_id>/", BatchDetailView.as_view(), name="batch-detail"),
]
