"""The live tests' one run per module (tests/live): a crowd run takes minutes, so its report is
shared by the module's tests, and a run that failed fails the others at once instead of being
run again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest

R = TypeVar("R")


def run_once(runs: dict[str, Any], run: Callable[[], R], what: str) -> R:
    """`run()`'s report, run on the first call for `runs` (the module's dict) and printed."""
    if "report" not in runs:
        try:
            runs["report"] = run()
        except Exception as exc:
            runs["report"] = exc
            raise
        print(runs["report"].summary())
    report = runs["report"]
    if isinstance(report, Exception):
        pytest.fail(f"{what} failed: {report!r}")
    return report
