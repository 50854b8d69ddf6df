"""The reconciliation export of a panel link: one CSV row per participant, to settle the
panel's payments (approve, reject, bonus) against what they did here.

Streamed in keyset chunks of participants (selectors.panel_participant_chunks), each chunk
read in four queries whatever its size (participants, their answers, their ledger, their
blocks): memory holds one chunk, never the link's participants.

The columns, per participant (on the link's project):
- participant_id, study_id, session_id (the latest seen), worker_id, username;
- started_at, completed_at, outcome (`quota_reached`, `no_work_left`, `screened_out`, or
  empty while they are not done), completed (`true` once given the completion code:
  quota_reached or no_work_left);
- answers_given (every answer, counted or not), answers_rejected (answers whose pay an
  admin or the owner reversed), answers_accepted (given - rejected);
- gold_answers, gold_correct, gold_accuracy (empty without gold answers; the qualification
  test's answers are gold answers too);
- earnings (credits - reversals), bonuses, total (earnings + bonuses), from the ledger;
- blocked (`true` while a block holds on the project or everywhere).

Every value is ours or matches a narrow pattern (panel ids: letters, digits, `_`, `.`, `-`,
never first), so no cell starts with a character a spreadsheet runs as a formula: the one
file is fine in a spreadsheet and for scripts alike.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify

from apps.panels.models import PanelLink, PanelParticipant
from apps.panels.selectors import panel_participant_chunks
from apps.tasks.selectors.answers import answer_counts_by_worker
from apps.workers.selectors import blocks_active_on, ledger_totals_by_worker

COLUMNS = (
    "participant_id",
    "study_id",
    "session_id",
    "worker_id",
    "username",
    "started_at",
    "completed_at",
    "outcome",
    "completed",
    "answers_given",
    "answers_accepted",
    "answers_rejected",
    "gold_answers",
    "gold_correct",
    "gold_accuracy",
    "earnings",
    "bonuses",
    "total",
    "blocked",
)
COMPLETED = frozenset(
    {PanelParticipant.Outcome.QUOTA_REACHED, PanelParticipant.Outcome.NO_WORK_LEFT}
)
ZERO = Decimal("0.0000")


def reconciliation_response(*, link: PanelLink) -> StreamingHttpResponse:
    """The streamed CSV download of the link's participants (scope the link to its owner)."""
    response = StreamingHttpResponse(
        reconciliation_csv(link=link), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{_file_name(link)}"'
    response["Cache-Control"] = "no-store"
    return response


def _file_name(link: PanelLink) -> str:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return f"{slugify(link.name) or 'panel'}-{link.pk}-participants-{stamp}.csv"


def reconciliation_csv(*, link: PanelLink) -> Iterator[bytes]:
    buffer = io.StringIO()
    # Rows end in CRLF (RFC 4180), as the items' export.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield buffer.getvalue().encode()
    for chunk in panel_participant_chunks(link=link):
        buffer.seek(0)
        buffer.truncate()
        for row in reconciliation_rows(link=link, participants=chunk):
            writer.writerow(_cell(row[name]) for name in COLUMNS)
        yield buffer.getvalue().encode()


def reconciliation_rows(
    *, link: PanelLink, participants: list[PanelParticipant]
) -> list[dict[str, Any]]:
    """One row (COLUMNS) per participant: three queries for the whole list."""
    ids = [participant.user_id for participant in participants]
    answers = answer_counts_by_worker(project_id=link.project_id, worker_ids=ids)
    ledger = ledger_totals_by_worker(project_id=link.project_id, worker_ids=ids)
    blocked = set(
        blocks_active_on(project_id=link.project_id)
        .filter(worker_id__in=ids)
        .values_list("worker_id", flat=True)
    )
    rows = []
    for participant in participants:
        worker_id = participant.user_id
        given = answers.get(worker_id, {})
        money = ledger.get(worker_id, {})
        n_given = given.get("given", 0)
        rejected = money.get("rejected", 0)
        gold, correct = given.get("gold", 0), given.get("gold_correct", 0)
        earnings = money.get("credits", ZERO) - money.get("reversals", ZERO)
        bonuses = money.get("bonuses", ZERO)
        rows.append(
            {
                "participant_id": participant.participant_id,
                "study_id": participant.study_id,
                "session_id": participant.session_id,
                "worker_id": worker_id,
                "username": participant.user.username,
                "started_at": participant.started_at,
                "completed_at": participant.completed_at,
                "outcome": participant.outcome,
                "completed": participant.outcome in COMPLETED,
                "answers_given": n_given,
                "answers_accepted": n_given - rejected,
                "answers_rejected": rejected,
                "gold_answers": gold,
                "gold_correct": correct,
                "gold_accuracy": round(correct / gold, 4) if gold else None,
                "earnings": earnings,
                "bonuses": bonuses,
                "total": earnings + bonuses,
                "blocked": worker_id in blocked,
            }
        )
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value.quantize(ZERO):f}"
    return str(value)
