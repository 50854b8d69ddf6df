"""Shared test helpers live in tests/helpers, tests/factories.py or a conftest's fixtures: a
test module that imports from another test module (or from a conftest) runs that module's
fixtures and imports twice, and ties the two files together."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def is_test_module(dotted: str) -> bool:
    last = dotted.rsplit(".", 1)[-1]
    return dotted.startswith("tests.") and (last.startswith("test_") or last == "conftest")


def imports_of_test_modules(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [name for name in names if is_test_module(name)]
    return found


def test_no_test_module_imports_another_test_module() -> None:
    offenders = {
        str(path.relative_to(TESTS)): found
        for path in sorted(TESTS.rglob("*.py"))
        if (found := imports_of_test_modules(path.read_text()))
    }
    assert offenders == {}


def test_the_check_catches_imports_of_test_modules_and_conftests() -> None:
    assert imports_of_test_modules("from tests.tasks.test_consensus import work")
    assert imports_of_test_modules("from tests.models.conftest import labeled")
    assert imports_of_test_modules("from tests.tasks import test_consensus")
    assert imports_of_test_modules("import tests.workers.test_ledger")
    assert imports_of_test_modules("from tests.helpers.crowd import work\nimport os") == []
