from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.tasks.models import HIT, Batch, GuidelineVersion, Item, Project

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = "worker"
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class WorkerFactory(UserFactory):
    username = factory.Sequence(lambda n: f"worker{n}")
    role = "worker"


class RequesterFactory(UserFactory):
    username = factory.Sequence(lambda n: f"requester{n}")
    role = "requester"


class AdminFactory(UserFactory):
    username = factory.Sequence(lambda n: f"admin{n}")
    role = "requester"
    is_staff = True
    is_superuser = True


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    owner = factory.SubFactory(RequesterFactory)
    name = factory.Sequence(lambda n: f"Project {n}")
    item_kind = Project.ItemKind.TEXT
    labels = factory.LazyFunction(lambda: ["cat", "dog", "bird"])
    min_overlap = 2
    max_overlap = 5
    confidence_threshold = 0.9


class GuidelineVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GuidelineVersion

    project = factory.SubFactory(ProjectFactory)
    number = factory.Sequence(lambda n: n + 1)
    text = "Pick the animal in the picture."
    published_at = factory.LazyFunction(timezone.now)


class GuidelineAcknowledgementFactory(factory.django.DjangoModelFactory):
    """A worker read a version; without it the claim answers 409 guideline_not_acknowledged."""

    class Meta:
        model = "tasks.GuidelineAcknowledgement"

    guideline = factory.SubFactory(GuidelineVersionFactory)
    worker = factory.SubFactory(WorkerFactory)


class BatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Batch

    project = factory.SubFactory(ProjectFactory)
    uploaded_by = factory.SelfAttribute("project.owner")
    format = Batch.Format.JSONL
    status = Batch.Status.IMPORTED


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    project = factory.SubFactory(ProjectFactory)
    external_id = factory.Sequence(lambda n: f"item-{n}")
    payload = factory.LazyAttribute(lambda o: {"text": f"text of {o.external_id}"})
    state = Item.State.WAITING


class HITFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HIT

    item = factory.SubFactory(ItemFactory)
    project = factory.SelfAttribute("item.project")
    answers_wanted = 2
    is_gold = factory.SelfAttribute("item.is_gold")
