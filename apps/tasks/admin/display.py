"""Showing an item in the admin as the worker's task page shows it (the same template): text,
the image, the pixels drawn, other fields as key/value. Mixed into the admins that judge or
inspect items, here and in the models app (item flags)."""

from __future__ import annotations

from django.contrib import admin
from django.db import models

from apps.tasks.models import Item
from apps.workers.web.rendering import payload_html


class ShowsItem:
    @admin.display(description="as the worker saw it")
    def as_the_worker_saw_it(self, obj: models.Model) -> str:
        return payload_html(_item(obj).payload, size=256)  # no site.css here to bound it

    @admin.display(description="item as shown")
    def item_thumbnail(self, obj: models.Model) -> str:
        return payload_html(_item(obj).payload, size=64, text_limit=120)


def _item(obj: models.Model) -> Item:
    """The item itself, or the item of an answer or a flag (select_related on lists)."""
    return obj if isinstance(obj, Item) else obj.item
