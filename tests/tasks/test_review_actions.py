"""The disagreement queue's other actions, through the admin as staff: send an item back for
more answers (past max_overlap), and mark it ambiguous (out of the queue and of training)."""

from __future__ import annotations

import pytest

from apps.models.services.training import training_set_collect
from apps.tasks.models import HIT, Assignment, AuditEvent, Item
from apps.tasks.services.assignments.claim import assignment_claim
from tests import factories
from tests.helpers.crowd import aggregate_now, split_to_review, work

QUEUE = "/admin/tasks/reviewitem/"


@pytest.fixture
def split(requester, sync_q):
    """Two items sent to review by a 1-1 split at max_overlap 2 (majority vote), and two
    workers who have not answered them yet."""
    project, items = split_to_review(requester, 2)
    for name in ("cy", "di"):
        factories.WorkerFactory(username=name)
    return project, items


def worker_named(name: str):
    return factories.WorkerFactory._meta.model.objects.get(username=name)


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


def act(client, action: str, items, **extra):
    data = {"action": action, "_selected_action": [i.pk for i in items], **extra}
    return client.post(QUEUE, data, follow=True)


def test_sending_back_reopens_the_hit_for_more_answers_past_max_overlap(split, staff, admin_user):
    _, items = split
    response = act(staff, "send_back_for_more_answers", items[:1], more="2")
    assert "Sent back 1 item(s)." in response.content.decode()
    item = Item.objects.get(pk=items[0].pk)
    assert (item.state, item.review_action, item.resolved_by) == (
        "waiting",
        "more_answers",
        admin_user,
    )
    hit = HIT.objects.get(item=item)
    assert (hit.state, hit.answers_wanted, hit.extra_answers, hit.slots_taken) == ("open", 4, 2, 2)
    event = AuditEvent.objects.get(action="item_send_back")
    assert (event.actor, event.object_id) == (admin_user, str(item.pk))
    assert item.pk not in [i.pk for i in staff.get(QUEUE).context["cl"].result_list]


def test_a_sent_back_item_takes_answers_up_to_max_overlap_plus_the_extra(split, staff):
    project, items = split
    act(staff, "send_back_for_more_answers", items[:1], more="2")
    # A run before any new answer must not send it straight back to review.
    assert aggregate_now(project)
    assert Item.objects.get(pk=items[0].pk).state == "waiting"
    work(worker_named("cy"), project, lambda item: "cat")
    assert aggregate_now(project)
    assert Item.objects.get(pk=items[0].pk).state == "waiting"
    assert HIT.objects.get(item=items[0]).answers_wanted == 4
    work(worker_named("di"), project, lambda item: "cat")
    assert aggregate_now(project)
    # 3 cat to 1 dog is still short of 0.99: back to the queue, at max_overlap + 2 answers.
    item = Item.objects.get(pk=items[0].pk)
    assert (item.state, item.final_label) == ("needs_review", "cat")
    assert Assignment.objects.filter(hit__item=item, state="submitted").count() == 4
    assert HIT.objects.get(item=item).state == "done"
    # The other item stayed in the queue; nobody was served it.
    assert Assignment.objects.filter(hit__item=items[1]).count() == 2


def test_a_bad_number_of_more_answers_changes_nothing(split, staff):
    _, items = split
    response = act(staff, "send_back_for_more_answers", items[:1], more="500")
    assert "Ask for 1 to 20 more answers." in response.content.decode()
    assert Item.objects.get(pk=items[0].pk).state == "needs_review"
    assert HIT.objects.get(item=items[0]).state == "done"


def test_marking_ambiguous_takes_items_out_of_the_queue_and_of_training(split, staff, admin_user):
    project, items = split
    response = act(staff, "mark_ambiguous", items)
    assert "Marked ambiguous 2 item(s)." in response.content.decode()
    for item in Item.objects.filter(pk__in=[i.pk for i in items]):
        assert (item.state, item.review_action, item.resolved_by) == (
            "ambiguous",
            "ambiguous",
            admin_user,
        )
        assert item.resolved_at is not None
    assert list(staff.get(QUEUE).context["cl"].result_list) == []
    assert AuditEvent.objects.filter(action="item_ambiguous").count() == 2
    # Even with a label on it, an ambiguous item never trains the model.
    Item.objects.filter(pk=items[0].pk).update(label_source="admin", final_label="cat")
    assert training_set_collect(project=project).item_ids == []
    # And no worker is served it.
    assert assignment_claim(worker=factories.WorkerFactory(username="zed"), project=project) is None


def test_an_ambiguous_item_stays_ambiguous_after_another_consensus_run(split, staff):
    project, items = split
    act(staff, "mark_ambiguous", items[:1])
    assert aggregate_now(project)
    assert Item.objects.get(pk=items[0].pk).state == "ambiguous"


def test_actions_on_an_item_no_longer_in_review_are_refused(split, staff):
    _, items = split
    act(staff, "mark_ambiguous", items[:1])
    item = Item.objects.get(pk=items[0].pk)
    from apps.tasks.services.items import item_send_back

    with pytest.raises(Exception, match="Only items needing review"):
        item_send_back(item_id=item.pk, more=1, by=item.resolved_by)


def test_non_staff_cannot_reach_the_queue_actions(split, client, requester):
    _, items = split
    client.force_login(requester)
    response = act(client, "mark_ambiguous", items)
    assert response.redirect_chain and "/admin/login/" in response.redirect_chain[0][0]
    assert Item.objects.filter(state="ambiguous").count() == 0
