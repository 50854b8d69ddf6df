"""Every HIT type gets its project (kind mturk), as hit_type_create now makes one with it: the
types made before it have none. Backwards: their projects go again."""

from django.db import migrations


def forwards(apps, schema_editor):
    HITType = apps.get_model("mturk", "HITType")
    Project = apps.get_model("tasks", "Project")
    for hit_type in HITType.objects.filter(project__isnull=True).order_by("id"):
        hit_type.project = Project.objects.create(
            owner_id=hit_type.requester_id,
            kind="mturk",
            name=hit_type.title,
            description=hit_type.description,
            labels=[],
            reward_per_answer=hit_type.reward,
            lease_seconds=hit_type.assignment_duration_seconds,
            min_overlap=1,
            max_overlap=1,
            gold_share=0,
        )
        hit_type.save(update_fields=["project"])


def backwards(apps, schema_editor):
    HITType = apps.get_model("mturk", "HITType")
    Project = apps.get_model("tasks", "Project")
    ids = list(HITType.objects.values_list("project_id", flat=True))
    HITType.objects.update(project=None)
    Project.objects.filter(pk__in=ids, kind="mturk", items__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("mturk", "0003_create_mturk_hit")]

    operations = [migrations.RunPython(forwards, backwards)]
