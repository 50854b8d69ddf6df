"""History in the admin is read-only: a walk over every registered ModelAdmin. Each model is
classified, as history (viewed, never added, changed or deleted) or as editable; a model
registered later fails this test until someone classifies it."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import models
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_q.models import Failure, OrmQ, Schedule, Success
from knox.models import AuthToken

from apps.crowds.models import InviteLink, Membership, WorkerGroup
from apps.models.models import (
    Feedback,
    ItemFlag,
    LearningSettings,
    ModelVersion,
    RescoreRun,
    TrainingRun,
    WebhookDelivery,
)
from apps.panels.models import PanelLink, PanelParticipant
from apps.tasks.models import (
    HIT,
    AggregationRun,
    AggregationState,
    Answer,
    Assignment,
    AuditEvent,
    Batch,
    GuidelineAcknowledgement,
    GuidelineVersion,
    Item,
    Project,
    ReviewItem,
)
from apps.tasks.services.audit import audit_record
from apps.workers.models import (
    Block,
    Deposit,
    LedgerCheckpoint,
    LedgerEntry,
    Qualification,
    User,
    WorkerStats,
)
from tests import factories

pytestmark = pytest.mark.django_db

# Records of what happened (and rows only jobs write): viewed, never edited.
HISTORY: list[type[models.Model]] = [
    Answer,
    Assignment,  # a lease and its outcome; states change through the services only
    AuditEvent,
    Batch,
    AggregationRun,
    AggregationState,  # the consensus job's queue row
    GuidelineAcknowledgement,
    Item,  # its state has one owner (services/items.py): changed in the review queue
    WorkerStats,  # computed by consensus runs
    LedgerEntry,  # a bonus is granted on its own page, through the ledger service
    LedgerCheckpoint,  # the budget check's running sum
    ModelVersion,
    TrainingRun,
    RescoreRun,
    ItemFlag,
    WebhookDelivery,  # signed as stored: an edited row would go out under the signature
    Feedback,
    Success,  # django-q's job results
    Failure,
    AccessLog,  # axes' login log
    AccessFailureLog,
    PanelLink,  # created and revoked through its services (API, project page)
    PanelParticipant,  # made by the entry itself
]

# Settings, people and work in progress, each with the reason an admin changes it.
EDITABLE: list[type[models.Model]] = [
    User,
    Group,
    AuthToken,  # revoke a token
    Qualification,  # reset a worker's test
    Block,  # blocked and lifted through services by its admin's actions
    Project,
    GuidelineVersion,  # drafts (a published one is frozen by the model)
    HIT,  # priority and expiry only, saved through the services
    ReviewItem,  # resolving an item is the queue's purpose
    LearningSettings,
    Schedule,
    OrmQ,  # drop a stuck queued job
    AccessAttempt,  # deleting one lifts a lockout
    WorkerGroup,  # people: a requester's crowd
    Membership,  # remove a worker from a group
    InviteLink,  # revoke a link (made only by invite_create: no add)
    Deposit,  # a requester's funds are paid in here (never changed or deleted)
]


def row_makers() -> dict[type[models.Model], Callable[[], models.Model]]:
    """One row per history model, the world they hang off made once."""
    worker = factories.WorkerFactory(username="walker")
    owner = factories.RequesterFactory(username="walk-owner")
    project = factories.ProjectFactory(owner=owner, labels=["cat", "dog"])
    hit = factories.HITFactory(item__project=project, item__external_id="walk")
    item = hit.item
    guideline = factories.GuidelineVersionFactory(project=project, number=1)
    version = factories.ModelVersionFactory(project=project, number=1)
    now = timezone.now()
    task = {"name": "walk", "func": "math.floor", "started": now, "stopped": now}
    log = {"user_agent": "walk", "http_accept": "*/*", "path_info": "/", "username": "walker"}
    return {
        Answer: lambda: factories.AnswerFactory(assignment__hit=hit, assignment__worker=worker),
        Assignment: lambda: factories.AssignmentFactory(hit=hit),
        AuditEvent: lambda: audit_record(
            project_id=project.pk, actor=None, action="project_update", obj=project
        ),
        Batch: lambda: factories.BatchFactory(project=project),
        Item: lambda: item,
        AggregationRun: lambda: factories.AggregationRunFactory(project=project),
        AggregationState: lambda: factories.AggregationStateFactory(project=project),
        GuidelineAcknowledgement: lambda: factories.GuidelineAcknowledgementFactory(
            guideline=guideline, worker=worker
        ),
        WorkerStats: lambda: factories.WorkerStatsFactory(worker=worker, project=project),
        LedgerEntry: lambda: factories.LedgerEntryFactory(
            bonus=True, worker=worker, project=project
        ),
        LedgerCheckpoint: lambda: factories.LedgerCheckpointFactory(project=project),
        ModelVersion: lambda: version,
        TrainingRun: lambda: factories.TrainingRunFactory(project=project),
        RescoreRun: lambda: factories.RescoreRunFactory(model_version=version),
        ItemFlag: lambda: factories.ItemFlagFactory(item=item),
        WebhookDelivery: lambda: factories.WebhookDeliveryFactory(item=item),
        Feedback: lambda: factories.FeedbackFactory(item=item),
        Success: lambda: Success.objects.create(id=uuid.uuid4().hex, success=True, **task),
        Failure: lambda: Failure.objects.create(id=uuid.uuid4().hex, success=False, **task),
        AccessLog: lambda: AccessLog.objects.create(**log),
        AccessFailureLog: lambda: AccessFailureLog.objects.create(**log),
        PanelLink: lambda: factories.PanelLinkFactory(project=project),
        PanelParticipant: lambda: factories.PanelParticipantFactory(link__project=project),
    }


def admin_url(model: type[models.Model], view: str, *args: object) -> str:
    meta = model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


def test_every_registered_model_is_classified_once():
    registered = set(admin.site._registry)
    assert set(HISTORY).isdisjoint(EDITABLE)
    unclassified = {m._meta.label for m in registered - set(HISTORY) - set(EDITABLE)}
    assert unclassified == set(), "add each to HISTORY or EDITABLE"
    gone = {m._meta.label for m in (set(HISTORY) | set(EDITABLE)) - registered}
    assert gone == set()


def test_a_superuser_may_not_add_change_or_delete_history(admin_user):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    for model in HISTORY:
        model_admin = admin.site._registry[model]
        assert model_admin.has_view_permission(request), model
        assert not model_admin.has_add_permission(request), model
        assert not model_admin.has_change_permission(request), model
        assert not model_admin.has_delete_permission(request), model


def test_a_post_to_a_history_rows_change_page_changes_nothing(admin_user, client):
    client.force_login(admin_user)
    for model, make in row_makers().items():
        row = make()
        before = model.objects.filter(pk=row.pk).values().get()
        editable = [f for f in model._meta.concrete_fields if f.editable and not f.primary_key]
        data = {f.attname: "1" if f.is_relation else "changed" for f in editable}
        assert client.get(admin_url(model, "change", row.pk)).status_code == 200, model
        response = client.post(admin_url(model, "change", row.pk), data)
        assert response.status_code == 403, model
        assert model.objects.filter(pk=row.pk).values().get() == before, model
        assert client.post(admin_url(model, "delete", row.pk), {"post": "yes"}).status_code == 403
        assert model.objects.filter(pk=row.pk).exists(), model
        assert client.get(admin_url(model, "add")).status_code == 403, model
