"""Background jobs of the tasks app: each is a few lines that call a service.

Queued or scheduled by dotted path (django-q2); arguments are ids, never model instances.
"""

from __future__ import annotations

from apps.tasks.services.assignments.slots import EXPIRE_BATCH, assignment_expire_due

EXPIRE_LEASES_JOB = "apps.tasks.jobs.expire_leases_job"


def expire_leases_job() -> int:
    """Every minute (schedule created by migration tasks 0004): give expired leases' slots back,
    and close HITs past their expiry (MTurk HITs). Returns the leases expired."""
    from apps.tasks.services.items import hits_expire_due

    expired = total = assignment_expire_due()
    while expired == EXPIRE_BATCH:
        expired = assignment_expire_due()
        total += expired
    hits_expire_due()
    return total


AGGREGATE_PROJECT_JOB = "apps.tasks.jobs.aggregate_project_job"


def aggregate_project_job(project_id: int) -> int:
    """Queued after answers commit (coalesced): re-aggregate the project. Returns runs made."""
    from apps.tasks.services.consensus.scheduling import consensus_drain

    return consensus_drain(project_id=project_id)


SETTLE_CONSENSUS_JOB = "apps.tasks.jobs.settle_consensus_job"


def settle_consensus_job() -> int:
    """Every 5 minutes (schedule created by migration tasks 0009): a cold run for projects whose
    consensus rests on a warm start and that went quiet, and a new job for projects whose job
    was lost or died, and a new re-scoring job for runs whose job died. Returns the projects
    and versions requested."""
    from apps.models.services.scoring import rescore_recover_due
    from apps.tasks.services.consensus.scheduling import consensus_recover_due, consensus_settle_due

    settled = len(consensus_settle_due()) + len(consensus_recover_due())
    return settled + len(rescore_recover_due())
