"""The audit trail: one row per audited change, written by the services themselves; rows can
be neither changed nor deleted; staff read it in the admin, nobody edits it there."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from apps.models.models import LearningSettings
from apps.models.services.training import model_retrain
from apps.tasks.audit import changes_shown
from apps.tasks.models import AuditEvent, Item, Project
from apps.tasks.services.audit import audit_record
from apps.tasks.services.items import item_resolve
from apps.tasks.services.projects import project_update
from apps.workers.services import worker_block, worker_stats_store, worker_unblock
from hitlcrowd.errors import InvalidInput
from tests import factories
from tests.helpers.pets import labeled

pytestmark = pytest.mark.django_db

Action = AuditEvent.Action


@pytest.fixture
def staff(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def only_event(action: str) -> AuditEvent:
    return AuditEvent.objects.select_related("actor").get(action=action)


def test_a_settings_change_through_the_api_records_who_and_old_to_new(
    api_client_for, requester, project
):
    response = api_client_for(requester).patch(
        f"/api/v1/projects/{project.pk}/",
        {"min_overlap": 3, "name": "Animals", "reward_per_answer": "0.05"},
        format="json",
    )
    assert response.status_code == 200, response.content

    event = only_event(Action.PROJECT_UPDATE)
    assert event.actor == requester and event.project_id == project.pk
    assert (event.object_type, event.object_id) == ("tasks.Project", str(project.pk))
    # Unchanged fields (the same name) are not listed.
    assert event.changes == {"min_overlap": [2, 3], "reward_per_answer": ["0.0000", "0.0500"]}


def test_a_change_that_changes_nothing_records_nothing(project, requester):
    project_update(project=project, by=requester, name=project.name)
    assert not AuditEvent.objects.exists()


def test_a_refused_change_records_nothing(project, requester):
    with pytest.raises(InvalidInput):
        project_update(project=project, by=requester, min_overlap=9, max_overlap=3)
    assert not AuditEvent.objects.exists()


def test_a_settings_change_in_the_admin_is_recorded(staff, admin_user, project):
    url = reverse("admin:tasks_project_change", args=[project.pk])
    form = staff.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data |= {"owner": project.owner_id, "labels": '["cat", "dog", "bird"]', "is_open": ""}
    response = staff.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    event = only_event(Action.PROJECT_UPDATE)
    assert event.actor == admin_user
    assert event.changes["is_open"] == [True, False]


def test_block_and_unblock_are_recorded(project, worker, admin_user):
    block = worker_block(worker=worker, project=project, reason="spam", by=admin_user)
    worker_block(worker=worker, project=project, reason="again", by=admin_user)  # no-op
    worker_unblock(block=block, by=admin_user)
    worker_unblock(block=block, by=admin_user)  # no-op

    blocked, unblocked = only_event(Action.WORKER_BLOCK), only_event(Action.WORKER_UNBLOCK)
    assert blocked.actor == admin_user and blocked.changes["reason"] == "spam"
    assert blocked.changes["worker"] == worker.pk
    assert unblocked.object_id == str(block.pk)


def test_an_automatic_block_is_recorded_as_the_system(project, worker):
    worker_block(worker=worker, project=project, reason="rule")
    assert only_event(Action.WORKER_BLOCK).actor is None


def test_a_block_by_the_projects_rules_is_recorded_as_the_system(project, worker):
    project.block_gold_accuracy, project.block_min_gold = 0.8, 5
    project.save()
    row = {"worker_id": worker.pk, "answers": 30, "gold_answers": 10, "gold_correct": 1}
    row |= {"skill": 0.2, "agreement": 0.1, "median_seconds": 2.0, "confusion": None}
    row["checked"] = {"answers": 30, "gold_answers": 10, "gold_correct": 1}
    blocks = worker_stats_store(project=project, stats=[row])

    assert len(blocks) == 1
    event = only_event(Action.WORKER_BLOCK)
    assert event.actor is None and event.object_id == str(blocks[0].pk)
    assert event.changes["worker"] == worker.pk


def test_a_resolution_is_recorded(project, admin_user):
    item = factories.ItemFactory(project=project, state=Item.State.NEEDS_REVIEW, final_label="cat")
    item_resolve(item_id=item.pk, label="dog", by=admin_user)

    event = only_event(Action.ITEM_RESOLVE)
    assert event.actor == admin_user and event.object_id == str(item.pk)
    assert event.changes == {
        "state": ["needs_review", "resolved"],
        "final_label": ["cat", "dog"],
        "label_source": ["", "admin"],
        "leases_closed": 0,
    }


def test_a_model_promotion_is_recorded_as_the_system(requester, worker, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    pets = factories.ProjectFactory(owner=requester, labels=["cat", "dog"])
    LearningSettings.objects.create(
        project=pets, retrain_after_labels=20, audit_share=0.0, suspected_error_threshold=1.0
    )
    labeled(pets, 100, worker)
    run = model_retrain(project_id=pets.pk)
    assert run.status == "promoted"

    event = only_event(Action.MODEL_PROMOTE)
    assert event.actor is None and event.project_id == pets.pk
    assert event.changes == {"active_version": [None, 1]}


# --- Append-only -----------------------------------------------------------------------------


@pytest.fixture
def event(project, requester) -> AuditEvent:
    return audit_record(
        project_id=project.pk, actor=requester, action=Action.PROJECT_UPDATE, obj=project
    )


def test_an_event_cannot_be_changed_or_deleted(event):
    event.action = Action.ITEM_RESOLVE
    with pytest.raises(ValidationError):
        event.save()
    with pytest.raises(ValidationError):
        event.delete()
    with pytest.raises(ValidationError):
        AuditEvent.objects.filter(pk=event.pk).update(action=Action.ITEM_RESOLVE)
    with pytest.raises(ValidationError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get().action == Action.PROJECT_UPDATE


def test_a_project_with_a_history_cannot_be_deleted_from_under_it(event, project):
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        Project.objects.get(pk=project.pk).delete()


# --- Admin ------------------------------------------------------------------------------------


def test_staff_read_the_trail_filtered_by_project_and_action(
    staff, event, project, requester, django_assert_max_num_queries
):
    other = factories.ProjectFactory(owner=requester)
    audit_record(project_id=other.pk, actor=None, action=Action.MODEL_PROMOTE, obj=other)
    url = reverse("admin:tasks_auditevent_changelist")

    with django_assert_max_num_queries(12):
        page = staff.get(url)
    assert page.status_code == 200
    assert page.context["cl"].result_count == 2

    by_project = staff.get(url, {"project__id__exact": project.pk})
    assert [e.pk for e in by_project.context["cl"].result_list] == [event.pk]
    by_action = staff.get(url, {"action__exact": Action.MODEL_PROMOTE})
    assert [e.action for e in by_action.context["cl"].result_list] == [Action.MODEL_PROMOTE]


def test_the_admin_offers_no_add_change_or_delete(staff, event):
    assert staff.get(reverse("admin:tasks_auditevent_add")).status_code == 403
    detail = staff.get(reverse("admin:tasks_auditevent_change", args=[event.pk]))
    assert detail.status_code == 200  # view only
    assert b'name="_save"' not in detail.content
    assert staff.get(reverse("admin:tasks_auditevent_delete", args=[event.pk])).status_code == 403
    response = staff.post(
        reverse("admin:tasks_auditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()
    # No action is offered at all, so the post is no action: the list is shown again.
    assert response.status_code == 200


@pytest.mark.parametrize("who", ["worker", "requester"])
def test_non_staff_cannot_reach_the_trail(event, who, worker, requester):
    client = Client()
    client.force_login({"worker": worker, "requester": requester}[who])
    response = client.get(reverse("admin:tasks_auditevent_changelist"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


# --- Only real changes are shown ---------------------------------------------------------------


def test_a_guideline_republish_by_labels_shows_the_labels_not_a_change_between_them():
    changes = {"number": [1, 2], "requeue": "labels", "requeued": 3, "labels": ["4", "9"]}
    shown = dict(changes_shown(Action.GUIDELINE_PUBLISH, changes))
    assert shown["labels"] == "['4', '9']"
    assert shown["number"] == "1 → 2"


def test_pairs_whose_values_are_equal_are_left_out_comparing_lists_json_and_decimals():
    changes = {
        "labels": [["4", "9"], ["4", "9"]],
        "settings": [{"a": 1, "b": [2]}, {"b": [2], "a": 1}],
        "reward_per_answer": ["0.0500", "0.05"],
        "final_label": ["cat", "cat"],
        "is_open": [True, False],
        "min_overlap": [1, True],
    }
    shown = dict(changes_shown(Action.PROJECT_UPDATE, changes))
    assert shown == {"is_open": "True → False", "min_overlap": "1 → True"}


def test_resolving_to_the_crowds_label_records_no_label_change(project, admin_user):
    item = factories.ItemFactory(
        project=project, state=Item.State.NEEDS_REVIEW, final_label="cat", label_source="crowd"
    )
    item_resolve(item_id=item.pk, label="cat", by=admin_user)

    event = only_event(Action.ITEM_RESOLVE)
    assert event.changes == {
        "state": ["needs_review", "resolved"],
        "label_source": ["crowd", "admin"],
        "leases_closed": 0,
    }


def test_the_trail_page_shows_a_republish_by_labels_without_an_arrow(staff, project, admin_user):
    guideline = factories.GuidelineVersionFactory(project=project, number=None, published_at=None)
    changes = {"number": [None, 1], "requeue": "labels", "requeued": 0, "labels": ["cat", "dog"]}
    audit_record(
        project_id=project.pk,
        actor=admin_user,
        action=Action.GUIDELINE_PUBLISH,
        obj=guideline,
        changes=changes,
    )
    page = staff.get(reverse("admin:tasks_auditevent_changelist")).content.decode()
    assert "labels: [&#x27;cat&#x27;, &#x27;dog&#x27;]" in page
    assert "&#x27;cat&#x27; → &#x27;dog&#x27;" not in page
    event = AuditEvent.objects.get()
    detail = staff.get(reverse("admin:tasks_auditevent_change", args=[event.pk]))
    assert "number: None → 1" in detail.content.decode()
