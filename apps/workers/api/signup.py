"""Sign-up through the API, and a new email verification link: the same services and rules
as the pages (apps/workers/signup.py).

No token comes back: the new account logs in with `POST auth/token/` like any other, so
there is one way to get a token, behind the login lockout.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.crowds.selectors import MAX_TOKEN_LENGTH
from apps.workers.errors import SignupThrottled, VerificationRequestThrottled
from apps.workers.models import User
from apps.workers.signup import (
    VERIFICATION_REQUESTED,
    email_verification_request,
    signup_check_open,
    user_signup,
)
from hitlcrowd.clientip import client_ip
from hitlcrowd.throttling import rate_limit


class SignupInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, trim_whitespace=False)
    email = serializers.CharField(max_length=254, help_text="Checked with a link, if mail is sent.")
    password = serializers.CharField(
        trim_whitespace=False, style={"input_type": "password"}, max_length=4096
    )
    role = serializers.ChoiceField(
        choices=User.Role.choices,
        default=User.Role.WORKER,
        help_text="`requester` only where REQUESTER_SIGNUP is open.",
    )
    invite = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_TOKEN_LENGTH,
        help_text="An invite link's token: joins its group (required where sign-up is by invite).",
    )


class SignupGroupSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="group_id")
    name = serializers.CharField(source="group.name")


class SignedUpSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="user.pk")
    username = serializers.CharField(source="user.username")
    email = serializers.CharField(source="user.email")
    role = serializers.CharField(source="user.role")
    email_verified = serializers.BooleanField(source="user.email_verified")
    verification_sent = serializers.BooleanField(
        help_text="false: this deployment sends no email; the account works unverified."
    )
    group = SignupGroupSerializer(
        source="joined.membership", allow_null=True, help_text="The invite link's group."
    )


class SignupView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Make an account (where this deployment takes sign-ups)",
        request=SignupInputSerializer,
        responses={
            201: SignedUpSerializer,
            400: OpenApiResponse(description="Invalid fields: `errors` names each field."),
            403: OpenApiResponse(
                description="`signup_closed`, or `signup_invite_only`: send an `invite`."
            ),
            404: OpenApiResponse(description="`invite_not_found`."),
            410: OpenApiResponse(
                description="`invite_expired`, `invite_revoked` or `invite_used_up`."
            ),
            429: OpenApiResponse(
                description="`throttled`: too many sign-ups from this address; Retry-After."
            ),
        },
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        rate = settings.SIGNUP_RATE_PER_CLIENT
        rate_limit("signup", client_ip(request), rate, SignupThrottled)
        raw = request.data if isinstance(request.data, dict) else {}
        role = raw.get("role", User.Role.WORKER)
        if role in User.Role.values:  # a closed door is 403 whatever the fields say
            signup_check_open(role=role, has_invite=bool(raw.get("invite")))
        data = SignupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        done = user_signup(
            username=fields["username"],
            email=fields["email"],
            password=fields["password"],
            role=fields["role"],
            invite_token=fields.get("invite") or None,
        )
        return Response(SignedUpSerializer(done).data, status=status.HTTP_201_CREATED)


class VerificationRequestInputSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254, help_text="The address to confirm.")


class VerificationRequestedSerializer(serializers.Serializer):
    detail = serializers.CharField()


class VerificationRequestView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Mail a new link that confirms an email address",
        description="Sent to each active account whose address it is and not yet confirmed. "
        "The answer is the same whatever the address (202), so it tells nobody which "
        "addresses have accounts; past VERIFY_EMAIL_RATE_PER_EMAIL requests for one address "
        "nothing more is sent.",
        request=VerificationRequestInputSerializer,
        responses={
            202: VerificationRequestedSerializer,
            400: OpenApiResponse(description="`email` is not an address."),
            409: OpenApiResponse(description="`email_disabled`: this deployment sends no email."),
            429: OpenApiResponse(
                description="`throttled`: too many requests from this client; Retry-After."
            ),
        },
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        rate = settings.VERIFY_EMAIL_RATE_PER_CLIENT
        rate_limit("verify_email_client", client_ip(request), rate, VerificationRequestThrottled)
        data = VerificationRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        email_verification_request(email=data.validated_data["email"])
        body = VerificationRequestedSerializer({"detail": VERIFICATION_REQUESTED}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


urlpatterns = [
    path("auth/signup/", SignupView.as_view(), name="api-signup"),
    path(
        "auth/verify-email/resend/",
        VerificationRequestView.as_view(),
        name="api-verify-email-resend",
    ),
]
