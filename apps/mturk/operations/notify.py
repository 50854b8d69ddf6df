"""NotifyWorkers: a message on each worker's account page (apps/mturk/notices.py)."""

from __future__ import annotations

from typing import Any

from apps.mturk.notices import notify_workers as notices_notify_workers
from apps.mturk.operations.call import Call


def notify_workers(call: Call) -> dict[str, Any]:
    params = call.params
    failures = notices_notify_workers(
        requester=call.requester,
        worker_ids=params["WorkerIds"],
        subject=params["Subject"],
        message=params["MessageText"],
    )
    return {
        "NotifyWorkersFailureStatuses": [
            {
                "NotifyWorkersFailureCode": failure.code,
                "NotifyWorkersFailureMessage": failure.message,
                "WorkerId": failure.worker_id,
            }
            for failure in failures
        ]
    }
