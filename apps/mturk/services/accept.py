"""A worker accepts the MTurk HIT they previewed: on MTurk the Accept button took that HIT (an
ExternalQuestion's URL often carries per-HIT parameters), not the next free one of its type.

The lease is our claim's, of that HIT only (apps/tasks/services/assignments/claim.py,
`hit_id`): the same rules (project open and visible, blocks, QualificationRequirements
guarding Accept, a HIT the worker never had, a free slot, not expired), the same Assignment
row, lease of AssignmentDurationInSeconds and slot accounting, the same race safety (the
claim's statement locks the HIT's row). A refusal says why (HitUnavailable, 409).
"""

from __future__ import annotations

from apps.mturk.models import MturkHIT
from apps.tasks.models import Assignment
from apps.tasks.selectors.assignments import project_get_open_for_claim
from apps.tasks.services.assignments.claim import assignment_claim
from apps.workers.models import User
from hitlcrowd.errors import InvalidInput

NOT_OFFERED = "No open HIT with this HITId."


def hit_accept(*, worker: User, hit_id: str, project_id: int | None = None) -> Assignment:
    """The worker's lease on the HIT `hit_id` (its HITId), new or theirs already. With
    `project_id`, the HIT must be of that project. InvalidInput naming `hit` when no open HIT
    the worker may see has that HITId; the claim's refusals otherwise (HitUnavailable when
    the HIT is not theirs to take now)."""
    found = (
        MturkHIT.objects.filter(hit_id=hit_id, disposed_at__isnull=True)
        .values_list("task_hit_id", "hit_type__project_id")
        .first()
    )
    if found is None or (project_id is not None and found[1] != project_id):
        raise InvalidInput.field("hit", NOT_OFFERED)
    task_hit_id, hit_project_id = found
    context = project_get_open_for_claim(worker=worker, project_id=hit_project_id)
    if context is None:  # closed, or a project the worker may not see: as if none
        raise InvalidInput.field("hit", NOT_OFFERED)
    assignment = assignment_claim(worker=worker, context=context, hit_id=task_hit_id)
    assert assignment is not None  # a claim of one HIT takes it or refuses
    return assignment
