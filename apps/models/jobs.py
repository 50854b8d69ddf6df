"""Background jobs of the learning loop: each is a few lines that call a service.

Queued by dotted path (django-q2) with ids as arguments. Retrain and rescore are queued with
`ack_failure=False`, so a job that raised or was killed is delivered again after
Q_CLUSTER["retry"] seconds (up to max_attempts); a retry resumes or claims afresh.
"""

from __future__ import annotations


def retrain_job(project_id: int, trigger: str = "labels") -> str:
    from apps.models.services.training import model_retrain

    run = model_retrain(project_id=project_id, trigger=trigger)
    return "another run holds the project" if run is None else f"{run.status}: {run.detail}"


def rescore_job(model_version_id: int) -> str:
    from apps.models.services.scoring import rescore_run

    run = rescore_run(model_version_id=model_version_id)
    return "no active version" if run is None else f"{run.status}: {run.done}/{run.total}"


def webhook_deliver_job(delivery_id: int) -> str:
    from apps.models.services.webhooks import webhook_deliver

    delivery = webhook_deliver(delivery_id=delivery_id)
    return f"{delivery.status} after {delivery.attempts} attempt(s)"


def webhooks_sweep_job() -> str:
    from apps.models.services.webhooks import webhooks_sweep

    return f"{webhooks_sweep()} attempt(s)"
