"""Reads of items for their project's owner: filters, keyset iteration, counts per state.

Callers fetch the project with `project_get_for_requester` first (404 for someone else's), so
every queryset here starts from that one project.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import CharField, Count, F, Func, QuerySet

from apps.tasks.models import Batch, Item, Project
from hitlcrowd.errors import InvalidInput, one_or_not_found
from hitlcrowd.params import ascii_int

TRUE_WORDS = frozenset({"1", "true", "yes"})
FALSE_WORDS = frozenset({"0", "false", "no"})


@dataclass(frozen=True)
class ItemFilters:
    states: tuple[str, ...] = ()
    batch_id: int | None = None
    is_gold: bool | None = None
    external_id: str | None = None

    def apply(self, items: QuerySet[Item]) -> QuerySet[Item]:
        if self.states:
            items = items.filter(state__in=self.states)
        if self.batch_id is not None:
            items = items.filter(batch_id=self.batch_id)
        if self.is_gold is not None:
            items = items.filter(is_gold=self.is_gold)
        if self.external_id is not None:
            items = items.filter(external_id=self.external_id)
        return items


def item_filters_parse(*, project: Project, params: Mapping[str, Any]) -> ItemFilters:
    """Read `state` (repeated or comma-separated), `batch`, `is_gold` and `external_id`.

    `params` is a QueryDict (or a plain dict). Raises InvalidInput naming the field.
    """
    errors: dict[str, str] = {}
    states = _parse_states(_get_list(params, "state"), errors)
    batch_id = _parse_batch(project, _get_one(params, "batch"), errors)
    is_gold = _parse_bool(_get_one(params, "is_gold"), "is_gold", errors)
    external_id = _get_one(params, "external_id") or None
    if errors:
        raise InvalidInput(errors={name: [message] for name, message in errors.items()})
    return ItemFilters(states=states, batch_id=batch_id, is_gold=is_gold, external_id=external_id)


def _get_list(params: Mapping[str, Any], name: str) -> list[str]:
    values = params.getlist(name) if hasattr(params, "getlist") else params.get(name, [])
    if isinstance(values, str):
        values = [values]
    return [part.strip() for value in values for part in str(value).split(",") if part.strip()]


def _get_one(params: Mapping[str, Any], name: str) -> str:
    value = params.get(name)
    return "" if value is None else str(value).strip()


def _parse_states(values: list[str], errors: dict[str, str]) -> tuple[str, ...]:
    unknown = [v for v in values if v not in Item.State.values]
    if unknown:
        expected = ", ".join(Item.State.values)
        errors["state"] = f"Unknown state {unknown[0]!r}; expected one of: {expected}."
    return tuple(dict.fromkeys(values))


def _parse_batch(project: Project, value: str, errors: dict[str, str]) -> int | None:
    if not value:
        return None
    batch_id = ascii_int(value)
    if batch_id is None or not Batch.objects.filter(project=project, pk=batch_id).exists():
        errors["batch"] = f"No batch {value!r} in this project."
        return None
    return batch_id


def _parse_bool(value: str, name: str, errors: dict[str, str]) -> bool | None:
    if not value:
        return None
    if value.lower() in TRUE_WORDS:
        return True
    if value.lower() in FALSE_WORDS:
        return False
    errors[name] = f"Expected true or false, got {value!r}."
    return None


def item_list_for_project(
    *, project: Project, filters: ItemFilters | None = None
) -> QuerySet[Item]:
    items = Item.objects.filter(project=project)
    return (filters or ItemFilters()).apply(items)


def item_get_for_project(*, project: Project, item_id: int) -> Item:
    return one_or_not_found(Item.objects.filter(project=project), pk=item_id)


def item_iter_values(
    items: QuerySet[Item], fields: Iterable[str], *, chunk_size: int = 2000
) -> Iterator[list[tuple]]:
    """Yield chunks of value tuples in id order, by keyset (`id > last`), never OFFSET.

    Each chunk is one query served by the (project, state, id) index; memory holds one chunk.
    """
    fields = ["id", *fields]
    last_id = 0
    while True:
        rows = list(items.filter(id__gt=last_id).order_by("id").values_list(*fields)[:chunk_size])
        if not rows:
            return
        yield rows
        if len(rows) < chunk_size:
            return
        last_id = rows[-1][0]


def item_payload_keys(items: QuerySet[Item]) -> list[str]:
    """Every key used in these items' payloads (the CSV export's payload columns)."""
    if connection.vendor == "postgresql":
        object_payloads = items.alias(
            kind=Func(F("payload"), function="jsonb_typeof", output_field=CharField())
        ).filter(kind="object")
        keys = (
            object_payloads.annotate(
                key=Func(F("payload"), function="jsonb_object_keys", output_field=CharField())
            )
            .values_list("key", flat=True)
            .order_by()
            .distinct()
        )
        return sorted(keys)
    found: set[str] = set()
    for chunk in item_iter_values(items, ["payload"]):
        for _, payload in chunk:
            if isinstance(payload, dict):
                found.update(payload)
    return sorted(found)


def item_counts_by_project(*, projects: Iterable[Project]) -> dict[int, dict[str, int]]:
    """Items per state for many projects with one GROUP BY (the projects page)."""
    ids = [p.pk for p in projects]
    counts = {pk: dict.fromkeys(Item.State.values, 0) for pk in ids}
    rows = (
        Item.objects.filter(project_id__in=ids)
        .values("project_id", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        counts[row["project_id"]][row["state"]] = row["n"]
    return counts
