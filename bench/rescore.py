"""Re-scoring throughput after a promotion, on a project of a million open items. Prints figures.

Needs the database bench/assign.py builds and keeps (1M open text HITs in project bench-1M):

    .venv/bin/python bench/assign.py --explain-only --keep-db      # once, about 3 minutes
    .venv/bin/python bench/rescore.py --seconds 120

A model trained on 400 of the project's payloads (labels assigned in turn, so it is unsure of
everything: the run measures scoring and re-prioritizing, nearly no auto-labeling) becomes the
active version; the platform's rescore job (apps.models.services.scoring.rescore_run) runs
in a thread for --seconds and the items per second are read from its progress row.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DB_URL = "postgres://postgres@127.0.0.1:5432/hitlcrowd_assign_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    args = parser.parse_args()
    os.environ.update(
        DATABASE_URL=DB_URL,
        SECRET_KEY="bench-secret",
        DEBUG="false",
        LOG_LEVEL="WARNING",
        HITLCROWD_DATA_DIR=tempfile.mkdtemp(prefix="rescore-bench-"),
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitlcrowd.settings")
    import django

    django.setup()
    from apps.models.models import ModelVersion, RescoreRun
    from apps.tasks.models import Item, Project

    project = Project.objects.get(name="bench-1M")
    version = activate_a_model(project)
    print(f"project {project.name}: {Item.objects.filter(project=project).count():,} items")
    from apps.models.services.scoring import rescore_run

    job = threading.Thread(target=rescore_run, kwargs={"model_version_id": version.pk})
    started, cpu_started = time.perf_counter(), time.process_time()
    job.start()
    while job.is_alive() and time.perf_counter() - started < args.seconds:
        time.sleep(5)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    run = RescoreRun.objects.get(model_version=version)
    print(
        f"rescored {run.done:,} of {run.total:,} items in {elapsed:.0f} s: "
        f"{run.done / elapsed:,.0f} items/s; job process CPU {cpu:.1f} s "
        f"({cpu / elapsed:.0%} of one core); auto-labeled {run.auto_labeled}"
    )
    ModelVersion.objects.filter(pk=version.pk).update(is_active=False)  # stops the job
    job.join()
    ModelVersion.objects.filter(pk=version.pk).delete()


def activate_a_model(project):
    from django.utils import timezone

    from apps.models import learning
    from apps.models.models import ModelVersion
    from apps.models.services.common import artifact_write
    from apps.tasks.models import Item

    payloads = list(
        Item.objects.filter(project=project).order_by("pk").values_list("payload", flat=True)[:400]
    )
    labels = [project.labels[i % len(project.labels)] for i in range(len(payloads))]
    model = learning.train(payloads, labels, kind=project.item_kind, label_set=list(project.labels))
    sha = artifact_write("bench/model.zip", learning.dump_model(model))
    ModelVersion.objects.filter(project=project).delete()
    return ModelVersion.objects.create(
        project=project,
        number=1,
        is_active=True,
        promoted_at=timezone.now(),
        artifact_path="bench/model.zip",
        artifact_sha256=sha,
        training_set_path="bench/none.json",
        sklearn_version=model.sklearn_version,
        label_set=list(project.labels),
    )


if __name__ == "__main__":
    main()
