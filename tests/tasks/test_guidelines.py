"""Guideline versions: numbering, immutability, provenance, and the admin's draft, preview,
publish and diff pages."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from apps.tasks.models import Answer, AuditEvent, GuidelineVersion
from apps.tasks.selectors.guidelines import guideline_diff_html, guideline_diff_unified
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.submit import assignment_submit
from apps.tasks.services.guidelines import (
    guideline_acknowledge,
    guideline_draft_create,
    guideline_publish,
)
from hitlcrowd.errors import InvalidInput
from tests import factories

pytestmark = pytest.mark.django_db


def admin_url(view: str, *args) -> str:
    return reverse(f"admin:tasks_guidelineversion_{view}", args=args)


@pytest.fixture
def staff(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def draft(project, admin_user):
    return guideline_draft_create(
        project=project, text="# Rules\n\nPick the **animal**.", change_note="v1", author=admin_user
    )


# --- Numbering and immutability -------------------------------------------------------------


def test_numbers_follow_publication_order_not_creation_order(project, admin_user):
    first = guideline_draft_create(project=project, text="first draft", author=admin_user)
    second = guideline_draft_create(project=project, text="second draft", author=admin_user)
    guideline_publish(guideline=second, by=admin_user)
    guideline_publish(guideline=first, by=admin_user)
    second.refresh_from_db()
    first.refresh_from_db()
    assert (second.number, first.number) == (1, 2)


def test_numbers_are_per_project(project, requester, admin_user):
    other = factories.ProjectFactory(owner=requester)
    for p in (project, other):
        draft = guideline_draft_create(project=p, text="x", author=admin_user)
        assert guideline_publish(guideline=draft, by=admin_user).guideline.number == 1


def test_a_published_version_refuses_changes_and_deletion(draft, admin_user):
    guideline_publish(guideline=draft, by=admin_user)
    draft.refresh_from_db()
    draft.text = "rewritten"
    with pytest.raises(ValidationError):
        draft.save()
    draft.refresh_from_db()
    draft.change_note = "other note"
    with pytest.raises(ValidationError):
        draft.save()
    with pytest.raises(ValidationError):
        GuidelineVersion.objects.get(pk=draft.pk).delete()
    assert GuidelineVersion.objects.get(pk=draft.pk).text.startswith("# Rules")


def test_a_draft_may_be_edited_and_deleted(draft):
    draft.text = "better"
    draft.save()
    draft.delete()
    assert not GuidelineVersion.objects.exists()


def test_an_empty_draft_cannot_be_published(project, admin_user):
    draft = GuidelineVersion.objects.create(project=project, text="   ", author=admin_user)
    with pytest.raises(InvalidInput) as refused:
        guideline_publish(guideline=draft, by=admin_user)
    assert "text" in refused.value.errors


# --- Provenance ------------------------------------------------------------------------------


def test_an_answer_records_the_version_current_when_its_task_was_taken(project, worker, admin_user):
    project.gold_share = 0
    project.save()
    factories.HITFactory(item__project=project)
    v1 = factories.GuidelineVersionFactory(project=project, number=1)
    guideline_acknowledge(worker=worker, project=project, number=1)
    lease = assignment_claim(worker=worker, project=project)
    v2 = guideline_draft_create(project=project, text="v2", author=admin_user)
    guideline_publish(guideline=v2, by=admin_user)

    answer = assignment_submit(worker=worker, assignment_id=lease.pk, label="cat", seconds_spent=1)

    assert Answer.objects.get(pk=answer.pk).guideline_version == v1


def test_publishing_is_audited_with_who_and_the_number(draft, admin_user, project):
    guideline_publish(guideline=draft, by=admin_user)
    event = AuditEvent.objects.get(action=AuditEvent.Action.GUIDELINE_PUBLISH)
    assert (event.project_id, event.actor, event.object_id) == (
        project.pk,
        admin_user,
        str(draft.pk),
    )
    assert event.changes == {"number": [None, 1], "requeue": "keep", "requeued": 0}


# --- Diff -----------------------------------------------------------------------------------


def test_the_diff_escapes_html_in_the_texts(project, admin_user):
    old = factories.GuidelineVersionFactory(project=project, number=1, text="Cats.\nDogs.")
    new = factories.GuidelineVersionFactory(
        project=project, number=2, text="Cats.\n<script>alert(1)</script>"
    )
    html = guideline_diff_html(old=old, new=new)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "-Dogs." in guideline_diff_unified(old=old, new=new)


# --- The admin --------------------------------------------------------------------------------


def test_staff_write_a_draft_in_the_admin(staff, project, admin_user):
    response = staff.post(
        reverse("admin:tasks_guidelineversion_add"),
        {"project": project.pk, "text": "Pick one.", "change_note": "start"},
    )
    assert response.status_code == 302, response.content
    draft = GuidelineVersion.objects.get()
    assert (draft.author, draft.number, draft.published_at) == (admin_user, None, None)


def test_the_preview_renders_markdown_without_raw_html(staff, project, admin_user):
    draft = guideline_draft_create(
        project=project, text="**bold** <script>alert(1)</script>", author=admin_user
    )
    response = staff.get(admin_url("preview", draft.pk))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<strong>bold</strong>" in page
    assert "<script>alert(1)</script>" not in page


def test_the_preview_renders_markdown_tables_with_their_cells_escaped(staff, project, admin_user):
    text = "| label | when |\n|---|---|\n| cat | <b>whiskers</b> |\n"
    draft = guideline_draft_create(project=project, text=text, author=admin_user)
    page = staff.get(admin_url("preview", draft.pk)).content.decode()
    assert "<table>" in page and "<th>label</th>" in page and "<td>cat</td>" in page
    assert "<td>&lt;b&gt;whiskers&lt;/b&gt;</td>" in page


def test_keeping_the_items_publishes_without_a_confirmation_step(staff, draft):
    response = staff.post(admin_url("publish", draft.pk), {"requeue": "keep"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.is_published


def test_staff_publish_from_the_admin_with_a_requeue_choice(staff, draft):
    page = staff.get(admin_url("publish", draft.pk))
    assert page.status_code == 200
    assert 'value="labels"' in page.content.decode()

    confirm = staff.post(admin_url("publish", draft.pk), {"requeue": "all"})
    assert confirm.context["requeue_count"] == 0
    draft.refresh_from_db()
    assert not draft.is_published
    response = staff.post(
        admin_url("publish", draft.pk), {"requeue": "all", "confirm": "0"}, follow=True
    )

    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.number == 1 and draft.is_published
    assert "Published version 1" in response.content.decode()
    assert AuditEvent.objects.get().changes["requeue"] == "all"


def test_the_label_choice_without_labels_shows_the_form_again(staff, draft):
    response = staff.post(admin_url("publish", draft.pk), {"requeue": "labels"})
    assert response.status_code == 200
    assert "Name the labels" in response.content.decode()
    draft.refresh_from_db()
    assert not draft.is_published


def test_a_published_version_is_read_only_in_the_admin(staff, draft, admin_user):
    guideline_publish(guideline=draft, by=admin_user)
    response = staff.post(admin_url("change", draft.pk), {"text": "changed", "change_note": "x"})
    # Every field is read-only: the save changes nothing and goes back to the list.
    assert (response.status_code, response["Location"]) == (302, admin_url("changelist"))
    draft.refresh_from_db()
    assert draft.text.startswith("# Rules")
    assert staff.get(admin_url("delete", draft.pk)).status_code == 403
    assert staff.get(admin_url("publish", draft.pk)).status_code == 302


def test_staff_see_the_diff_between_any_two_versions(staff, project):
    v1 = factories.GuidelineVersionFactory(project=project, number=1, text="Cats.")
    factories.GuidelineVersionFactory(project=project, number=2, text="Cats.\nDogs.")
    v3 = factories.GuidelineVersionFactory(project=project, number=3, text="Birds <b>too</b>.")

    default = staff.get(admin_url("diff", v3.pk))
    assert default.status_code == 200
    assert "version 2" in default.content.decode()

    chosen = staff.get(admin_url("diff", v3.pk), {"other": v1.pk})
    page = chosen.content.decode()
    assert 'id="guideline-diff"' in page and "version 1" in page
    assert "<b>too</b>" not in page


def test_the_diff_offers_only_versions_of_the_same_project(staff, project, requester):
    v1 = factories.GuidelineVersionFactory(project=project, number=1, text="Cats.")
    foreign = factories.GuidelineVersionFactory(
        project=factories.ProjectFactory(owner=requester), number=1, text="secret"
    )
    response = staff.get(admin_url("diff", v1.pk), {"other": foreign.pk})
    assert response.status_code == 200
    assert "secret" not in response.content.decode()


@pytest.mark.parametrize("view", ["preview", "publish", "diff", "change"])
@pytest.mark.parametrize("who", ["worker", "requester"])
def test_non_staff_cannot_reach_the_guideline_admin(draft, view, who, worker, requester):
    client = Client()
    client.force_login({"worker": worker, "requester": requester}[who])
    response = client.get(admin_url(view, draft.pk))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
    assert client.post(admin_url("publish", draft.pk), {"requeue": "keep"}).status_code == 302
    draft.refresh_from_db()
    assert not draft.is_published
