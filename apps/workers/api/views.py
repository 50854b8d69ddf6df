from __future__ import annotations

from django.contrib.auth import authenticate
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from knox.models import AuthToken
from knox.settings import knox_settings
from knox.views import LoginView as KnoxLoginView
from knox.views import LogoutAllView as KnoxLogoutAllView
from knox.views import LogoutView as KnoxLogoutView
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.mturk.workers import worker_id_of
from apps.workers.authentication import TokenAuthentication
from hitlcrowd.api import ApiError
from hitlcrowd.lockout import cooloff_seconds, is_locked_out


class CredentialsSerializer(serializers.Serializer):
    # The user model's own limit: longer names cannot exist, and the lockout records the name.
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    role = serializers.CharField()
    is_staff = serializers.BooleanField()


class TokenLoginView(KnoxLoginView):
    """Exchange a username and password for an expiring API token (stored hashed)."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=CredentialsSerializer,
        responses={
            200: inline_serializer(
                "TokenResponse",
                {
                    "token": serializers.CharField(),
                    "expiry": serializers.DateTimeField(),
                    "user": UserSerializer(),
                },
            ),
            400: None,
            401: None,
            403: OpenApiResponse(description="`token_limit_reached`: revoke a token first."),
            429: OpenApiResponse(
                description="`login_locked_out` (too many failed logins for this account or"
                " from this address) or `throttled`; Retry-After gives the seconds to wait."
            ),
        },
        tags=["auth"],
    )
    def post(self, request: Request, format=None) -> Response:
        credentials = CredentialsSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        user = authenticate(request, **credentials.validated_data)
        if is_locked_out(request):
            raise ApiError(
                "Too many failed logins for this account or from this address; try again later.",
                code="login_locked_out",
                status_code=429,
                retry_after=cooloff_seconds(),
            )
        if user is None:
            raise ApiError(
                "Unknown username or wrong password.", code="invalid_credentials", status_code=401
            )
        request.user = user
        _refuse_past_the_token_limit(user, knox_settings.TOKEN_LIMIT_PER_USER)
        return super().post(request, format=format)

    def get_user_serializer_class(self):
        return UserSerializer

    def get_token_limit_per_user(self) -> None:
        # Checked in post(), answering in the API's error shape: knox's own check (a second
        # count, another shape) has nothing left to do.
        return None


def _refuse_past_the_token_limit(user, limit: int | None) -> None:
    if limit is None:
        return
    live = AuthToken.objects.filter(user=user).filter(
        Q(expiry__gt=timezone.now()) | Q(expiry__isnull=True)
    )
    if live.count() >= limit:
        raise ApiError(
            f"You already hold {limit} live API tokens, the most one account may hold. Revoke"
            " unused ones (POST auth/logout/ with a token, or auth/logout-all/), or wait until"
            " they expire.",
            code="token_limit_reached",
            status_code=403,
        )


@extend_schema_view(
    post=extend_schema(
        summary="Revoke the token this request used", request=None, responses={204: None, 401: None}
    )
)
class TokenLogoutView(KnoxLogoutView):
    authentication_classes = [TokenAuthentication]


@extend_schema_view(
    post=extend_schema(
        summary="Revoke every token of mine", request=None, responses={204: None, 401: None}
    )
)
class TokenLogoutAllView(KnoxLogoutAllView):
    authentication_classes = [TokenAuthentication]


class MeSerializer(UserSerializer):
    email = serializers.CharField(help_text="Empty when the account has none.")
    email_verified = serializers.BooleanField(
        help_text="Whether a link sent to this address was opened (sign-up, address change)."
    )
    mturk_worker_id = serializers.SerializerMethodField(
        help_text="A worker's WorkerId in the MTurk-compatible API (`A` + 13 letters and "
        "digits): tell it to a requester who asks. null for other accounts."
    )

    def get_mturk_worker_id(self, user) -> str | None:
        return worker_id_of(user) if user.is_worker else None


class MeView(APIView):
    """Who am I. Changing my password and address: me/password/, me/email/ (account.py)."""

    @extend_schema(responses={200: MeSerializer, 401: None}, tags=["auth"])
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)
