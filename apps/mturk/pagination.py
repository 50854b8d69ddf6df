"""`NextToken` / `MaxResults` for MTurk's List* operations, as boto3's paginators follow them.

botocore's paginators (paginators-1.json: `input_token` and `output_token` NextToken,
`limit_key` MaxResults) send back the NextToken of the last page until a page comes without
one. So a page carries a NextToken only when more rows follow, and a token is good for the
request that issued it: the same operation, the same requester, the same filters.

The token is a keyset cursor (the last row's ordering key), signed with SECRET_KEY (Django's
signing, its own salt): opaque to the client, refused when altered, when another requester or
operation presents it, or when the filters changed. Keyset, not OFFSET: page 1,000 costs what
page 1 costs (an index range scan from the key), and rows added while paging are not skipped
or repeated. At most 255 characters (the PaginationToken shape).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core import signing
from django.db.models import Model, QuerySet

from apps.mturk.errors import request_error

T = TypeVar("T", bound=Model)

SALT = "apps.mturk.pagination.NextToken"
DEFAULT_PAGE = 10
MAX_PAGE = 100  # the ResultSize shape's maximum
TOKEN_MAX = 255


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    next_token: str | None

    def output(self, key: str, render: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
        """The List* output: `NumResults`, the rows under `key`, and `NextToken` if any."""
        out: dict[str, Any] = {"NumResults": len(self.rows), key: [render(r) for r in self.rows]}
        if self.next_token is not None:
            out["NextToken"] = self.next_token
        return out


def paginate(
    queryset: QuerySet[T],
    *,
    params: dict[str, Any],
    operation: str,
    requester_id: int,
    filters: dict[str, Any] | None = None,
    head: Sequence[Any] = (),
) -> Page[Any]:
    """One page of `queryset` (already scoped to the requester) in primary-key order, from
    `params["NextToken"]` on, `params["MaxResults"]` rows (DEFAULT_PAGE when absent).

    `head`: a handful of items held in memory (the system qualification types) listed before
    the rows, keyed -len(head) .. -1 so that one cursor walks both."""
    limit = min(int(params.get("MaxResults") or DEFAULT_PAGE), MAX_PAGE)
    scope = _scope(operation, requester_id, filters or {})
    token = params.get("NextToken")
    after = _after(token, scope) if token is not None else None
    keyed = [
        (key, item)
        for key, item in enumerate(head, start=-len(head))
        if after is None or key > after
    ][: limit + 1]
    if len(keyed) <= limit:
        if after is not None:
            queryset = queryset.filter(pk__gt=after)
        keyed += [(row.pk, row) for row in queryset.order_by("pk")[: limit + 1 - len(keyed)]]
    more = len(keyed) > limit
    keyed = keyed[:limit]
    next_token = _token(scope, keyed[-1][0]) if more else None
    return Page(rows=[item for _, item in keyed], next_token=next_token)


def _scope(operation: str, requester_id: int, filters: dict[str, Any]) -> str:
    canonical = json.dumps(filters, sort_keys=True, default=str, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    return f"{operation}:{requester_id}:{digest}"


def _token(scope: str, after: int) -> str:
    token = signing.dumps({"s": scope, "k": after}, salt=SALT, compress=False)
    assert len(token) <= TOKEN_MAX, "a NextToken must fit the PaginationToken shape"
    return token


def _after(token: str, scope: str) -> int:
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        data = None
    if not isinstance(data, dict) or data.get("s") != scope or not isinstance(data.get("k"), int):
        raise request_error(
            "NextToken is not valid for this request: pass the NextToken of the previous "
            "page of the same operation, with the same parameters.",
            "AWS.ParameterOutOfRange",
        )
    return data["k"]
