"""knox token authentication that refuses a malformed token before it reaches the database.

knox decodes the `Authorization: Token ...` value as UTF-8 and looks its first characters up:
a header that is not UTF-8 was a 500 (UnicodeDecodeError) and a NUL a 500 on PostgreSQL, both
before any account was involved. A knox token is printable ASCII (an optional prefix and hex),
so anything else is the same 401 as a wrong token.
"""

from __future__ import annotations

import re

from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework import exceptions

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
