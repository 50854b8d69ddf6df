"""Turn an item's payload and a guideline into what the task page shows, safely.

Payloads come from requesters' uploads, so nothing here trusts them: text is escaped by the
template, image URLs must be http(s), pixels must form a square of numbers, and guideline
markdown is rendered with raw HTML disabled.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.template.loader import render_to_string
from markdown_it import MarkdownIt

# The keys the batch import reads for each item kind (see apps/tasks/services/batches.py).
SHOWN_KEYS = ("text", "image_url", "pixels", "features")
MAX_GRID_SIDE = 64

# GFM tables on top of CommonMark; raw HTML stays off, so a table cell is escaped like any text.
_markdown = MarkdownIt(
    "commonmark", {"html": False, "linkify": False, "typographer": False}
).enable("table")


@dataclass
class PixelGrid:
    side: int
    cells: list[tuple[int, int, str]]  # (x, y, fill colour), one per pixel


@dataclass
class PayloadView:
    text: str | None = None
    image_url: str | None = None
    grid: PixelGrid | None = None
    features: list[Any] | None = None
    # Any other fields of the payload, shown as plain key/value pairs.
    other: list[tuple[str, str]] = field(default_factory=list)


def payload_view(payload: Any) -> PayloadView:
    if not isinstance(payload, dict):
        return PayloadView(other=[("payload", _plain(payload))])
    view = PayloadView(
        text=payload["text"] if isinstance(payload.get("text"), str) else None,
        image_url=_safe_image_url(payload.get("image_url")),
        grid=pixel_grid(payload.get("pixels")),
        features=_numbers(payload.get("features")),
    )
    shown = {
        "text": view.text is not None,
        "image_url": view.image_url is not None,
        "pixels": view.grid is not None,
        "features": view.features is not None,
    }
    view.other = [
        (str(key), _plain(value)) for key, value in payload.items() if not shown.get(key, False)
    ]
    return view


def payload_html(payload: Any, *, size: int | None = None, text_limit: int | None = None) -> str:
    """The item as the worker's task page shows it (the same template), for the admin pages
    that judge or inspect an item: `size` bounds the picture in pixels, `text_limit` shortens
    the text (lists)."""
    context = {"payload": payload_view(payload), "size": size, "text_limit": text_limit}
    return render_to_string("workers/_item.html", context)


def pixel_grid(pixels: Any) -> PixelGrid | None:
    """A square list of intensities (8x8 digits use 0..16; anything above 16 is read as 0..255)
    as dark ink on a light background."""
    values = _numbers(pixels)
    if not values:
        return None
    side = math.isqrt(len(values))
    if side * side != len(values) or side > MAX_GRID_SIDE:
        return None
    top = 16 if max(values) <= 16 else 255
    cells = []
    for index, value in enumerate(values):
        level = min(max(float(value), 0.0), top) / top
        shade = round(255 * (1 - level))
        cells.append((index % side, index // side, f"rgb({shade},{shade},{shade})"))
    return PixelGrid(side=side, cells=cells)


def guideline_html(text: str) -> str:
    """Markdown (with tables) to HTML with raw HTML disabled; markdown-it also refuses
    javascript: links."""
    return _markdown.render(text or "")


def _safe_image_url(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > 2000:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return value.strip()


def _numbers(value: Any) -> list[float | int] | None:
    if not isinstance(value, list) or not value:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return None
    if not all(math.isfinite(v) for v in value):
        return None
    return value


def _plain(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 500 else text[:500] + "…"
