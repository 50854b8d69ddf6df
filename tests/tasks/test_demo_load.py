import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from apps.models.models import LearningSettings
from apps.tasks.management.commands import demo_load
from apps.tasks.models import HIT, Batch, GuidelineVersion, Item, Project
from apps.workers.models import Deposit, User
from apps.workers.selectors import requester_balance

pytestmark = pytest.mark.django_db


def run() -> str:
    out = io.StringIO()
    call_command("demo_load", stdout=out)
    return out.getvalue()


def snapshot():
    return [
        (model.__name__, model.objects.count())
        for model in (User, Project, GuidelineVersion, Batch, Item, HIT, Deposit)
    ]


def test_it_loads_users_the_digits_project_a_guideline_and_routed_items():
    output = run()
    assert "Demo loaded" in output
    assert "demo-pass-123" in output
    for name in ("admin", "requester", "worker1", "worker2", "worker3"):
        assert authenticate(username=name, password="demo-pass-123") is not None, name
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    assert User.objects.get(username="worker2").role == "worker"
    project = Project.objects.get(name="Handwritten digits")
    assert project.owner.username == "requester"
    assert (project.item_kind, project.confidence_threshold) == ("image", 0.9)
    assert project.labels == [str(d) for d in range(10)]
    assert (project.min_overlap, project.max_overlap, project.gold_share) == (2, 5, 0.1)
    assert project.guidelines.get().is_published
    items = Item.objects.filter(project=project)
    assert 1700 < items.count() < 1797
    assert items.filter(is_gold=True).count() == 30
    auto = items.filter(state=Item.State.AUTO_LABELED)
    assert 100 < auto.count() < items.count() - 100
    assert not auto.filter(is_gold=True).exists()
    assert set(auto.values_list("model_version", flat=True)) == {"seed-v1"}
    assert HIT.objects.filter(project=project).count() == items.count() - auto.count()
    pixels = items.first().payload["pixels"]
    assert len(pixels) == 64 and all(0 <= p <= 16 for p in pixels)


def test_a_second_run_changes_nothing_and_says_so():
    run()
    before = snapshot()
    output = run()
    assert "nothing changed" in output
    assert snapshot() == before


def test_the_demo_paces_people_with_its_model():
    call_command("demo_load", stdout=io.StringIO())

    settings = LearningSettings.objects.get(project__name=demo_load.PROJECT_NAME)
    assert (settings.retrain_after_labels, settings.people_batch) == (20, 20)
    hits = HIT.objects.filter(project=settings.project, is_gold=False, state=HIT.State.OPEN)
    assert hits.filter(held=False).count() <= 20 < hits.count()


def test_the_demo_requester_has_funds_for_the_mturk_api_once():
    run()
    run()
    requester = User.objects.get(username="requester")
    assert Deposit.objects.filter(requester=requester).count() == 1
    assert str(requester_balance(requester=requester).available) == "100.0000"
