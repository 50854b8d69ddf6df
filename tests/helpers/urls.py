"""Every URL pattern of the site, with its full route and view: tests walk them all, so that
a new endpoint cannot escape a rule (the worker's visibility of projects)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from apps.workers.permissions import IsWorker

_CONVERTER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
_REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")


@dataclass(frozen=True)
class Route:
    route: (
        str  # as written, joined from the includes: "api/v1/work/assignments/<int:assignment_id>/"
    )
    callback: Callable[..., Any]

    @property
    def kwargs(self) -> list[str]:
        return [m["name"] for m in _CONVERTER.finditer(self.route)] + [
            m["name"] for m in _REGEX_GROUP.finditer(self.route)
        ]

    def url(self, **values: object) -> str:
        path = _CONVERTER.sub(lambda m: str(values[m["name"]]), self.route)
        path = _REGEX_GROUP.sub(lambda m: str(values[m["name"]]), path)
        return "/" + path.replace("^", "").replace("$", "").replace("\\", "")

    @property
    def view_class(self) -> type | None:
        return getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)

    @property
    def is_worker_only(self) -> bool:
        """A worker API view (IsWorker) or a worker page (apps.workers.web.views
        worker_required)."""
        permissions = getattr(self.view_class, "permission_classes", None) or []
        return IsWorker in permissions or getattr(self.callback, "worker_page", False)

    def methods(self) -> list[str]:
        """The HTTP methods the view answers (GET and POST for a function view)."""
        view_class = self.view_class
        if view_class is None:
            return ["get", "post"]
        actions = getattr(self.callback, "actions", None)
        if actions:
            return sorted(actions)
        return [m for m in ("get", "post", "patch", "delete") if hasattr(view_class, m)]


def all_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns, ""))


def _walk(patterns: list, prefix: str) -> Iterator[Route]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield Route(route=route, callback=pattern.callback)
