"""The automation rate has one definition (apps/tasks/selectors/overview.py, automation_of):
of the items with a final label, the share the model labeled. The admin's overview, the model
dashboard (total and per day) and the project API show the same number for one data set."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.tasks.models import Item
from apps.tasks.selectors.overview import automation, automation_of
from tests import factories

pytestmark = pytest.mark.django_db

# 5 auto-labeled of 8 final labeled items: 62.5%. Counting every item (the dashboard's old
# denominator) would say 5 of 14, counting every item with a label (the overview's) 5 of 11.
STATES = {
    Item.State.AUTO_LABELED: 5,
    Item.State.CONSENSUS: 2,
    Item.State.RESOLVED: 1,
    Item.State.NEEDS_REVIEW: 2,
    Item.State.WAITING: 2,
    Item.State.AMBIGUOUS: 1,
}


@pytest.fixture
def mixed(requester):
    project = factories.ProjectFactory(owner=requester, gold_share=0)
    sources = {Item.State.AUTO_LABELED: "model", Item.State.RESOLVED: "admin"}
    for state, n in STATES.items():
        for i in range(n):
            tentative = state in (Item.State.WAITING, Item.State.NEEDS_REVIEW)
            factories.ItemFactory(
                project=project,
                external_id=f"{state}-{i}",
                state=state,
                final_label="" if state == Item.State.AMBIGUOUS else "cat",
                label_source=sources.get(state, "crowd" if not tentative else ""),
            )
    factories.ItemFactory(
        project=project, external_id="gold", is_gold=True, gold_label="cat", state="waiting"
    )
    return project


def test_the_rate_counts_only_final_labels(mixed):
    assert automation(project=mixed) == {"labeled": 8, "auto": 5, "rate": 0.625, "percent": 62.5}


def test_nothing_labeled_has_no_rate():
    assert automation_of({Item.State.WAITING: 3}) == {
        "labeled": 0,
        "auto": 0,
        "rate": None,
        "percent": None,
    }


def test_every_page_and_the_api_show_the_same_rate(mixed, client, admin_user, api_client_for):
    client.force_login(admin_user)
    overview = client.get(f"/admin/tasks/project/{mixed.pk}/overview/")
    dashboard = client.get(reverse("requester-project-models", args=[mixed.pk]))
    api = api_client_for(mixed.owner).get(f"/api/v1/projects/{mixed.pk}/")

    assert overview.context["automation"]["rate"] == 0.625
    assert dashboard.context["automation"]["rate"] == 0.625
    assert dashboard.context["automation_rate"] == 0.625
    [today] = dashboard.context["per_day"]  # every item was created today
    assert (today["labeled"], today["auto"], today["automation_rate"]) == (8, 5, 0.625)
    assert api.json()["automation"] == {"labeled": 8, "auto": 5, "rate": 0.625}
    assert "5 of 8 labeled items auto-labeled (62.5%)" in overview.content.decode()
    page = dashboard.content.decode()
    assert "62.5%: 5 of 8 labeled items auto-labeled" in page
    assert page.count("62.5%") == 3  # the total, the loop now, today's row
