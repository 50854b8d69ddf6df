from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.models.services.training import model_retrain
from apps.tasks.models import Project
from hitlcrowd.db import use_job_limits


class Command(BaseCommand):
    help = "Retrain a project's model now (in this process); promoted only if better."

    def add_arguments(self, parser):
        parser.add_argument("project_id", type=int)

    def handle(self, *args, project_id: int, **options):
        use_job_limits()
        if not Project.objects.filter(pk=project_id).exists():
            raise CommandError(f"No project {project_id}.")
        run = model_retrain(project_id=project_id, trigger="manual")
        if run is None:
            raise CommandError("A training run is going on for this project.")
        self.stdout.write(f"{run.status}: {run.detail}")
