"""Load a demo: scikit-learn's bundled handwritten digits, a seed model, users and a guideline.

Idempotent: users and the project are looked up by name; the batch is imported with a fixed
Idempotency-Key, so a second run creates nothing and says so.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from apps.models.services.learning_settings import learning_settings_update
from apps.tasks.models import GuidelineVersion, Project
from apps.tasks.services.batches import batch_import
from apps.tasks.services.projects import project_create
from apps.workers.ledger import ledger_deposit
from apps.workers.models import Deposit
from hitlcrowd.db import use_job_limits

PASSWORD = "demo-pass-123"
PROJECT_NAME = "Handwritten digits"
MODEL_VERSION = "seed-v1"
SEED_SIZE = 50
GOLD_SIZE = 30
SEED_C = 100.0
IDEMPOTENCY_KEY = "demo_load:digits:v1"
# Paid in for the demo requester once, so the MTurk-compatible API (no deposit, no HITs)
# works against `make run` out of the box.
DEMO_DEPOSIT = "100.00"
DEMO_DEPOSIT_REASON = "demo funds (manage.py demo_load)"
# The demo learns fast and paces people with the model (apps/models/services/pacing.py): a
# retrain every 20 labels, at most 20 items open to people at a time (30-worker simulator:
# 3.22x fewer answers than overlap 3; 3.17x with 15 open, 2.88-2.97x with 30). Digits runs of
# bench/simulate.py use the same settings unless told otherwise.
DEMO_LEARNING = {"retrain_after_labels": 20, "people_batch": 20}
GUIDELINE = """# Which digit is it?

Each picture is an 8x8 scan of one handwritten digit (darker = more ink).

- Pick the digit **0-9** you see. Use the number keys as shortcuts.
- A **1** may have a flag at the top and a base; a **7** has a clear horizontal top stroke.
- A **4** can be open or closed at the top; a **9** has a closed loop above a stem.
- If it is truly unreadable, skip it and say why.
"""
USERS = [
    ("admin", {"role": "requester", "is_staff": True, "is_superuser": True}),
    ("requester", {"role": "requester"}),
    ("worker1", {"role": "worker"}),
    ("worker2", {"role": "worker"}),
    ("worker3", {"role": "worker"}),
]


class Command(BaseCommand):
    help = "Load the handwritten-digits demo (users, project, guideline, seed model, items)."

    def handle(self, *args: Any, **options: Any) -> None:
        use_job_limits()
        made = []
        users = {name: self._user(name, fields, made) for name, fields in USERS}
        project = self._project(users["requester"], made)
        self._funds(users["requester"], made)
        rows = list(digit_rows())
        stream = io.BytesIO("".join(json.dumps(r) + "\n" for r in rows).encode())
        result = batch_import(
            project=project,
            user=users["requester"],
            stream=stream,
            file_name="digits.jsonl",
            fmt="jsonl",
            idempotency_key=IDEMPOTENCY_KEY,
            model_version=MODEL_VERSION,
        )
        if result.replayed:
            self.stdout.write("Digits batch already imported: no items created.")
        else:
            batch = result.batch
            made.append(
                f"batch #{batch.pk}: {batch.created_count} items, {batch.auto_labeled_count} "
                f"auto-labeled by {MODEL_VERSION}, {batch.sent_to_people_count} sent to people "
                f"({GOLD_SIZE} gold)"
            )
        self._report(made, project)

    def _user(self, name: str, fields: dict[str, Any], made: list[str]):
        user, created = get_user_model().objects.get_or_create(username=name, defaults=fields)
        if created:
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
            made.append(f"user {name} ({fields['role']}{', staff' if user.is_staff else ''})")
        return user

    @transaction.atomic
    def _project(self, owner, made: list[str]) -> Project:
        project = Project.objects.filter(owner=owner, name=PROJECT_NAME).first()
        if project is None:
            project = project_create(
                owner=owner,
                name=PROJECT_NAME,
                description="scikit-learn's 8x8 handwritten digits (demo).",
                item_kind=Project.ItemKind.IMAGE,
                labels=[str(d) for d in range(10)],
                confidence_threshold=0.9,
                min_overlap=2,
                max_overlap=5,
                gold_share=0.1,
            )
            learning_settings_update(project=project, **DEMO_LEARNING)
            made.append(f"project {PROJECT_NAME!r} (#{project.pk})")
        if not project.guidelines.exists():
            GuidelineVersion.objects.create(
                project=project, number=1, text=GUIDELINE, author=owner, published_at=timezone.now()
            )
            made.append("guideline v1 (published)")
        return project

    def _funds(self, requester, made: list[str]) -> None:
        if Deposit.objects.filter(requester=requester, reason=DEMO_DEPOSIT_REASON).exists():
            return
        ledger_deposit(
            requester=requester, amount=DEMO_DEPOSIT, reason=DEMO_DEPOSIT_REASON, by=None
        )
        made.append(f"deposit of {DEMO_DEPOSIT} for requester (MTurk API funds)")

    def _report(self, made: list[str], project: Project) -> None:
        if not made:
            self.stdout.write(self.style.SUCCESS("Demo already loaded: nothing changed."))
        else:
            self.stdout.write(self.style.SUCCESS("Demo loaded:"))
            for line in made:
                self.stdout.write(f"  {line}")
        names = ", ".join(name for name, _ in USERS)
        self.stdout.write(f"Log in as {names} with password {PASSWORD!r}.")
        self.stdout.write(f"Project page: /requester/projects/{project.pk}/")


def digit_rows() -> list[dict[str, Any]]:
    """Rows for `batch_import`: 30 gold (from the seed set) and the rest predicted by the seed
    model, a LogisticRegression on pixels/16 trained on 50 digits (5 per class)."""
    digits = load_digits()
    pixels, target = digits.data.astype(int), digits.target
    by_class = [np.flatnonzero(target == d) for d in range(10)]
    seed = np.concatenate([ids[: SEED_SIZE // 10] for ids in by_class])
    gold = np.concatenate([ids[: GOLD_SIZE // 10] for ids in by_class])
    rest = np.setdiff1d(np.arange(len(target)), seed)
    # Weak regularization: with 50 examples the default C gives almost no confident scores.
    model = LogisticRegression(C=SEED_C, max_iter=2000).fit(pixels[seed] / 16, target[seed])
    probabilities = model.predict_proba(pixels[rest] / 16)
    rows = [
        {"external_id": f"digit-{i}", "payload": {"pixels": pixels[i].tolist()},
         "gold_label": str(target[i])}
        for i in sorted(gold)
    ]  # fmt: skip
    for i, p in zip(rest, probabilities, strict=True):
        best = int(np.argmax(p))
        rows.append(
            {
                "external_id": f"digit-{i}",
                "payload": {"pixels": pixels[i].tolist()},
                "prediction": str(model.classes_[best]),
                "confidence": round(float(p[best]), 6),
            }
        )
    return rows
