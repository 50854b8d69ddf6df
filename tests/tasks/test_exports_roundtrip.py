"""An export is a valid upload file: export → upload into a new project → the same items."""

import pytest

from apps.tasks.models import Item, Project
from tests.factories import ItemFactory, ProjectFactory
from tests.helpers.exports import round_trip, snapshot

pytestmark = pytest.mark.django_db


def fill_text_project(project):
    ItemFactory(
        project=project,
        external_id="auto-1",
        payload={"text": 'a cat, "quoted"\non two lines', "source": "web"},
        prediction="cat",
        confidence=0.97,
        model_version="m1",
        state=Item.State.AUTO_LABELED,
        final_label="cat",
        label_source=Item.Source.MODEL,
        final_confidence=0.97,
    )
    ItemFactory(
        project=project,
        external_id="crowd-1",
        payload={"text": "a dög", "source": "mail"},
        prediction="cat",
        confidence=0.3,
        model_version="m1",
        state=Item.State.CONSENSUS,
        final_label="dog",
        label_source=Item.Source.CROWD,
        final_confidence=0.91,
        posterior={"cat": 0.04, "dog": 0.91, "bird": 0.05},
    )
    ItemFactory(
        project=project,
        external_id="gold-1",
        payload={"text": "a bird", "source": "web"},
        is_gold=True,
        gold_label="bird",
    )


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_exported_text_project_uploads_into_a_new_project_unchanged(
    api_client_for, requester, project, fmt
):
    fill_text_project(project)
    target = round_trip(api_client_for(requester), project, fmt)
    assert snapshot(target) == snapshot(project)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_exported_digit_pixels_upload_into_a_new_project_unchanged(api_client_for, requester, fmt):
    digits = ProjectFactory(
        owner=requester, item_kind=Project.ItemKind.IMAGE, labels=[str(d) for d in range(10)]
    )
    for n in range(3):
        ItemFactory(
            project=digits,
            external_id=f"digit-{n}",
            payload={"pixels": [n, 16, 0, 7] * 16},
            prediction=str(n),
            confidence=0.5 + n / 10,
        )
    target = round_trip(api_client_for(requester), digits, fmt)
    assert snapshot(target) == snapshot(digits)
