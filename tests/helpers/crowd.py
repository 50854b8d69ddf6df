"""A crowd at work through the real services: items on HITs, workers who take tasks until none
is left, and the consensus run their answers ask for."""

from __future__ import annotations

from collections.abc import Callable

from apps.tasks.models import Item
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.skip import assignment_skip
from apps.tasks.services.assignments.submit import assignment_submit
from apps.tasks.services.consensus.scheduling import aggregation_enqueue
from tests import factories

LABELS = ["cat", "dog", "bird"]


def make_items(project, n: int, truth: Callable[[int], str]) -> list[Item]:
    items = []
    for i in range(n):
        item = factories.ItemFactory(project=project, external_id=f"i{i}", payload={"n": i})
        factories.HITFactory(item=item, answers_wanted=project.min_overlap)
        item.truth = truth(i)
        items.append(item)
    return items


def work(worker, project, answer_of: Callable[[Item], str | None], capture=None) -> int:
    """The worker takes tasks until none is left; `answer_of` None means skip. With `capture`
    each answer's on_commit hook (the aggregation job) runs as after a real commit; without,
    call `aggregate_now` once the votes are in (much faster)."""
    answered = 0
    while (assignment := assignment_claim(worker=worker, project=project)) is not None:
        label = answer_of(assignment.hit.item)
        if label is None:
            assignment_skip(worker=worker, assignment_id=assignment.pk)
            continue
        if capture is None:
            assignment_submit(
                worker=worker, assignment_id=assignment.pk, label=label, seconds_spent=4.0
            )
        else:
            with capture(execute=True):
                assignment_submit(
                    worker=worker, assignment_id=assignment.pk, label=label, seconds_spent=4.0
                )
        answered += 1
    return answered


def aggregate_now(project) -> bool:
    """What the last answer's hook does: request a run and queue the job (inline with sync_q)."""
    return aggregation_enqueue(project_id=project.pk)


def split_to_review(owner, n: int) -> tuple:
    """`n` items sent to the disagreement queue by a cat/dog split at max_overlap 2 (majority
    vote, target 0.99), as the review-queue tests start."""
    project = factories.ProjectFactory(
        owner=owner,
        labels=LABELS,
        min_overlap=2,
        max_overlap=2,
        target_posterior=0.99,
        gold_share=0,
        aggregation_method="majority_vote",
    )
    items = make_items(project, n, lambda i: "cat")
    work(factories.WorkerFactory(username="ann"), project, lambda item: "cat")
    work(factories.WorkerFactory(username="bo"), project, lambda item: "dog")
    assert aggregate_now(project)
    assert Item.objects.filter(project=project, state="needs_review").count() == n
    return project, items
