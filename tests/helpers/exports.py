"""An export read back as an upload into a new project."""

from __future__ import annotations

import io

from apps.tasks.models import Item
from apps.tasks.services.batches import batch_import
from tests.factories import ProjectFactory

UPLOADED_FIELDS = (
    "external_id",
    "payload",
    "prediction",
    "confidence",
    "model_version",
    "is_gold",
    "gold_label",
)


def snapshot(project):
    return list(
        Item.objects.filter(project=project).order_by("external_id").values(*UPLOADED_FIELDS)
    )


def round_trip(client, source, fmt):
    response = client.get(f"/api/v1/projects/{source.id}/export?format={fmt}")
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    target = ProjectFactory(
        owner=source.owner, item_kind=source.item_kind, labels=list(source.labels)
    )
    result = batch_import(
        project=target, user=source.owner, stream=io.BytesIO(data), file_name=f"x.{fmt}", fmt=fmt
    )
    assert result.batch.created_count == Item.objects.filter(project=source).count()
    return target
