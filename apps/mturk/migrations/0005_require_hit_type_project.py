import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mturk", "0004_backfill_hit_type_project")]

    operations = [
        migrations.AlterField(
            model_name="hittype",
            name="project",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="mturk_hit_type",
                to="tasks.project",
            ),
        ),
    ]
