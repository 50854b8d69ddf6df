from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from knox.views import LoginView as KnoxLoginView
from knox.views import LogoutAllView as KnoxLogoutAllView
from knox.views import LogoutView as KnoxLogoutView
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.workers.authentication import TokenAuthentication
from hitlcrowd.api import ApiError


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField()
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
        },
        tags=["auth"],
    )
    def post(self, request: Request, format=None) -> Response:
        credentials = CredentialsSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        user = authenticate(request, **credentials.validated_data)
        if user is None:
            raise ApiError(
                "Unknown username or wrong password.", code="invalid_credentials", status_code=401
            )
        request.user = user
        return super().post(request, format=format)

    def get_user_serializer_class(self):
        return UserSerializer


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


class MeView(APIView):
    @extend_schema(responses={200: UserSerializer, 401: None}, tags=["auth"])
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)
