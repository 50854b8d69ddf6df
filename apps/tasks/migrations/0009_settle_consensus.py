"""Record warm-started consensus runs, and schedule the job that settles them with a cold run
every 5 minutes (idempotent: one schedule by name)."""

from django.db import migrations, models

NAME = "settle consensus"
FUNC = "apps.tasks.jobs.settle_consensus_job"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={"func": FUNC, "schedule_type": "I", "minutes": 5, "repeats": -1},
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME, func=FUNC).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0008_project_min_vote_lead"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="aggregationrun",
            name="warm_started",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="aggregationstate",
            name="settle_requested",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(create_schedule, delete_schedule),
    ]
