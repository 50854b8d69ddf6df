"""Extension point: what happens after a worker's answer is committed.

`answer_committed` is called through `transaction.on_commit` by
`apps.tasks.services.assignments.submit.assignment_submit`, once per new answer (never for a
replayed submission), after the answer is durably stored. It runs in the worker's request, so
it only queues work: the per-project aggregation job, coalesced (a burst of answers queues one job;
see apps/tasks/services/consensus/scheduling.py).
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def answer_committed(*, project_id: int, item_id: int) -> None:
    """Called after an answer on `item_id` of `project_id` commits: queue a consensus run."""
    from apps.tasks.services.consensus.scheduling import aggregation_enqueue

    try:
        aggregation_enqueue(project_id=project_id)
    except Exception:
        # The answer is stored; a lost request is caught by the next answer (stale flag)
        # or by `manage.py aggregate`. The worker must not see an error for it.
        log.exception("could not queue aggregation of project %s", project_id)
