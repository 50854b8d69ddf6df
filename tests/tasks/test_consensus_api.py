"""Consensus, quality and worker-stats endpoints: who may see what."""

from __future__ import annotations

import pytest

from apps.tasks.models import Item
from apps.workers.models import Block
from tests import factories
from tests.helpers.crowd import LABELS, aggregate_now, make_items, work


@pytest.fixture
def labeled(project, sync_q, worker, other_worker):
    """Two workers answered two items of the owner's project; one item is gold."""
    project.labels = LABELS
    project.gold_share = 1.0  # the worker gets the gold first, while real work is left
    project.save()
    items = make_items(project, 2, lambda i: LABELS[i])
    gold = factories.ItemFactory(project=project, is_gold=True, gold_label="bird")
    factories.HITFactory(item=gold, answers_wanted=1)
    work(worker, project, lambda item: "cat" if item.pk == items[0].pk else "dog")  # wrong on gold
    project.gold_share = 0
    project.save()
    work(other_worker, project, lambda item: "cat" if item.pk == items[0].pk else "dog")
    assert aggregate_now(project)
    return items


def consensus_url(project, item=None) -> str:
    base = f"/api/v1/projects/{project.pk}/consensus/"
    return base if item is None else f"{base}{item.pk}/"


ENDPOINTS = ["consensus", "consensus_item", "quality", "workers"]


def url_of(name, project, item) -> str:
    return {
        "consensus": consensus_url(project),
        "consensus_item": consensus_url(project, item),
        "quality": f"/api/v1/projects/{project.pk}/quality/",
        "workers": f"/api/v1/projects/{project.pk}/workers/",
    }[name]


@pytest.mark.parametrize("name", ENDPOINTS)
def test_the_owner_and_an_admin_may_read_it(
    name, project, labeled, requester, admin_user, api_client_for
):
    for user in (requester, admin_user):
        response = api_client_for(user).get(url_of(name, project, labeled[0]))
        assert response.status_code == 200, (user, response.json())


@pytest.mark.parametrize("name", ENDPOINTS)
def test_another_requester_gets_404(name, project, labeled, other_requester, api_client_for):
    response = api_client_for(other_requester).get(url_of(name, project, labeled[0]))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("name", ENDPOINTS)
def test_a_worker_gets_403(name, project, labeled, worker, api_client_for):
    response = api_client_for(worker).get(url_of(name, project, labeled[0]))
    assert response.status_code == 403


@pytest.mark.parametrize("name", ENDPOINTS)
def test_anonymous_gets_401(name, project, labeled, api_client_for):
    assert api_client_for().get(url_of(name, project, labeled[0])).status_code == 401


def test_the_consensus_list_shows_labels_and_posteriors(
    project, labeled, requester, api_client_for
):
    body = api_client_for(requester).get(consensus_url(project)).json()
    rows = {row["external_id"]: row for row in body["results"]}
    assert set(rows) == {"i0", "i1"}  # gold is not crowd consensus
    assert rows["i0"]["final_label"] == "cat" and rows["i1"]["final_label"] == "dog"
    assert set(rows["i0"]["posterior"]) == set(LABELS)
    assert rows["i0"]["n_answers"] == 2 and rows["i0"]["method"] == "dawid_skene"
    assert rows["i0"]["run"] is not None


def test_the_consensus_list_filters_by_state_and_rejects_a_bad_one(
    project, labeled, requester, api_client_for
):
    client = api_client_for(requester)
    Item.objects.filter(pk=labeled[0].pk).update(state=Item.State.WAITING)
    Item.objects.filter(pk=labeled[1].pk).update(state=Item.State.NEEDS_REVIEW)
    body = client.get(consensus_url(project), {"state": "needs_review"}).json()
    assert [row["id"] for row in body["results"]] == [labeled[1].pk]
    bad = client.get(consensus_url(project), {"state": "nope"})
    assert bad.status_code == 400 and "state" in bad.json()["errors"]


def test_an_item_of_another_project_is_404(project, labeled, requester, api_client_for):
    other = factories.ItemFactory(project=factories.ProjectFactory())
    assert api_client_for(requester).get(consensus_url(project, other)).status_code == 404


def test_the_quality_summary(project, labeled, requester, worker, api_client_for):
    Block.objects.create(worker=worker, project=project, reason="test")
    body = api_client_for(requester).get(f"/api/v1/projects/{project.pk}/quality/").json()
    assert body["gold_answers"] == 1 and body["gold_accuracy"] == 0.0
    assert body["answers"] == 4 and body["answers_per_item"] == 2.0
    assert body["crowd_labeled"] == 2 and 0 < body["mean_posterior"] <= 1
    assert body["blocked_workers"] == 1
    assert sum(body["items_by_state"].values()) == 3
    assert body["latest_run"]["status"] == "finished"


