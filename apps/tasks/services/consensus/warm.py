"""Warm starts: the confusion matrices a run leaves for the next, and when the next uses them.

An update on a large project starts from the previous run's confusion matrices and stops after
a few iterations. A chain of such runs drifts to another optimum than a cold run on the same
answers would reach (bench/quality.py overlap: s_rel 0.72 points lower), so a project whose
latest run was warm is re-aggregated cold by a scheduled job once it has been quiet for
SETTLE_QUIET, or every SETTLE_EVERY while answers keep coming (`scheduling.consensus_settle_due`):
at rest, a project's consensus does not depend on the order its answers came in.
"""

from __future__ import annotations

import base64
from collections.abc import Hashable

import numpy as np

from apps.tasks.aggregation import AggregationResult
from apps.tasks.models import AggregationRun, Project

# Warm-start only from a run that saw at least this share of the answers, on projects this big.
WARM_SHARE = 0.9
WARM_MIN_ANSWERS = 1000


def warm_start(project: Project, answers: int) -> dict[Hashable, list[list[float]]] | None:
    """The previous run's confusion matrices, when they were learned on most of these answers.

    EM from matrices fitted on a handful of answers (near-0/1 cells) sticks in a bad local
    optimum, so a young project is always aggregated cold; warm starts are for the update
    after a few new answers on a large project, where they save most iterations.
    """
    if project.aggregation_method != Project.Aggregation.DAWID_SKENE:
        return None
    previous = (
        AggregationRun.objects.filter(
            project=project, status=AggregationRun.Status.FINISHED, confusions__isnull=False
        )
        .order_by("-id")
        .values_list("labels", "confusions", "answers")
        .first()
    )
    if previous is None or previous[0] != list(project.labels):
        return None  # the label set changed: the stored matrices no longer fit
    if answers < WARM_MIN_ANSWERS or previous[2] < WARM_SHARE * answers:
        return None
    return unpack_confusions(previous[1])


def pack_confusions(result: AggregationResult) -> dict:
    """The run's confusion matrices for the next warm start: the raw float64 bytes in base64
    (a JSON list of 1,000 x 10 x 10 floats took ~0.2 s to write and as long to read back)."""
    matrices = np.ascontiguousarray(result.confusions, dtype="<f8")
    return {
        "workers": [int(worker) for worker in result.worker_ids.tolist()],
        "shape": list(matrices.shape),
        "float64": base64.b64encode(matrices.tobytes()).decode("ascii"),
    }


def unpack_confusions(stored: dict) -> dict[Hashable, np.ndarray]:
    if "float64" not in stored:  # a run stored before the packed form: {worker: matrix}
        return {int(worker): matrix for worker, matrix in stored.items()}
    raw = base64.b64decode(stored["float64"])
    matrices = np.frombuffer(raw, dtype="<f8").reshape(stored["shape"])
    return dict(zip(stored["workers"], matrices, strict=True))
