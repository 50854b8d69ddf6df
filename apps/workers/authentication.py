"""Token authentication for accounts: knox, hardened, and a leaner twin for the hot path.

knox decodes the `Authorization: Token ...` value as UTF-8 and looks its first characters up:
a header that is not UTF-8 was a 500 (UnicodeDecodeError) and a NUL a 500 on PostgreSQL, both
before any account was involved. A knox token is printable ASCII (an optional prefix and hex),
so anything else is the same 401 as a wrong token.

`WorkTokenAuthentication` is the same check for the worker hot path (next task, submit, skip:
apps/tasks/api/work.py), with the token and its user read by one precompiled query (`sql.py`).
"""

from __future__ import annotations

import binascii
import re
from hmac import compare_digest

from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.settings import CONSTANTS, knox_settings
from knox.signals import token_expired
from rest_framework import exceptions

from apps.workers.sql import tokens_with_user

_PRINTABLE_ASCII = re.compile(rb"[!-~]{1,256}")


def token_text(token: bytes) -> str:
    """The token as text, or AuthenticationFailed("Invalid token.") as for a wrong one."""
    if _PRINTABLE_ASCII.fullmatch(token) is None:
        raise exceptions.AuthenticationFailed("Invalid token.")
    return token.decode("ascii")


class TokenAuthentication(KnoxTokenAuthentication):
    def authenticate_credentials(self, token: bytes):
        return super().authenticate_credentials(token_text(token).encode("ascii"))


class TokenScheme(KnoxTokenScheme):
    target_class = TokenAuthentication  # the OpenAPI security scheme stays "knoxApiToken"


class WorkTokenAuthentication(TokenAuthentication):
    """knox, with the token and its user read by one precompiled query, and without knox's
    sweep of the user's *other* expired tokens (a query on every request, knox 5.x
    `_cleanup_token`). This token's own expiry is still enforced and refreshed the way knox
    does it; the other endpoints (default authentication) still sweep."""

    def authenticate_credentials(self, token: bytes):
        message = "Invalid token."
        token = token_text(token)
        for auth_token in tokens_with_user(token[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(token)
            except (TypeError, binascii.Error):
                raise exceptions.AuthenticationFailed(message) from None
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed(message)

    def _cleanup_token(self, auth_token) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            username = auth_token.user.get_username()
            auth_token.delete()
            token_expired.send(sender=self.__class__, username=username, source="auth_token")
            return True
        return False


class WorkTokenScheme(KnoxTokenScheme):
    # The same header as knoxApiToken; spectacular needs one name per authentication class.
    target_class = WorkTokenAuthentication
    name = "knoxApiTokenWork"
