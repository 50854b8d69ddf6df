import pytest
from django.test import Client
from django.urls import reverse

from apps.tasks.models import HIT, Answer, Assignment, Batch, GuidelineVersion, Item, Project
from apps.workers.models import User
from tests.factories import (
    AnswerFactory,
    BatchFactory,
    GuidelineVersionFactory,
    HITFactory,
    ItemFactory,
)

pytestmark = pytest.mark.django_db

MODELS = [Project, GuidelineVersion, Batch, Item, HIT, Assignment, Answer, User]


@pytest.fixture
def staff(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def answered(project, worker):
    guideline = GuidelineVersionFactory(project=project, number=1)
    batch = BatchFactory(project=project)
    answers = []
    for n in range(5):
        item = ItemFactory(project=project, batch=batch, external_id=f"x-{n}")
        hit = HITFactory(item=item)
        answers.append(
            AnswerFactory(
                assignment__hit=hit,
                assignment__worker=worker,
                assignment__guideline_version=guideline,
                label="cat",
            )
        )
    return answers


def admin_url(model, view, *args):
    meta = model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_changelist_renders_with_a_bounded_query_count(
    staff, answered, model, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        response = staff.get(admin_url(model, "changelist"))
    assert response.status_code == 200


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_change_form_renders(staff, answered, model, django_assert_max_num_queries):
    obj = model.objects.order_by("pk").first()
    with django_assert_max_num_queries(20):
        response = staff.get(admin_url(model, "change", obj.pk))
    assert response.status_code == 200


def test_items_are_found_by_external_id(staff, answered):
    response = staff.get(admin_url(Item, "changelist") + "?q=x-3")
    assert [i.external_id for i in response.context["cl"].result_list] == ["x-3"]


def test_answers_can_be_neither_changed_nor_deleted(staff, answered):
    answer = answered[0]
    assert staff.get(admin_url(Answer, "delete", answer.pk)).status_code == 403
    post = staff.post(admin_url(Answer, "change", answer.pk), {"label": "dog"})
    assert post.status_code == 403
    answer.refresh_from_db()
    assert answer.label == "cat"
    assert staff.get(admin_url(Answer, "add")).status_code == 403


def test_batches_are_read_only(staff, answered):
    batch = Batch.objects.first()
    assert staff.get(admin_url(Batch, "delete", batch.pk)).status_code == 403
    assert staff.get(admin_url(Batch, "add")).status_code == 403


def test_a_published_guideline_is_read_only(staff, answered):
    guideline = GuidelineVersion.objects.get()
    response = staff.get(admin_url(GuidelineVersion, "change", guideline.pk))
    assert "text" in response.context["adminform"].readonly_fields
    assert staff.get(admin_url(GuidelineVersion, "delete", guideline.pk)).status_code == 403


def test_the_user_admin_shows_and_filters_the_role(staff, worker, requester):
    response = staff.get(admin_url(User, "changelist") + "?role__exact=requester")
    names = {u.username for u in response.context["cl"].result_list}
    assert "owner" in names and "worker" not in names
    form = staff.get(admin_url(User, "change", worker.pk)).context["adminform"].form
    assert "role" in form.fields


def test_non_staff_are_refused(worker, requester, project):
    for user in (worker, requester):
        client = Client()
        client.force_login(user)
        for model in MODELS:
            response = client.get(admin_url(model, "changelist"))
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("admin:login"))


def test_every_model_of_both_apps_is_registered():
    from django.apps import apps
    from django.contrib import admin

    for label in ("tasks", "workers"):
        for model in apps.get_app_config(label).get_models():
            assert admin.site.is_registered(model), model.__name__


def test_an_items_state_is_not_edited_in_the_admin(staff, answered):
    item = answered[0].item
    before = Item.objects.filter(pk=item.pk).values().get()
    data = {"state": Item.State.CONSENSUS, "final_label": "dog", "is_gold": "on"}
    assert staff.post(admin_url(Item, "change", item.pk), data).status_code == 403
    assert staff.post(admin_url(Item, "delete", item.pk), {"post": "yes"}).status_code == 403
    assert staff.get(admin_url(Item, "add")).status_code == 403
    assert Item.objects.filter(pk=item.pk).values().get() == before


def hit_form(hit: HIT, **changes) -> dict[str, str]:
    expires = hit.expires_at
    data = {
        "priority": str(hit.priority),
        "expires_at_0": expires.strftime("%Y-%m-%d") if expires else "",
        "expires_at_1": expires.strftime("%H:%M:%S") if expires else "",
    }
    return {**data, **changes}


def test_an_open_hits_priority_is_saved_and_nothing_else(staff, answered):
    hit = answered[0].assignment.hit
    hit.refresh_from_db()
    form = hit_form(hit, priority="7.5", answers_wanted="9", state=HIT.State.DONE)
    response = staff.post(admin_url(HIT, "change", hit.pk), form)
    assert response.status_code == 302
    hit.refresh_from_db()
    assert (hit.priority, hit.answers_wanted, hit.state) == (7.5, 2, HIT.State.OPEN)


def test_a_finished_hits_priority_is_refused_with_a_warning(staff, answered):
    hit = answered[0].assignment.hit
    HIT.objects.filter(pk=hit.pk).update(state=HIT.State.DONE)
    hit.refresh_from_db()
    response = staff.post(
        admin_url(HIT, "change", hit.pk), hit_form(hit, priority="9"), follow=True
    )
    assert "only an open HIT" in response.content.decode()
    hit.refresh_from_db()
    assert hit.priority == 0.0


def test_an_expiry_in_the_past_ends_the_hit_through_the_service(staff, answered):
    hit = answered[0].assignment.hit
    hit.refresh_from_db()
    form = hit_form(hit, expires_at_0="2020-01-01", expires_at_1="00:00:00")
    assert staff.post(admin_url(HIT, "change", hit.pk), form).status_code == 302
    hit.refresh_from_db()
    assert hit.state == HIT.State.EXPIRED
    assert hit.expires_at.year == 2020


def test_hits_are_neither_added_nor_deleted_in_the_admin(staff, answered):
    hit = answered[0].assignment.hit
    assert staff.get(admin_url(HIT, "add")).status_code == 403
    assert staff.post(admin_url(HIT, "delete", hit.pk), {"post": "yes"}).status_code == 403
    assert HIT.objects.filter(pk=hit.pk).exists()
