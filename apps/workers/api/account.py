"""My account through the API, next to `GET me/` (views.py): change my password or my email
address. Any account may (requesters and admins too: these are about the account, not the
work); there is no way to name another account, so nobody changes someone else's. Every write
asks for the current password: a token or a session left open is not enough to take the
account over. The same services as the worker's account page (apps/workers/web/account.py)."""

from __future__ import annotations

from django.contrib.auth import update_session_auth_hash
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from knox.models import AuthToken
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.workers.accounts import user_email_change, user_password_change

ERRORS = {
    400: OpenApiResponse(description="Invalid fields (a wrong `current_password` among them)."),
    401: OpenApiResponse(description="No or expired token."),
}


class PasswordChangeInputSerializer(serializers.Serializer):
    current_password = serializers.CharField(max_length=4096, trim_whitespace=False)
    new_password = serializers.CharField(
        max_length=4096, trim_whitespace=False, help_text="Checked by the password validators."
    )


class EmailChangeInputSerializer(serializers.Serializer):
    # Checked by the service (a 400 naming `email`), as the page's form is.
    email = serializers.CharField(max_length=254)
    current_password = serializers.CharField(max_length=4096, trim_whitespace=False)


class EmailChangeSerializer(serializers.Serializer):
    email = serializers.EmailField(help_text="The account's address now.")
    pending_email = serializers.EmailField(
        allow_null=True,
        help_text="The new address, changed once the link sent to it is opened; null when "
        "the change is made (a deployment without email makes it at once).",
    )


class MyPasswordView(APIView):
    @extend_schema(
        summary="Change my password",
        description="Every other session and API token of the account ends; the token (or "
        "session) of this request keeps working.",
        request=PasswordChangeInputSerializer,
        responses={204: None, **ERRORS},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = PasswordChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = request.auth if isinstance(request.auth, AuthToken) else None
        session_key = None if token is not None else request.session.session_key
        user = user_password_change(
            user=request.user,
            current_password=data.validated_data["current_password"],
            new_password=data.validated_data["new_password"],
            keep_session_key=session_key,
            keep_token=token,
        )
        if session_key is not None:
            update_session_auth_hash(request, user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyEmailView(APIView):
    @extend_schema(
        summary="Change my email address",
        description="When the deployment sends email, a link goes to the new address and the "
        "change waits for it (202, `pending_email`), and the old address is told; otherwise "
        "the change is made now (200).",
        request=EmailChangeInputSerializer,
        responses={200: EmailChangeSerializer, 202: EmailChangeSerializer, **ERRORS},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = EmailChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change = user_email_change(user=request.user, **data.validated_data)
        body = {"email": change.email, "pending_email": change.pending}
        code = status.HTTP_202_ACCEPTED if change.pending else status.HTTP_200_OK
        return Response(EmailChangeSerializer(body).data, status=code)


urlpatterns = [
    path("me/password/", MyPasswordView.as_view(), name="api-me-password"),
    path("me/email/", MyEmailView.as_view(), name="api-me-email"),
]