def test_the_project_workers_list_shows_skill_gold_and_blocks(
    project, labeled, requester, worker, other_worker, api_client_for, django_assert_max_num_queries
):
    Block.objects.create(worker=worker, project=project, reason="Failed gold")
    client = api_client_for(requester)
    with django_assert_max_num_queries(8):
        body = client.get(f"/api/v1/projects/{project.pk}/workers/").json()
    rows = {row["username"]: row for row in body["results"]}
    assert set(rows) == {"worker", "other-worker"}
    assert rows["worker"]["gold_answers"] == 1 and rows["worker"]["gold_accuracy"] == 0.0
    assert rows["worker"]["blocked"] and rows["worker"]["blocked_reason"] == "Failed gold"
    assert not rows["other-worker"]["blocked"]
    assert rows["worker"]["skill_low"] <= rows["worker"]["skill_high"]


def test_a_worker_sees_only_their_own_stats_and_nothing_about_gold(
    project, labeled, worker, other_worker, api_client_for
):
    other_project = factories.ProjectFactory()
    factories.HITFactory(item=factories.ItemFactory(project=other_project))
    response = api_client_for(worker).get("/api/v1/work/me/stats/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["project_id"] for row in rows] == [project.pk]
    assert rows[0]["answers"] == 3
    assert "gold" not in response.content.decode()
    assert "confusion" not in rows[0]


def test_requesters_and_anonymous_may_not_read_worker_stats(requester, api_client_for):
    assert api_client_for(requester).get("/api/v1/work/me/stats/").status_code == 403
    assert api_client_for().get("/api/v1/work/me/stats/").status_code == 401


def test_the_schema_documents_the_new_endpoints(admin_user, api_client_for):
    schema = api_client_for(admin_user).get("/api/schema/", {"format": "json"}).json()
    for path in (
        "/api/v1/projects/{project_id}/consensus/",
        "/api/v1/projects/{project_id}/consensus/{item_id}/",
        "/api/v1/projects/{project_id}/quality/",
        "/api/v1/projects/{project_id}/workers/",
        "/api/v1/work/me/stats/",
    ):
        assert "404" in str(schema["paths"][path]) or "403" in str(schema["paths"][path])


def decided(project, confidences: list[float], state=Item.State.CONSENSUS) -> None:
    for confidence in confidences:
        factories.ItemFactory(
            project=project,
            state=state,
            final_label="cat",
            label_source=Item.Source.CROWD,
            final_confidence=confidence,
        )


def test_the_review_tradeoff_counts_items_below_each_bar_and_the_rest_s_posterior(
    project, requester, api_client_for
):
    project.review_below = 0.85
    project.save()
    decided(project, [0.999, 0.97, 0.92])
    decided(project, [0.6], state=Item.State.NEEDS_REVIEW)
    factories.ItemFactory(project=project, state=Item.State.WAITING, final_confidence=0.1)
    factories.ItemFactory(project=project, state=Item.State.RESOLVED, final_confidence=0.2)
    body = api_client_for(requester).get(f"/api/v1/projects/{project.pk}/quality/").json()
    rows = {row["review_below"]: row for row in body["review_tradeoff"]}
    assert sorted(rows) == [0.5, 0.8, 0.85, 0.9, 0.95, 0.99]
    assert [row["review_below"] for row in body["review_tradeoff"] if row["current"]] == [0.85]
    assert {bar: rows[bar]["to_review"] for bar in rows} == {
        0.5: 0,
        0.8: 1,
        0.85: 1,
        0.9: 1,
        0.95: 2,
        0.99: 3,
    }
    assert rows[0.95]["decided"] == 4 and rows[0.95]["share_to_review"] == 0.5
    assert rows[0.95]["expected_accuracy"] == pytest.approx((0.999 + 0.97) / 2)
    assert rows[0.5]["expected_accuracy"] == pytest.approx((0.999 + 0.97 + 0.92 + 0.6) / 4)


def test_the_review_tradeoff_is_empty_before_any_consensus(project, requester, api_client_for):
    body = api_client_for(requester).get(f"/api/v1/projects/{project.pk}/quality/").json()
    assert all(row["decided"] == 0 for row in body["review_tradeoff"])
    assert all(row["expected_accuracy"] is None for row in body["review_tradeoff"])
