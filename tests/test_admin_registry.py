"""One admin per app (issue 15 item 2): every model's ModelAdmin is defined in its own app's
admin package and registered once, at import, with nothing unregistered or patched later.
Other libraries' history (django-q, axes) is theirs with ReadOnlyAdmin mixed in by the site."""

from __future__ import annotations

import ast
from pathlib import Path

from django.contrib import admin

from hitlcrowd.adminsite import READ_ONLY_ELSEWHERE, ReadOnlyAdmin

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_CALLS = {"unregister", "get_model_admin", "is_registered"}


def calls_named(path: Path, names: set[str]) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.func.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in names
    ]


def defining_admin(model) -> type:
    """The class that configures the model's admin (under the site's read-only mixin)."""
    cls = type(admin.site._registry[model])
    if model._meta.label in READ_ONLY_ELSEWHERE:
        assert cls.__bases__[0] is ReadOnlyAdmin, model
        return cls.__bases__[1]
    return cls


def test_no_module_of_ours_unregisters_or_looks_up_a_registered_admin():
    sources = [*ROOT.joinpath("apps").rglob("*.py"), *ROOT.joinpath("hitlcrowd").rglob("*.py")]
    assert len(sources) > 50  # the walk found the tree
    found = [hit for path in sources for hit in calls_named(path, FORBIDDEN_CALLS)]
    assert found == []


def test_each_models_admin_is_defined_in_its_own_apps_admin_package():
    assert len(admin.site._registry) > 30
    for model in admin.site._registry:
        package = f"{model._meta.app_config.name}.admin"
        module = defining_admin(model).__module__
        assert module == package or module.startswith(f"{package}."), (model, module)


def test_other_libraries_history_is_view_only_in_their_own_admin():
    labels = {model._meta.label for model in admin.site._registry}
    assert labels >= READ_ONLY_ELSEWHERE
    for model in admin.site._registry:
        if model._meta.label in READ_ONLY_ELSEWHERE:
            assert isinstance(admin.site._registry[model], ReadOnlyAdmin), model
