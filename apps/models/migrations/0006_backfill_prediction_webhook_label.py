"""Predictions whose callback was already queued record the item's current final label as the
one sent, so the upgrade does not send every past callback again. Reversing leaves the column
to be dropped by 0005."""

from django.db import migrations
from django.db.models import OuterRef, Subquery


def backfill(apps, schema_editor):
    Prediction = apps.get_model("mlmodels", "Prediction")
    Item = apps.get_model("tasks", "Item")
    final_label = Item.objects.filter(pk=OuterRef("item_id")).values("final_label")[:1]
    Prediction.objects.filter(webhook_queued_at__isnull=False).update(
        webhook_label=Subquery(final_label)
    )


class Migration(migrations.Migration):
    dependencies = [("mlmodels", "0005_add_prediction_webhook_label")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
