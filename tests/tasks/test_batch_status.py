"""GET /api/v1/batches/{id}/ and GET /api/v1/projects/{id}/batches/, and who may not use them."""

from __future__ import annotations

import pytest

from apps.tasks.models import Batch, Item
from tests.factories import BatchFactory, ItemFactory, ProjectFactory

pytestmark = pytest.mark.django_db

CSV = (
    b"external_id,text,prediction,confidence,gold_label\n"
    b"a1,purr,cat,0.97,\n"
    b"a2,woof,dog,0.4,\n"
    b"a3,tweet,,,bird\n"
)


def upload(client, project, body: bytes = CSV):
    return client.post(f"/api/v1/projects/{project.id}/batches/", body, content_type="text/csv")


def test_the_status_counts_rows_by_where_they_went(api_client_for, requester, project):
    client = api_client_for(requester)
    batch_id = upload(client, project).json()["id"]
    # The crowd settles a2 later: it counts as done from then on.
    Item.objects.filter(external_id="a2").update(state=Item.State.CONSENSUS, final_label="dog")
    response = client.get(f"/api/v1/batches/{batch_id}/")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("rows", "created", "auto_labeled", "sent_to_people")} == {
        "rows": 3,
        "created": 3,
        "auto_labeled": 1,
        "sent_to_people": 2,
    }
    assert (body["gold"], body["done"], body["status"]) == (1, 2, "imported")
    assert body["by_state"]["waiting"] == 1
    assert body["by_state"]["consensus"] == 1
    assert body["errors"] == []


def test_the_list_holds_the_project_batches_newest_first_in_a_few_queries(
    api_client_for, requester, project, django_assert_max_num_queries
):
    client = api_client_for(requester)
    first = upload(client, project).json()["id"]
    second = upload(client, project, CSV.replace(b"a3,", b"a4,")).json()["id"]
    upload(client, project, b"external_id,text\nbad\n")
    BatchFactory(project=ProjectFactory(owner=requester))  # another project of mine
    for _ in range(5):
        BatchFactory(project=project, status=Batch.Status.REJECTED)
    # auth, project, count, page, one GROUP BY for all statuses
    with django_assert_max_num_queries(6):
        response = client.get(f"/api/v1/projects/{project.id}/batches/")
    assert response.status_code == 200
    results = response.json()["results"]
    assert response.json()["count"] == 8
    ids = [b["id"] for b in results]
    assert ids.index(second) < ids.index(first)
    by_id = {b["id"]: b for b in results}
    assert (by_id[second]["created"], by_id[second]["gold"]) == (1, 1)


def test_another_requester_gets_404_everywhere(api_client_for, requester, project, other_requester):
    batch_id = upload(api_client_for(requester), project).json()["id"]
    client = api_client_for(other_requester)
    assert client.get(f"/api/v1/batches/{batch_id}/").status_code == 404
    assert client.get(f"/api/v1/projects/{project.id}/batches/").status_code == 404
    assert upload(client, project).status_code == 404
    assert Batch.objects.count() == 1
    assert Item.objects.count() == 3


@pytest.mark.parametrize(("who", "code"), [("worker", 403), ("anonymous", 401)])
def test_workers_and_anonymous_are_refused_everywhere(
    api_client_for, requester, project, worker, who, code
):
    batch_id = upload(api_client_for(requester), project).json()["id"]
    client = api_client_for(worker if who == "worker" else None)
    assert client.get(f"/api/v1/batches/{batch_id}/").status_code == code
    assert client.get(f"/api/v1/projects/{project.id}/batches/").status_code == code
    assert upload(client, project, CSV.replace(b"a1", b"z1")).status_code == code
    assert Item.objects.count() == 3


def test_an_admin_sees_and_uploads_to_any_project(api_client_for, requester, project, admin_user):
    client = api_client_for(admin_user)
    response = upload(client, project)
    assert response.status_code == 201
    assert client.get(f"/api/v1/batches/{response.json()['id']}/").status_code == 200
    assert Batch.objects.get().uploaded_by == admin_user


def test_items_created_outside_a_batch_do_not_count(api_client_for, requester, project):
    client = api_client_for(requester)
    batch_id = upload(client, project).json()["id"]
    ItemFactory(project=project, state=Item.State.AUTO_LABELED)
    assert client.get(f"/api/v1/batches/{batch_id}/").json()["done"] == 1
