from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.tasks.models import AggregationRun, Project
from apps.tasks.services.consensus.scheduling import aggregation_request, consensus_drain
from hitlcrowd.db import use_job_limits


class Command(BaseCommand):
    help = (
        "Re-aggregate projects now from all their answers (a cold start, no warm start). "
        "A project another job is running is left to that job, which runs again afterwards."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--project", type=int, help="Only this project id.")

    def handle(self, *args, **options) -> None:
        use_job_limits()
        projects = Project.objects.order_by("pk")
        if options["project"] is not None:
            projects = projects.filter(pk=options["project"])
            if not projects.exists():
                raise CommandError(f"No project with id {options['project']}.")
        for project_id in projects.values_list("pk", flat=True):
            aggregation_request(project_id=project_id)
            runs = consensus_drain(project_id=project_id, cold=True)
            if runs == 0:
                self.stdout.write(f"Project {project_id}: a run is going on; it will run again.")
                continue
            run = AggregationRun.objects.filter(project_id=project_id).order_by("-id").first()
            self.stdout.write(
                f"Project {project_id}: {run.method}, {run.answers} answers, {run.items} items, "
                f"{run.iterations} iterations, {run.items_changed} items changed."
            )
