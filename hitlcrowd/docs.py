"""The API's schema (/api/schema/) and Swagger UI (/api/docs/): for signed-in users only,
unless `API_DOCS_PUBLIC=true`.

The schema holds nothing secret (the code is open), but an anonymous visitor can do nothing
with it except the token login, and a public page tells a scanner what runs here. Swagger UI
comes from the drf-spectacular-sidecar package as static files (no CDN: it works without
internet access, and under the Content-Security-Policy's `script-src 'self'`), with its
start-up script served as a file of its own (`SpectacularSwaggerSplitView`) rather than inline.
The page's view is `hitlcrowd.views.api_docs`: this module must not import drf_spectacular's
views, which import `DocsReaders` from here.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.permissions import BasePermission


class DocsReaders(BasePermission):
    """drf-spectacular's SERVE_PERMISSIONS: the schema for signed-in users (a token or the
    web session), or for anyone when the docs are public."""

    def has_permission(self, request, view) -> bool:
        return settings.API_DOCS_PUBLIC or bool(request.user and request.user.is_authenticated)
