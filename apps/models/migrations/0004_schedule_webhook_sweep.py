"""Schedule the webhook sweep every minute: it sends deliveries that are due but whose job
found every sending slot taken when the holder had already stopped looking (or died).
Idempotent: one schedule by name."""

from django.db import migrations

NAME = "webhook sweep"
FUNC = "apps.models.jobs.webhooks_sweep_job"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={"func": FUNC, "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME, func=FUNC).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("mlmodels", "0003_add_webhook_slots"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
