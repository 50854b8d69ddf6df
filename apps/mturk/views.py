"""Access keys for the MTurk API: the requester's REST endpoints and their page section.

`/api/v1/mturk/access-keys/`: list my keys, create one (the secret is in that response
only); `.../{id}/revoke/`: revoke one. `/requester/mturk/`: the same on a page, with the
account balance GetAccountBalance answers and the endpoint URL to give boto3. Another
requester's key is a 404, as everywhere; workers get 403.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.mturk import selectors
from apps.mturk.forms import LabelFieldForm
from apps.mturk.services import access_keys as services
from apps.mturk.services.categorical import FIELD_MAX, hit_type_label_field_set
from apps.tasks.web.project_page import render_project_page
from apps.tasks.web.views import requester_required
from apps.workers.permissions import IsRequester
from apps.workers.selectors import requester_balance
from hitlcrowd import secretbox
from hitlcrowd.errors import DomainError, InvalidInput
from hitlcrowd.pages import form_add_refusal

ERRORS = {
    401: OpenApiResponse(description="No or expired token."),
    403: OpenApiResponse(description="Not a requester."),
}


class AccessKeySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    access_key_id = serializers.CharField(help_text="boto3's aws_access_key_id.")
    label = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True, help_text="To the minute.")
    revoked_at = serializers.DateTimeField(allow_null=True)
    is_active = serializers.BooleanField()


class NewAccessKeySerializer(AccessKeySerializer):
    secret_access_key = serializers.CharField(
        help_text="boto3's aws_secret_access_key. Shown in this response only: keep it now."
    )


class AccessKeyInputSerializer(serializers.Serializer):
    label = serializers.CharField(
        max_length=services.LABEL_MAX,
        required=False,
        default="",
        allow_blank=True,
        help_text="What the key is for (a script, a machine).",
    )


def _new_key_data(new: services.NewAccessKey) -> dict:
    return {**AccessKeySerializer(new.key).data, "secret_access_key": new.secret}


class AccessKeyListView(APIView):
    permission_classes = [IsRequester]

    @extend_schema(
        summary="My MTurk API access keys",
        description="Live and revoked, newest first; never their secrets.",
        responses={200: AccessKeySerializer(many=True), **ERRORS},
        tags=["mturk"],
    )
    def get(self, request: Request) -> Response:
        keys = selectors.access_key_list(requester=request.user)
        return Response(AccessKeySerializer(keys, many=True).data)

    @extend_schema(
        summary="Create an MTurk API access key",
        description="The secret is in this response only. At most "
        f"{services.LIVE_KEYS_PER_REQUESTER} live keys (409 `access_key_limit`); 409 "
        "`encryption_key_missing` when the server has no ENCRYPTION_KEY.",
        request=AccessKeyInputSerializer,
        responses={
            201: NewAccessKeySerializer,
            400: OpenApiResponse(description="Invalid fields."),
            409: OpenApiResponse(description="Too many live keys, or no ENCRYPTION_KEY."),
            **ERRORS,
        },
        tags=["mturk"],
    )
    def post(self, request: Request) -> Response:
        data = AccessKeyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        new = services.access_key_create(requester=request.user, **data.validated_data)
        return Response(_new_key_data(new), status=status.HTTP_201_CREATED)


class AccessKeyRevokeView(APIView):
    permission_classes = [IsRequester]

    @extend_schema(
        summary="Revoke an MTurk API access key",
        description="Requests signed with it fail from now on (UnrecognizedClientException). "
        "Revoking a revoked key changes nothing.",
        request=None,
        responses={
            200: AccessKeySerializer,
            404: OpenApiResponse(description="No such key among mine."),
            **ERRORS,
        },
        tags=["mturk"],
    )
    def post(self, request: Request, key_id: int) -> Response:
        key = selectors.access_key_get(requester=request.user, key_id=key_id)
        key = services.access_key_revoke(key=key)
        return Response(AccessKeySerializer(key).data)


class LabelFieldSerializer(serializers.Serializer):
    field = serializers.CharField(
        max_length=FIELD_MAX,
        allow_blank=True,
        help_text="The form field (QuestionIdentifier) whose answer is the label; empty, with "
        "no labels: free-form answers again.",
    )
    labels = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        allow_empty=True,
        help_text="The label set: 2 to 50 distinct strings.",
    )


class LabelFieldOutputSerializer(serializers.Serializer):
    hit_type_id = serializers.CharField()
    project = serializers.IntegerField(source="project_id", help_text="Its project's id.")
    field = serializers.CharField(source="label_field")
    labels = serializers.ListField(source="project.labels", child=serializers.CharField())


class HITTypeLabelFieldView(APIView):
    permission_classes = [IsRequester]

    @extend_schema(
        summary="Mark a HIT type's answer field categorical",
        description="Its answers' values of `field` become labels of `labels`, and its "
        "project gets a Dawid-Skene consensus, worker skills and blocking like a native one "
        "(read through projects/{project}/...). Answers already given are labeled from their "
        "XML. The HITs keep their MaxAssignments. An answer without a value in the set "
        "carries no label.",
        request=LabelFieldSerializer,
        responses={
            200: LabelFieldOutputSerializer,
            400: OpenApiResponse(description="Invalid field or label set."),
            404: OpenApiResponse(description="No such HIT type among mine."),
            **ERRORS,
        },
        tags=["mturk"],
    )
    def put(self, request: Request, hit_type_id: str) -> Response:
        data = LabelFieldSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        hit_type = selectors.hit_type_get(requester=request.user, hit_type_id=hit_type_id)
        hit_type = hit_type_label_field_set(
            hit_type=hit_type, by=request.user, **data.validated_data
        )
        return Response(LabelFieldOutputSerializer(hit_type).data)


# --- The page -----------------------------------------------------------------------------


def endpoint_url(request: HttpRequest) -> str:
    """What to give boto3 as endpoint_url: this site's /mturk/."""
    return settings.SITE_URL.rstrip("/") + reverse("mturk-endpoint")


