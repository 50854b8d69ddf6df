"""Property tests of the upload API (hypothesis): any body is imported or refused with a 400.

Through the real view and service on the test client: arbitrary bytes and nasty rows
(tests/upload_strategies.py) in every format, raw or multipart, get 201 (200 for a body the
project already imported: a replay) or a 400 in the API's error shape, never a 500, and a
refused upload writes no item. Fewer examples than the parser's tests
(tests/unit/test_ingest_properties.py): each is a whole request and import.
"""

from __future__ import annotations

import hashlib
import itertools

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.tasks.models import Batch, Item
from tests.factories import ProjectFactory
from tests.upload_strategies import FORMATS, KINDS, LABELS, encode, kinds_and_rows, render

pytestmark = pytest.mark.django_db

# Function-scoped fixtures (the client, the projects) are shared by the examples on purpose:
# each example is one more upload to the same projects, as a client would make.
API = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NUMBERS = itertools.count()
CONTENT_TYPES = {"csv": "text/csv", "json": "application/json", "jsonl": "application/x-ndjson"}


@pytest.fixture
def projects(requester) -> dict[str, object]:
    return {kind: ProjectFactory(owner=requester, item_kind=kind, labels=LABELS) for kind in KINDS}


@pytest.fixture
def client(api_client_for, requester):
    return api_client_for(requester)


def post(client, project, body: bytes, fmt: str, multipart: bool):
    url = f"/api/v1/projects/{project.id}/batches/"
    if multipart:
        file = SimpleUploadedFile(f"rows.{fmt}", body, content_type="application/octet-stream")
        return client.post(url, {"file": file}, format="multipart")
    return client.post(url, body, content_type=CONTENT_TYPES[fmt])


def upload(client, project, body: bytes, fmt: str, multipart: bool) -> None:
    """Post the body and check the answer. Whether arbitrary input is valid is what the property
    leaves open, so a 400 is always a right answer; otherwise the body is imported: 201, or 200
    when the project already imported these exact bytes (a replay by content digest)."""
    digest = hashlib.sha256(body).hexdigest()
    imported = Batch.objects.filter(project=project, status=Batch.Status.IMPORTED)
    replay = imported.filter(content_sha256=digest).exists()
    items_before = Item.objects.count()

    response = post(client, project, body, fmt, multipart)

    answer = response.json()
    if response.status_code == 400:
        assert {"code", "detail", "errors"} <= set(answer), answer
        assert answer["code"] in ("invalid_rows", "invalid", "unreadable_body"), answer
        assert Item.objects.count() == items_before
    elif replay:
        assert response.status_code == 200, (response.status_code, answer)
        assert Item.objects.count() == items_before
    else:
        assert response.status_code == 201, (response.status_code, answer)
        assert Item.objects.count() == items_before + answer["created"]


@API
@given(
    body=st.binary(max_size=2_000),
    fmt=st.sampled_from(FORMATS),
    kind=st.sampled_from(KINDS),
    multipart=st.booleans(),
)
def test_arbitrary_bytes_are_imported_or_refused_with_a_400(
    client, projects, body, fmt, kind, multipart
):
    upload(client, projects[kind], body, fmt, multipart)


@API
@given(
    kind_and_batch=kinds_and_rows,
    fmt=st.sampled_from(FORMATS),
    line_end=st.sampled_from(["\n", "\r\n"]),
    encoding=st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-bom", "utf-16"]),
    multipart=st.booleans(),
)
def test_nasty_rows_are_imported_or_refused_with_a_400(
    client, projects, kind_and_batch, fmt, line_end, encoding, multipart
):
    kind, batch = kind_and_batch
    for row in batch:  # ids new to the project: a clash with an earlier example is no test
        row["external_id"] = f"e{next(NUMBERS)}"
    body = encode(render(batch, fmt, line_end), encoding)
    upload(client, projects[kind], body, fmt, multipart)
