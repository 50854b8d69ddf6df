"""Turn item payloads (JSON dicts) into model inputs. Pure: no Django.

- "text": payload[text_field] is a string -> list[str] (the pipeline's TF-IDF does the rest).
- "image": payload[pixels_field] is a flat list of numbers (the demo: scikit-learn digits,
  8x8 = 64 ints 0..16) -> float matrix. An image given only by URL cannot be featurized
  offline, so such a project has no built-in model (`supports_builtin_model` says so).
- "vector": payload[vector_field] is a list of numbers -> float matrix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Kind = Literal["text", "image", "vector"]
KINDS: tuple[str, ...] = ("text", "image", "vector")


@dataclass(frozen=True)
class FeatureConfig:
    """Which payload key holds the model input, per kind."""

    text_field: str = "text"
    pixels_field: str = "pixels"
    vector_field: str = "features"

    def field_for(self, kind: str) -> str:
        return {
            "text": self.text_field,
            "image": self.pixels_field,
            "vector": self.vector_field,
        }[check_kind(kind)]


class PayloadError(ValueError):
    """A payload does not fit the project's kind; names the item index and the field."""

    def __init__(self, index: int, field: str, problem: str) -> None:
        self.index = index
        self.field = field
        self.problem = problem
        super().__init__(f"item {index}: field {field!r} {problem}")


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown item kind {kind!r}; expected one of {', '.join(KINDS)}")
    return kind


def featurize(
    payloads: Sequence[Mapping[str, Any]],
    kind: str,
    config: FeatureConfig | None = None,
) -> list[str] | np.ndarray:
    """Text kinds give a list of strings; image/vector kinds a (n, d) float64 matrix."""
    config = config or FeatureConfig()
    field = config.field_for(kind)
    if kind == "text":
        return [_text(i, p, field) for i, p in enumerate(payloads)]
    rows = [_numbers(i, p, field, kind) for i, p in enumerate(payloads)]
    if not rows:
        return np.empty((0, 0), dtype=np.float64)
    _check_same_length(rows, field)
    return np.asarray(rows, dtype=np.float64)


def supports_builtin_model(
    kind: str, payload: Mapping[str, Any], config: FeatureConfig | None = None
) -> bool:
    """False for image projects whose items carry a URL instead of pixels."""
    try:
        featurize([payload], kind, config)
    except PayloadError:
        return False
    return True


def _text(index: int, payload: Mapping[str, Any], field: str) -> str:
    value = _get(index, payload, field)
    if not isinstance(value, str):
        raise PayloadError(index, field, f"must be a string, got {type(value).__name__}")
    return value


def _numbers(index: int, payload: Mapping[str, Any], field: str, kind: str) -> list[float]:
    value = _get(index, payload, field)
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        hint = " (image URLs cannot be featurized offline)" if kind == "image" else ""
        raise PayloadError(index, field, f"must be a list of numbers{hint}")
    if not value:
        raise PayloadError(index, field, "is an empty list")
    out = []
    for pos, x in enumerate(value):
        # bool is an int subclass; a True among pixels is a data bug, not a 1.
        if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
            raise PayloadError(index, field, f"position {pos} is not a finite number: {x!r}")
        out.append(float(x))
    return out


def _get(index: int, payload: Mapping[str, Any], field: str) -> Any:
    if not isinstance(payload, Mapping):
        raise PayloadError(index, field, f"cannot be read: payload is {type(payload).__name__}")
    if field not in payload:
        raise PayloadError(index, field, "is missing")
    return payload[field]


def _check_same_length(rows: list[list[float]], field: str) -> None:
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise PayloadError(i, field, f"has {len(row)} values; item 0 has {width}")