@requester_required
def access_keys_page(request: HttpRequest) -> HttpResponse:
    return _render_page(request, new=None)


@requester_required
@require_POST
def access_key_create_page(request: HttpRequest) -> HttpResponse:
    try:
        new = services.access_key_create(
            requester=request.user, label=request.POST.get("label", "")
        )
    except DomainError as exc:
        messages.error(request, exc.as_validation_error().messages[0])
        return redirect("requester-mturk")
    # Rendered, not redirected: the secret is shown on this response only, stored nowhere.
    return _render_page(request, new=new, status=201)


@requester_required
@require_POST
def access_key_revoke_page(request: HttpRequest, key_id: int) -> HttpResponse:
    key = selectors.access_key_get(requester=request.user, key_id=key_id)
    services.access_key_revoke(key=key)
    messages.success(request, f"Access key {key.access_key_id} revoked.")
    return redirect("requester-mturk")


@requester_required
@require_POST
def label_field_page(request: HttpRequest, hit_type_id: str) -> HttpResponse:
    """The project page's "Categorical answer field" form: the same service as the API's
    PUT label-field/, its refusals under the form's fields (400)."""
    hit_type = selectors.hit_type_get(requester=request.user, hit_type_id=hit_type_id)
    clear = "clear" in request.POST
    form = LabelFieldForm({"field": "", "labels": ""} if clear else request.POST)
    if form.is_valid():
        try:
            hit_type_label_field_set(hit_type=hit_type, by=request.user, **form.cleaned_data)
        except InvalidInput as exc:
            form_add_refusal(form, exc)
        else:
            text = (
                f"Answer field “{hit_type.label_field}” is categorical: its answers get a "
                "consensus."
                if hit_type.label_field
                else "The answers are free form again."
            )
            messages.success(request, text)
            return redirect(reverse("requester-project", args=[hit_type.project_id]) + "#mturk")
    return render_project_page(request, hit_type.project, status=400, label_field_form=form)


def _render_page(request: HttpRequest, *, new, status: int = 200) -> HttpResponse:
    context = {
        "keys": selectors.access_key_list(requester=request.user),
        "new": new,
        "balance": requester_balance(requester=request.user),
        "endpoint_url": endpoint_url(request),
        "can_create": secretbox.is_configured(),
        "label_max": services.LABEL_MAX,
    }
    return render(request, "mturk/access_keys.html", context, status=status)
