"""Every model has a factory, and what it makes is a row the services could have written."""

from __future__ import annotations

import factory
import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories

APPS = ("tasks", "workers", "mlmodels", "crowds", "panels", "mturk")


def factory_of() -> dict[type, type[factory.django.DjangoModelFactory]]:
    found = {}
    for value in vars(factories).values():
        if isinstance(value, type) and issubclass(value, factory.django.DjangoModelFactory):
            found.setdefault(value._meta.get_model_class(), value)
    return found


def concrete_models() -> list[type]:
    return [
        model
        for label in APPS
        for model in apps.get_app_config(label).get_models()
        if not model._meta.proxy
    ]


def test_every_model_has_a_factory() -> None:
    assert [m.__name__ for m in concrete_models() if m not in factory_of()] == []


@pytest.mark.parametrize("model", concrete_models(), ids=lambda m: m.__name__)
def test_a_factory_makes_a_valid_row(db, model) -> None:
    row = factory_of()[model]()
    row.full_clean()


@pytest.mark.parametrize("model", concrete_models(), ids=lambda m: m.__name__)
def test_a_factory_builds_without_the_database(db, model) -> None:
    with CaptureQueriesContext(connection) as queries:
        row = factory_of()[model].build()
    assert row.pk is None or row._state.adding
    assert len(queries) == 0


def test_an_answer_belongs_to_its_assignments_hit_and_worker(db) -> None:
    answer = factories.AnswerFactory()
    assignment = answer.assignment
    assert assignment.state == assignment.State.SUBMITTED and assignment.finished_at
    assert (answer.item, answer.project, answer.worker) == (
        assignment.hit.item,
        assignment.hit.project,
        assignment.worker,
    )


def test_a_bonus_is_paid_without_an_answer(db) -> None:
    bonus = factories.LedgerEntryFactory(bonus=True)
    bonus.full_clean()
    assert (bonus.kind, bonus.answer) == ("bonus", None)


def test_an_imported_model_version_is_the_number_0_record_without_an_artifact(db) -> None:
    version = factories.ModelVersionFactory(imported=True)
    assert (version.number, version.source, version.artifact_path) == (0, "import", "")
    assert version.name == "import"
