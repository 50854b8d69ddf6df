from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate


class TasksConfig(AppConfig):
    name = "apps.tasks"
    label = "tasks"
    verbose_name = "Projects, items and answers"

    def ready(self) -> None:
        from django_q.signals import pre_execute

        from hitlcrowd import db

        # Longer database limits for work meant to run long (see hitlcrowd/db.py).
        pre_execute.connect(db.job_limits_receiver, dispatch_uid="hitlcrowd-job-limits")
        pre_migrate.connect(db.migrate_limits_off, dispatch_uid="hitlcrowd-migrate-limits-off")
        post_migrate.connect(db.migrate_limits_back, dispatch_uid="hitlcrowd-migrate-limits-back")
