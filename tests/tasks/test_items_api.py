import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.tasks.models import Item
from tests.factories import AnswerFactory, BatchFactory, HITFactory, ItemFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def url(project, item=None):
    base = f"/api/v1/projects/{project.id}/items/"
    return f"{base}{item.id}/" if item else base


def ids(response):
    return [row["id"] for row in response.json()["results"]]


def test_the_owner_pages_through_every_item_with_a_cursor(api_client_for, requester, project):
    items = ItemFactory.create_batch(7, project=project)
    client = api_client_for(requester)
    seen, next_url = [], url(project) + "?page_size=3"
    while next_url:
        response = client.get(next_url)
        assert response.status_code == 200, response.content
        seen += ids(response)
        next_url = response.json()["next"]
    assert seen == [item.id for item in items]


def test_a_page_shows_the_result_and_the_owners_gold_label(api_client_for, requester, project):
    ItemFactory(
        project=project,
        external_id="a-1",
        state=Item.State.CONSENSUS,
        final_label="cat",
        label_source=Item.Source.CROWD,
        final_confidence=0.97,
        posterior={"cat": 0.97, "dog": 0.02, "bird": 0.01},
        is_gold=True,
        gold_label="cat",
    )
    row = api_client_for(requester).get(url(project)).json()["results"][0]
    assert row["external_id"] == "a-1"
    assert row["final_label"] == "cat"
    assert row["posterior"]["cat"] == 0.97
    assert (row["is_gold"], row["gold_label"]) == (True, "cat")


def test_it_filters_by_state_batch_gold_and_external_id(api_client_for, requester, project):
    batch = BatchFactory(project=project)
    auto = ItemFactory(project=project, state=Item.State.AUTO_LABELED, batch=batch)
    waiting = ItemFactory(project=project, state=Item.State.WAITING)
    review = ItemFactory(project=project, state=Item.State.NEEDS_REVIEW)
    gold = ItemFactory(project=project, is_gold=True, gold_label="dog")
    client = api_client_for(requester)
    assert ids(client.get(url(project) + "?state=auto_labeled")) == [auto.id]
    both = ids(client.get(url(project) + "?state=auto_labeled,needs_review"))
    assert both == [auto.id, review.id]
    repeated = ids(client.get(url(project) + "?state=auto_labeled&state=needs_review"))
    assert repeated == both
    assert ids(client.get(url(project) + f"?batch={batch.id}")) == [auto.id]
    assert ids(client.get(url(project) + "?is_gold=true")) == [gold.id]
    assert gold.id not in ids(client.get(url(project) + "?is_gold=false"))
    assert ids(client.get(url(project) + f"?external_id={waiting.external_id}")) == [waiting.id]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("state=finished", "state"),
        ("state=waiting,bogus", "state"),
        ("batch=abc", "batch"),
        ("is_gold=maybe", "is_gold"),
    ],
)
def test_a_bad_filter_is_a_400_naming_the_field(api_client_for, requester, project, query, field):
    response = api_client_for(requester).get(url(project) + "?" + query)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"]


def test_a_batch_of_another_project_is_a_400(api_client_for, requester, project, other_requester):
    foreign = BatchFactory(project=ProjectFactory(owner=other_requester))
    mine_elsewhere = BatchFactory(project=ProjectFactory(owner=requester))
    client = api_client_for(requester)
    for batch in (foreign, mine_elsewhere):
        response = client.get(url(project) + f"?batch={batch.id}")
        assert response.status_code == 400
        assert "batch" in response.json()["errors"]


def test_the_query_count_does_not_grow_with_the_page_size(api_client_for, requester, project):
    ItemFactory.create_batch(60, project=project)
    client = api_client_for(requester)
    counts = []
    for size in (5, 60):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url(project) + f"?page_size={size}")
        assert len(response.json()["results"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_list_takes_a_bounded_number_of_queries(
    api_client_for, requester, project, django_assert_max_num_queries
):
    ItemFactory.create_batch(30, project=project)
    client = api_client_for(requester)
    # knox token lookup (+ its refresh) + the project + the page of items.
    with django_assert_max_num_queries(5):
        assert client.get(url(project) + "?state=waiting").status_code == 200


def test_the_detail_shows_the_answers(api_client_for, requester, project, worker):
    hit = HITFactory(item=ItemFactory(project=project))
    AnswerFactory(assignment__hit=hit, assignment__worker=worker, label="dog")
    response = api_client_for(requester).get(url(project, hit.item))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == hit.item.id
    assert [(a["worker"], a["label"]) for a in body["answers"]] == [(worker.id, "dog")]


def test_an_item_of_another_project_is_not_found_under_mine(
    api_client_for, requester, project, other_requester
):
    foreign = ItemFactory(project=ProjectFactory(owner=other_requester))
    assert api_client_for(requester).get(url(project, foreign)).status_code == 404


def test_another_requester_gets_404(api_client_for, project, other_requester):
    item = ItemFactory(project=project)
    client = api_client_for(other_requester)
    assert client.get(url(project)).status_code == 404
    assert client.get(url(project, item)).status_code == 404


def test_workers_and_anonymous_are_refused(api_client_for, project, worker):
    item = ItemFactory(project=project)
    for client, code in [(api_client_for(worker), 403), (api_client_for(), 401)]:
        assert client.get(url(project)).status_code == code
        assert client.get(url(project, item)).status_code == code


def test_an_admin_sees_any_projects_items(api_client_for, project, admin_user):
    item = ItemFactory(project=project)
    assert ids(api_client_for(admin_user).get(url(project))) == [item.id]
