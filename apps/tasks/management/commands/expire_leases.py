from __future__ import annotations

from django.core.management.base import BaseCommand

from apps.tasks.jobs import expire_leases_job


class Command(BaseCommand):
    help = "Expire assignments whose lease ran out and give their slots back to other workers."

    def handle(self, *args, **options) -> None:
        expired = expire_leases_job()
        self.stdout.write(f"Expired {expired} lease(s).")
