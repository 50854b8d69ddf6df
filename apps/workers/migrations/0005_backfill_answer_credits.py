"""Credit every answer given before the ledger existed, at its project's reward per answer.

Answers that already have a credit are left alone, so the migration can run on a database
where some credits exist. Reversing it removes only the credits it wrote (their reason).
"""

from django.db import migrations

REASON = "backfill: answer given before the ledger"
CHUNK = 5000


def credit_past_answers(apps, schema_editor):
    Answer = apps.get_model("tasks", "Answer")
    LedgerEntry = apps.get_model("workers", "LedgerEntry")
    credited = LedgerEntry.objects.filter(kind="credit", answer__isnull=False)
    answers = (
        Answer.objects.exclude(pk__in=credited.values("answer_id"))
        .values_list("pk", "worker_id", "project_id", "project__reward_per_answer", "created_at")
        .order_by("pk")
    )
    batch = []
    for answer_id, worker_id, project_id, reward in answers.iterator(CHUNK):
        batch.append(
            LedgerEntry(
                worker_id=worker_id,
                project_id=project_id,
                kind="credit",
                amount=reward,
                answer_id=answer_id,
                reason=REASON,
            )
        )
        if len(batch) >= CHUNK:
            LedgerEntry.objects.bulk_create(batch)
            batch = []
    LedgerEntry.objects.bulk_create(batch)


def remove_backfilled_credits(apps, schema_editor):
    apps.get_model("workers", "LedgerEntry").objects.filter(reason=REASON).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("workers", "0004_add_ledger"),
    ]

    operations = [migrations.RunPython(credit_past_answers, remove_backfilled_credits)]
