"""MTurk's service model (operations and shapes) and a validator of values against its shapes.

`service-2.json` beside this module is botocore's `mturk` model (2017-01-17) without its
documentation strings (botocore is Apache-2.0, as we are). botocore is a development
dependency only, so the server reads this copy; `tests/mturk/test_service_model.py` fails when
it differs from the installed botocore's, so an upgrade of boto3 brings it up to date.

One validator serves both sides: the endpoint checks every operation's input with it before
the handler runs (so a handler sees only well-typed, in-range values), and the tests check
every response against botocore's own model with it (tests/helpers/mturk.py).

The JSON protocol's types: structure, list, map, string, integer/long, boolean, double/float,
timestamp (epoch seconds, a JSON number, in both directions for this protocol) and blob
(base64 text). Plain Python: no Django.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

MODEL_PATH = Path(__file__).with_name("service-2.json")
TARGET_PREFIX = "MTurkRequesterServiceV20170117"


@dataclass(frozen=True)
class Problem:
    """One value that does not fit its shape: where (`Reward`, `HITs[3].Title`), and why."""

    path: str
    message: str
    missing: bool = False

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@cache
def service_model() -> dict[str, Any]:
    return json.loads(MODEL_PATH.read_text())


def operation_names() -> frozenset[str]:
    return frozenset(service_model()["operations"])


def input_shape(operation: str, model: dict[str, Any] | None = None) -> str | None:
    op = (model or service_model())["operations"][operation]
    return op.get("input", {}).get("shape")


def output_shape(operation: str, model: dict[str, Any] | None = None) -> str | None:
    op = (model or service_model())["operations"][operation]
    return op.get("output", {}).get("shape")


def validate(
    value: Any, shape_name: str, model: dict[str, Any] | None = None, path: str = ""
) -> list[Problem]:
    """Every way `value` does not fit the shape; [] when it fits. Members not in a structure's
    shape are problems too (botocore never sends one, and a response must not carry one)."""
    shapes = (model or service_model())["shapes"]
    problems: list[Problem] = []
    _check(value, shapes[shape_name], shapes, path, problems)
    return problems


def _check(value: Any, shape: dict, shapes: dict, path: str, out: list[Problem]) -> None:
    kind = shape["type"]
    checker = _CHECKERS.get(kind)
    if checker is None:
        out.append(Problem(path, f"has a shape of type {kind!r} this validator does not know"))
        return
    checker(value, shape, shapes, path, out)


def _structure(value: Any, shape: dict, shapes: dict, path: str, out: list[Problem]) -> None:
    if not isinstance(value, dict):
        out.append(Problem(path, f"must be an object, not {_type(value)}"))
        return
    members = shape.get("members", {})
    for name in shape.get("required", []):
        if value.get(name) is None:
            out.append(Problem(_join(path, name), "is required", missing=True))
    for name, member_value in value.items():
        member = members.get(name)
        if member is None:
            out.append(Problem(_join(path, name), "is not a member of this shape"))
        elif member_value is not None:
            _check(member_value, shapes[member["shape"]], shapes, _join(path, name), out)


def _list(value: Any, shape: dict, shapes: dict, path: str, out: list[Problem]) -> None:
    if not isinstance(value, list):
        out.append(Problem(path, f"must be a list, not {_type(value)}"))
        return
    _length(len(value), shape, path, out, "items")
    member = shapes[shape["member"]["shape"]]
    for i, item in enumerate(value):
        _check(item, member, shapes, f"{path}[{i}]", out)


def _map(value: Any, shape: dict, shapes: dict, path: str, out: list[Problem]) -> None:
    if not isinstance(value, dict):
        out.append(Problem(path, f"must be an object, not {_type(value)}"))
        return
    _length(len(value), shape, path, out, "entries")
    key_shape, value_shape = shapes[shape["key"]["shape"]], shapes[shape["value"]["shape"]]
    for key, item in value.items():
        _check(key, key_shape, shapes, f"{path}.<key>", out)
        _check(item, value_shape, shapes, f"{path}[{key!r}]", out)


def _string(value: Any, shape: dict, shapes: dict, path: str, out: list[Problem]) -> None:
    if not isinstance(value, str):
        out.append(Problem(path, f"must be a string, not {_type(value)}"))
        return
    _length(len(value), shape, path, out, "characters")
    if "enum" in shape and value not in shape["enum"]:
        out.append(Problem(path, f"must be one of {', '.join(shape['enum'])}, not {value!r}"))
    pattern = shape.get("pattern")
    if pattern and not re.search(pattern, value):
        out.append(Problem(path, f"must match {pattern}, not {value!r}"))


def _integer(value: Any, shape: dict, shapes: dict, path: str, out: list[Problem]) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        out.append(Problem(path, f"must be a whole number, not {_type(value)}"))
        return
    _range(value, shape, path, out)


def _number(value: Any, shape: dict, shapes: dict, path: str, out: list[Problem]) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        out.append(Problem(path, f"must be a number, not {_type(value)}"))
        return
    _range(value, shape, path, out)


def _boolean(value: Any, shape: dict, shapes: dict, path: str, out: list[Problem]) -> None:
    if not isinstance(value, bool):
        out.append(Problem(path, f"must be true or false, not {_type(value)}"))


def _timestamp(value: Any, shape: dict, shapes: dict, path: str, out: list[Problem]) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        out.append(Problem(path, f"must be epoch seconds (a number), not {_type(value)}"))


def _blob(value: Any, shape: dict, shapes: dict, path: str, out: list[Problem]) -> None:
    if not isinstance(value, str):
        out.append(Problem(path, f"must be base64 text, not {_type(value)}"))
        return
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        out.append(Problem(path, "must be base64 text"))


_CHECKERS = {
    "structure": _structure,
    "list": _list,
    "map": _map,
    "string": _string,
    "integer": _integer,
    "long": _integer,
    "double": _number,
    "float": _number,
    "boolean": _boolean,
    "timestamp": _timestamp,
    "blob": _blob,
}


def _length(n: int, shape: dict, path: str, out: list[Problem], unit: str) -> None:
    if "min" in shape and n < shape["min"]:
        out.append(Problem(path, f"must have at least {shape['min']} {unit}, has {n}"))
    if "max" in shape and n > shape["max"]:
        out.append(Problem(path, f"must have at most {shape['max']} {unit}, has {n}"))


def _range(value: float, shape: dict, path: str, out: list[Problem]) -> None:
    if "min" in shape and value < shape["min"]:
        out.append(Problem(path, f"must be at least {shape['min']}, not {value}"))
    if "max" in shape and value > shape["max"]:
        out.append(Problem(path, f"must be at most {shape['max']}, not {value}"))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _type(value: Any) -> str:
    return "null" if value is None else type(value).__name__
