"""projects/{id}/panel-links/{link_id}/export: the reconciliation CSV, one row per
participant with what they did and were paid (apps/panels/exports.py)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.panels import selectors
from apps.panels.exports import COLUMNS
from apps.panels.models import PanelParticipant
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.submit import assignment_submit
from apps.workers.ledger import AnswerChoice, ledger_grant_bonus, ledger_reject_answers
from tests.factories import (
    BlockFactory,
    HITFactory,
    PanelLinkFactory,
    PanelParticipantFactory,
    WorkerFactory,
)
from tests.helpers.web import client_for

pytestmark = pytest.mark.django_db

REWARD = Decimal("0.2500")


@pytest.fixture
def link(project):
    # The qualification test serves the two gold items first, whatever the draw.
    project.gold_share = 0
    project.qualification_size = 2
    project.qualification_pass_rate = 0.5
    project.reward_per_answer = REWARD
    project.save()
    for label in ("cat", "dog"):
        HITFactory(item__project=project, item__is_gold=True, item__gold_label=label)
    HITFactory.create_batch(4, item__project=project)
    return PanelLinkFactory(project=project, quota=10, name="Main study")


def export_rows(client, link) -> list[dict[str, str]]:
    response = client.get(f"/api/v1/projects/{link.project_id}/panel-links/{link.pk}/export")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="main-study-')
    body = b"".join(response.streaming_content).decode()
    assert body.endswith("\r\n")
    reader = csv.DictReader(io.StringIO(body))
    assert tuple(reader.fieldnames) == COLUMNS
    return list(reader)


def answer_all(worker, project, label_of) -> list:
    answers = []
    while (lease := assignment_claim(worker=worker, project=project)) is not None:
        label = label_of(lease.hit.item)
        answers.append(
            assignment_submit(worker=worker, assignment_id=lease.pk, label=label, seconds_spent=2)
        )
    return answers


def test_each_participant_gets_one_row_with_answers_gold_pay_and_state(
    link, project, requester, admin_user
):
    worked = PanelParticipantFactory(link=link, participant_id="aaa", study_id="S")
    blocked = PanelParticipantFactory(link=link, participant_id="bbb", session_id="sess-b")
    PanelParticipantFactory(link=link, participant_id="ccc")
    answers = answer_all(worked.user, project, lambda item: "cat" if item.is_gold else "dog")
    assert len(answers) == 6
    PanelParticipant.objects.filter(pk=worked.pk).update(
        outcome="quota_reached", completed_at=timezone.now()
    )
    ledger_reject_answers(
        worker=worked.user,
        project=project,
        by=requester,
        reason="Too fast",
        choice=AnswerChoice(answer_ids=(answers[-1].pk,)),
    )
    ledger_grant_bonus(
        worker=worked.user, project=project, amount="1.50", reason="Careful", by=admin_user
    )
    BlockFactory(worker=blocked.user, project=project)
    WorkerFactory()  # not a participant: not in the export

    rows = {row["participant_id"]: row for row in export_rows(client_for(requester), link)}

    assert list(rows) == ["aaa", "bbb", "ccc"]
    row = rows["aaa"]
    assert row["study_id"] == "S" and row["worker_id"] == str(worked.user_id)
    assert row["username"] == worked.user.username
    assert (row["outcome"], row["completed"], row["blocked"]) == ("quota_reached", "true", "false")
    assert row["completed_at"] and row["started_at"]
    assert (row["answers_given"], row["answers_accepted"], row["answers_rejected"]) == (
        "6",
        "5",
        "1",
    )
    assert (row["gold_answers"], row["gold_correct"], row["gold_accuracy"]) == ("2", "1", "0.5")
    assert (row["earnings"], row["bonuses"], row["total"]) == ("1.2500", "1.5000", "2.7500")

    row = rows["bbb"]
    assert (row["session_id"], row["blocked"], row["completed"]) == ("sess-b", "true", "false")
    assert (row["answers_given"], row["gold_accuracy"], row["earnings"]) == ("0", "", "0.0000")
    assert (rows["ccc"]["outcome"], rows["ccc"]["completed_at"]) == ("", "")


def test_a_screened_out_participant_is_not_completed(link, requester):
    PanelParticipantFactory(link=link, participant_id="s1", done=True, outcome="screened_out")
    (row,) = export_rows(client_for(requester), link)
    assert (row["outcome"], row["completed"]) == ("screened_out", "false")


def test_the_export_streams_chunk_by_chunk_in_a_fixed_number_of_queries(
    link, requester, monkeypatch
):
    monkeypatch.setattr(selectors, "EXPORT_CHUNK", 2)
    for n in range(5):
        PanelParticipantFactory(link=link, participant_id=f"p{n}")
    client = client_for(requester)
    response = client.get(f"/api/v1/projects/{link.project_id}/panel-links/{link.pk}/export")
    with CaptureQueriesContext(connection) as queries:
        chunks = list(response.streaming_content)
    # The header, then one piece per chunk of 2, 2 and 1 participants; 4 queries a chunk.
    assert len(chunks) == 4
    assert len(queries) == 3 * 4
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
    assert [row["participant_id"] for row in rows] == [f"p{n}" for n in range(5)]


def test_the_project_page_links_the_export(link, requester):
    page = client_for(requester).get(f"/requester/projects/{link.project_id}/")
    expected = f"/api/v1/projects/{link.project_id}/panel-links/{link.pk}/export"
    assert expected in page.content.decode()
