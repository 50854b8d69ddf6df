"""The pure modules import no Django and nothing of the project: services do the conversion."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INGEST = "apps/tasks/ingest"
PURE_MODULES = (
    "apps/tasks/aggregation.py",
    f"{INGEST}/__init__.py",
    f"{INGEST}/csv_rows.py",
    f"{INGEST}/formats.py",
    f"{INGEST}/json_rows.py",
    f"{INGEST}/jsontext.py",
    f"{INGEST}/limits.py",
    f"{INGEST}/rows.py",
    f"{INGEST}/staging.py",
    f"{INGEST}/validation.py",
    "apps/models/learning.py",
    "apps/models/features.py",
    "apps/models/active.py",
    "apps/models/evidence.py",
    "apps/workers/reliability.py",
    "apps/workers/countries.py",
    "apps/mturk/sigv4.py",
    "apps/mturk/shapes.py",
    "apps/mturk/questions.py",
    "apps/mturk/requirements.py",
    "apps/mturk/answers.py",
)
FORBIDDEN = ("django", "rest_framework", "apps", "hitlcrowd")
# A pure module may use another pure module: that one is checked too.
ALLOWED = tuple(p.removesuffix(".py").replace("/", ".") for p in PURE_MODULES)


def imported_modules(source: str) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # a relative import reaches into the project's packages
            names.append("apps" if node.level else node.module or "")
    return names


def forbidden_imports(source: str) -> list[str]:
    return [
        name
        for name in imported_modules(source)
        if name not in ALLOWED
        and any(name == root or name.startswith(root + ".") for root in FORBIDDEN)
    ]


@pytest.mark.parametrize("path", PURE_MODULES)
def test_a_pure_module_imports_no_django_and_no_project_code(path: str) -> None:
    module = REPO / path
    # A renamed or moved module fails here rather than dropping out of the check unnoticed.
    assert module.exists(), f"{path} is gone: update PURE_MODULES to its new name"
    assert forbidden_imports(module.read_text()) == [], path


def test_every_module_of_the_pure_ingest_package_is_checked() -> None:
    modules = {str(path.relative_to(REPO)) for path in (REPO / INGEST).glob("*.py")}
    assert modules == {path for path in PURE_MODULES if path.startswith(INGEST + "/")}


@pytest.mark.parametrize(
    "source",
    [
        "import django",
        "from django.db import models",
        "import apps.tasks.models",
        "from hitlcrowd import settings",
        "from . import models",
        "def f():\n    from django.conf import settings",
    ],
)
def test_the_check_catches(source: str) -> None:
    assert forbidden_imports(source)


def test_the_check_lets_pure_imports_through() -> None:
    source = "import numpy as np\nfrom crowdkit.aggregation import GLAD\n"
    assert forbidden_imports(source + "from apps.models.features import x") == []
