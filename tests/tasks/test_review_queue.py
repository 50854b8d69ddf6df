"""The disagreement queue in the admin: lowest posterior first, answers with skills, resolve."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.tasks.models import HIT, Item
from apps.workers.models import Block, WorkerStats
from apps.workers.web.rendering import payload_html
from tests import factories
from tests.helpers.crowd import LABELS, aggregate_now, split_to_review

QUEUE = "/admin/tasks/reviewitem/"


@pytest.fixture
def queue(requester, sync_q):
    """Three items sent to review by a 2-2 split at the maximum overlap (majority vote)."""
    project, items = split_to_review(requester, 3)
    Item.objects.filter(pk=items[1].pk).update(final_confidence=0.2)
    return project, items


@pytest.fixture
def admin_client_(client, admin_user):
    client.force_login(admin_user)
    return client


def test_the_queue_lists_items_needing_review_lowest_posterior_first(queue, admin_client_):
    project, items = queue
    factories.ItemFactory(project=project, state=Item.State.CONSENSUS)
    response = admin_client_.get(QUEUE)
    assert response.status_code == 200
    listed = [item.pk for item in response.context["cl"].result_list]
    assert listed == [items[1].pk, items[0].pk, items[2].pk]


def test_the_change_form_shows_answers_skills_and_posterior(queue, admin_client_):
    _, items = queue
    page = admin_client_.get(f"{QUEUE}{items[0].pk}/change/").content.decode()
    assert "ann" in page and "bo" in page
    skill = WorkerStats.objects.get(worker__username="ann").skill
    assert f"{skill:.2f}" in page
    assert "cat: 0.500" in page and "bird: 0.000" in page


def test_resolving_in_the_change_form_records_who_and_when(queue, admin_client_, admin_user):
    _, items = queue
    url = f"{QUEUE}{items[0].pk}/change/"
    form = admin_client_.get(url).context["adminform"].form
    assert [value for value, _ in form.fields["resolution"].choices] == ["", *LABELS]
    data = {"resolution": "dog", "answers-TOTAL_FORMS": "2", "answers-INITIAL_FORMS": "2"}
    response = admin_client_.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    item = Item.objects.get(pk=items[0].pk)
    assert (item.state, item.final_label, item.label_source) == ("resolved", "dog", "admin")
    assert item.resolved_by == admin_user and item.resolved_at is not None
    assert item.posterior == {"cat": 0.0, "dog": 1.0, "bird": 0.0}


def test_a_resolved_item_counts_as_gold_when_scoring_workers(queue, admin_client_):
    project, items = queue
    admin_client_.post(
        QUEUE,
        {"action": "resolve_with_label", "label": "dog", "_selected_action": [items[0].pk]},
    )
    # on_commit does not fire inside the test transaction: run what it queues
    assert aggregate_now(project)
    bo = WorkerStats.objects.get(worker__username="bo", project=project)
    ann = WorkerStats.objects.get(worker__username="ann", project=project)
    assert (bo.gold_answers, bo.gold_correct) == (1, 1)
    assert (ann.gold_answers, ann.gold_correct) == (1, 0)


def test_the_action_resolves_the_selection_with_the_typed_label(queue, admin_client_):
    _, items = queue
    chosen = [items[0].pk, items[2].pk]
    admin_client_.post(
        QUEUE, {"action": "resolve_with_label", "label": "bird", "_selected_action": chosen}
    )
    resolved = Item.objects.filter(pk__in=chosen)
    assert {(i.state, i.final_label) for i in resolved} == {("resolved", "bird")}
    assert Item.objects.get(pk=items[1].pk).state == Item.State.NEEDS_REVIEW
    assert not HIT.objects.filter(item__in=chosen, state=HIT.State.OPEN).exists()


def test_the_action_refuses_a_label_outside_the_project(queue, admin_client_):
    _, items = queue
    response = admin_client_.post(
        QUEUE,
        {"action": "resolve_with_label", "label": "horse", "_selected_action": [items[0].pk]},
        follow=True,
    )
    assert "Pick one of the project" in response.content.decode()
    assert Item.objects.get(pk=items[0].pk).state == Item.State.NEEDS_REVIEW


def test_non_staff_cannot_open_the_queue(queue, client, requester):
    client.force_login(requester)
    assert client.get(QUEUE).status_code == 302  # to the admin login


def test_an_admin_unblocks_with_the_block_action(queue, admin_client_, admin_user):
    project, _ = queue
    ann = factories.WorkerFactory(username="ann")
    block = Block.objects.create(worker=ann, project=project, reason="test")
    admin_client_.post(
        "/admin/workers/block/", {"action": "unblock_selected", "_selected_action": [block.pk]}
    )
    block.refresh_from_db()
    assert block.lifted_by == admin_user and block.lifted_at is not None


# --- The item as the worker saw it ---------------------------------------------------------------

DIGIT = [0, 16] + [8] * 62
PAYLOADS = {
    "text": {"text": "a <b>cat</b>\nin a box"},
    "image-url": {"image_url": "https://img.example.org/7.png"},
    "digits": {"pixels": DIGIT},
    "vector": {"features": [0.5, 1.25]},
    "unsafe-url": {"image_url": "javascript:alert(1)", "note": "<i>x</i>"},
}


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_the_queue_and_item_pages_show_the_item_as_the_workers_task_page_does(
    queue, admin_client_, worker, requester, payload
):
    _, items = queue
    Item.objects.filter(pk=items[0].pk).update(payload=payload)
    payload = Item.objects.get(pk=items[0].pk).payload  # as stored: jsonb orders the keys
    shown = payload_html(payload).strip()

    # The worker's task page renders the same payload with the same HTML.
    elsewhere = factories.ProjectFactory(owner=requester, gold_share=0)
    factories.HITFactory(item=factories.ItemFactory(project=elsewhere, payload=payload))
    worker_client = Client()
    worker_client.force_login(worker)
    assert shown in worker_client.get(f"/work/projects/{elsewhere.pk}/task/").content.decode()

    # The admin's pages render it with the same template, the picture bounded (no site.css).
    for url in (f"{QUEUE}{items[0].pk}/change/", f"/admin/tasks/item/{items[0].pk}/change/"):
        page = admin_client_.get(url).content.decode()
        assert payload_html(payload, size=256).strip() in page, url
    listed = admin_client_.get(QUEUE).content.decode()
    assert payload_html(payload, size=64, text_limit=120).strip() in listed


def test_a_digit_is_drawn_not_listed_as_numbers_in_the_queue(queue, admin_client_):
    _, items = queue
    Item.objects.filter(pk=items[0].pk).update(payload={"pixels": DIGIT})
    change = admin_client_.get(f"{QUEUE}{items[0].pk}/change/").content.decode()
    assert change.count("<rect ") == 64 and 'width="256"' in change
    assert "[0, 16, 8" not in change
    listed = admin_client_.get(QUEUE).content.decode()
    assert 'class="item-pixels"' in listed and 'width="64"' in listed


def test_the_queue_makes_the_same_queries_for_three_items_or_thirteen(
    queue, admin_client_, requester
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    project, _ = queue
    with CaptureQueriesContext(connection) as few:
        admin_client_.get(QUEUE)
    for n in range(10):
        factories.ItemFactory(
            project=project, external_id=f"more{n}", state="needs_review", payload={"pixels": DIGIT}
        )
    with CaptureQueriesContext(connection) as many:
        response = admin_client_.get(QUEUE)
    assert len(response.context["cl"].result_list) == 13
    assert len(many) == len(few)


def test_an_answer_and_a_flag_show_their_item_as_the_worker_saw_it(queue, admin_client_):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.models.models import ItemFlag
    from apps.tasks.models import Answer

    project, items = queue
    Item.objects.filter(pk=items[0].pk).update(payload={"pixels": DIGIT})
    drawn = payload_html({"pixels": DIGIT}, size=256).strip()
    answer = Answer.objects.filter(item=items[0]).first()
    page = admin_client_.get(f"/admin/tasks/answer/{answer.pk}/change/").content.decode()
    assert drawn in page

    flag = ItemFlag.objects.create(item=items[0], project=project, kind="suspected_error")
    assert (
        drawn in admin_client_.get(f"/admin/mlmodels/itemflag/{flag.pk}/change/").content.decode()
    )
    with CaptureQueriesContext(connection) as one:
        listed = admin_client_.get("/admin/mlmodels/itemflag/").content.decode()
    assert payload_html({"pixels": DIGIT}, size=64, text_limit=120).strip() in listed
    for item in items[1:]:
        ItemFlag.objects.create(item=item, project=project, kind="audit")
    with CaptureQueriesContext(connection) as three:
        admin_client_.get("/admin/mlmodels/itemflag/")
    assert len(three) == len(one)
