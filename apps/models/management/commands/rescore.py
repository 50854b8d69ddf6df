from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.models.models import ModelVersion
from apps.models.services.scoring import rescore_run
from hitlcrowd.db import use_job_limits


class Command(BaseCommand):
    help = "Re-score a project's open items with its active model (resumes a stopped run)."

    def add_arguments(self, parser):
        parser.add_argument("project_id", type=int)

    def handle(self, *args, project_id: int, **options):
        use_job_limits()
        version = ModelVersion.objects.filter(project_id=project_id, is_active=True).first()
        if version is None:
            raise CommandError(f"Project {project_id} has no active model version.")
        run = rescore_run(model_version_id=version.pk)
        self.stdout.write(f"{run.status}: {run.done}/{run.total}, {run.auto_labeled} auto-labeled")
