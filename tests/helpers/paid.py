"""A project that pays per answer, and its workers' answers and reversals."""

from __future__ import annotations

from decimal import Decimal

from apps.tasks.models import Answer
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.submit import assignment_submit
from apps.workers.models import LedgerEntry
from tests import factories

REWARD = Decimal("0.2500")


def make_paid_project(owner):
    project = factories.ProjectFactory(
        owner=owner, name="Paid", gold_share=0, reward_per_answer=REWARD
    )
    for i in range(6):
        factories.HITFactory(item__project=project, item__external_id=f"p{i}", answers_wanted=2)
    return project


def reversed_ids(worker) -> set[int]:
    return set(
        LedgerEntry.objects.filter(worker=worker, kind="reversal").values_list(
            "answer_id", flat=True
        )
    )


def answer_one(worker, project, label: str = "cat") -> Answer:
    assignment = assignment_claim(worker=worker, project=project)
    return assignment_submit(
        worker=worker, assignment_id=assignment.pk, label=label, seconds_spent=3
    )


def submit_url(assignment_id: int) -> str:
    return f"/api/v1/work/assignments/{assignment_id}/submit/"
