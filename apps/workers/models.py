from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


class User(AbstractUser):
    """An account. Its role decides which API and pages it may use; admins are `is_staff`."""

    class Role(models.TextChoices):
        WORKER = "worker", "Worker"
        REQUESTER = "requester", "Requester"

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.WORKER)
    # When the account proved it reads `email` (apps/workers/signup.py): null until then, and
    # again after the address changes. An unverified worker may work; requesters see which.
    email_verified_at = models.DateTimeField(null=True, blank=True)
    # Where the worker is, as they say on their account page (accounts.user_locale_set): an
    # ISO 3166-1 alpha-2 code (countries.py) and optionally the ISO 3166-2 subdivision without
    # its country prefix ("US", "WA"). The MTurk API's Worker_Locale qualification reads them.
    country = models.CharField(max_length=2, blank=True)
    subdivision = models.CharField(max_length=3, blank=True)
    # The worker agreed to see adult content (the MTurk API's Worker_Adult qualification).
    adult_content = models.BooleanField(default=False)

    @property
    def is_requester(self) -> bool:
        return self.role == self.Role.REQUESTER or self.is_staff

    @property
    def is_worker(self) -> bool:
        return self.role == self.Role.WORKER

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


class Qualification(models.Model):
    """A worker's qualification test on one project: the first gold items they answer.

    `answered` and `correct` are recomputed from the answers by the assignment services each
    time the worker submits a test answer; they are never shown to the worker while testing.
    """

    class State(models.TextChoices):
        TESTING = "testing", "Testing"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"

    worker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="qualifications")
    project = models.ForeignKey(
        "tasks.Project", on_delete=models.CASCADE, related_name="qualifications"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.TESTING)
    answered = models.PositiveIntegerField(default=0)
    correct = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["worker", "project"], name="qualification_worker_project_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} on {self.project_id}: {self.state}"


class WorkerStats(models.Model):
    """A worker's reliability on one project, written by each consensus run."""

    worker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="stats")
    project = models.ForeignKey("tasks.Project", on_delete=models.CASCADE, related_name="+")
    answers = models.PositiveIntegerField(default=0)
    gold_answers = models.PositiveIntegerField(default=0)
    gold_correct = models.PositiveIntegerField(default=0)
    # Expected accuracy from the consensus model, and a 95% Beta interval around the accuracy
    # from gold answers plus the model's estimate on the other answers.
    skill = models.FloatField(null=True, blank=True)
    skill_low = models.FloatField(null=True, blank=True)
    skill_high = models.FloatField(null=True, blank=True)
    # Chance-corrected accuracy (reliability.py, spam score): 0 for answers that carry no
    # information about the truth (random, constant), 1 for a perfect worker; 95% interval.
    spam_score = models.FloatField(null=True, blank=True)
    spam_score_low = models.FloatField(null=True, blank=True)
    spam_score_high = models.FloatField(null=True, blank=True)
    agreement = models.FloatField(null=True, blank=True, help_text="Share agreeing with consensus.")
    median_seconds = models.FloatField(null=True, blank=True)
    confusion = models.JSONField(null=True, blank=True, help_text="true x given, project labels.")
    # The gold check (reliability.py): the check (answers covered) at which the spam score or
    # skill rule first failed; the worker is served only gold until a check with
    # GOLD_CHECK_ANSWERS more gold answers behind it decides.
    # Written by the block check alone, never by the stats upsert (STATS_FIELDS).
    gold_check_at = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="On a gold check since this many answers: served gold until the next check.",
    )
    gold_check_gold = models.PositiveIntegerField(
        null=True, blank=True, help_text="Gold answers the check started with."
    )
    # The recheck (reliability.py): without gold to check them on, the check (answers
    # covered) at which the spam score or skill rule first failed short of a clear failure;
    # the first check BLOCK_CHECK_EVERY answers later decides. Written by the block check alone.
    recheck_at = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="A rule failed at this many answers, no gold left: a later check decides.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "worker stats"
        constraints = [
            models.UniqueConstraint(fields=["worker", "project"], name="workerstats_unique")
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} on {self.project_id}"

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_correct / self.gold_answers if self.gold_answers else None


class Block(models.Model):
    """A worker barred from a project; from every project of one requester (`requester`, no
    project: the MTurk API's CreateWorkerBlock, covering their projects created later too);
    or from every project (account-wide: neither, by an admin, covering projects created
    later too). Lifted blocks stay as history."""

    worker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocks")
    project = models.ForeignKey(
        "tasks.Project",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="blocks",
        help_text="Empty: the worker is blocked on every project (of `requester` when set), "
        "present and future.",
    )
    requester = models.ForeignKey(
        User,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="worker_blocks",
        help_text="Set (without a project): blocked from every project of this requester. "
        "The worker is not told its reason (MTurk's rule).",
    )
    reason = models.CharField(max_length=500)
    automatic = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Claim check and consensus: WHERE worker_id = ? AND project_id = ? AND lifted_at
            # IS NULL; also at most one active block per worker and project.
            models.UniqueConstraint(
                fields=["project", "worker"],
                condition=Q(lifted_at__isnull=True),
                name="block_one_active",
            ),
            # The same probe for the account-wide block: WHERE worker_id = ? AND project_id IS
            # NULL AND requester_id IS NULL AND lifted_at IS NULL; at most one active per worker.
            models.UniqueConstraint(
                fields=["worker"],
                condition=Q(project__isnull=True, requester__isnull=True, lifted_at__isnull=True),
                name="block_one_active_everywhere",
            ),
            # The requester's block, probed by the claim and the submit (WHERE requester_id =
            # p.owner_id AND worker_id = ? AND lifted_at IS NULL) and listed by ListWorkerBlocks
            # (WHERE requester_id = ? AND lifted_at IS NULL ORDER BY id); one active per pair.
            models.UniqueConstraint(
                fields=["requester", "worker"],
                condition=Q(requester__isnull=False, lifted_at__isnull=True),
                name="block_one_active_for_requester",
            ),
            models.CheckConstraint(
                condition=Q(project__isnull=True) | Q(requester__isnull=True),
                name="block_project_or_requester",
            ),
        ]

    def __str__(self) -> str:
        if self.requester_id:
            return f"{self.worker_id} blocked by requester {self.requester_id}"
        return f"{self.worker_id} blocked on {self.project_id or 'every project'}"

    @property
    def scope(self) -> str:
        """Where the block holds, in words: the project's name, "every project of <requester>"
        or "every project"."""
        if self.project_id:
            return self.project.name
        if self.requester_id:
            return f"every project of {self.requester.username}"
        return "every project"

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None


class LedgerEntry(models.Model):
    """Money owed to a worker on a project; append-only (apps/workers/ledger.py writes it).

    Amounts are never negative: a reversal cancels an earlier credit, so a project's spend and
    a worker's earnings are credits + bonuses - reversals.
    """

    class Kind(models.TextChoices):
        CREDIT = "credit", "Credit for an answer"
        BONUS = "bonus", "Bonus"
        REVERSAL = "reversal", "Reversal of a rejected answer's credit"

    worker = models.ForeignKey(User, on_delete=models.PROTECT, related_name="ledger_entries")
    project = models.ForeignKey(
        "tasks.Project", on_delete=models.CASCADE, related_name="ledger_entries"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=4)
    answer = models.ForeignKey(
        "tasks.Answer", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="ledger_amount_not_negative"),
            # A retried submit never pays twice; a rejection never reverses twice.
            models.UniqueConstraint(
                fields=["answer"], condition=Q(kind="credit"), name="ledger_one_credit_per_answer"
            ),
            models.UniqueConstraint(
                fields=["answer"],
                condition=Q(kind="reversal"),
                name="ledger_one_reversal_per_answer",
            ),
            models.CheckConstraint(
                condition=Q(kind="bonus") | Q(answer__isnull=False),
                name="ledger_credit_has_answer",
            ),
        ]
        indexes = [
            # Spend and budget check: WHERE project_id = ? GROUP BY kind [, worker_id].
            models.Index(fields=["project", "kind", "worker"], name="ledger_project_kind"),
            # Earnings: WHERE worker_id = ? GROUP BY project_id, kind.
            models.Index(fields=["worker", "project", "kind"], name="ledger_worker_project"),
            # Budget check, the entries after the checkpoint: WHERE project_id = ? AND id > ?.
            models.Index(fields=["project", "id"], name="ledger_project_tail"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} to {self.worker_id} on {self.project_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValidationError("Ledger entries are append-only; add a reversal instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Ledger entries are append-only; add a reversal instead.")


class LedgerCheckpoint(models.Model):
    """A project's spend up to one ledger entry, so the budget check on each claim sums only
    the entries after it (apps/workers/ledger.py, ledger_spend). Advanced with a conditional
    UPDATE, only over entries older than a safety margin (see ledger.CHECKPOINT_LAG)."""

    project = models.OneToOneField(
        "tasks.Project", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    upto_id = models.BigIntegerField(default=0)
    amount = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"spend of {self.project_id} up to entry {self.upto_id}"


class Deposit(models.Model):
    """Money a requester has paid in: their prepaid funds. Added by an admin (the admin's
    Deposits page, through ledger_deposit); append-only like the ledger. A requester's balance
    is their deposits less what their projects spent (apps/workers/selectors.py,
    requester_balance): MTurk's GetAccountBalance answers it."""

    requester = models.ForeignKey(User, on_delete=models.PROTECT, related_name="deposits")
    amount = models.DecimalField(max_digits=14, decimal_places=4)
    reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="deposit_amount_positive"),
        ]
        indexes = [
            # The balance: WHERE requester_id = ? (SUM).
            models.Index(fields=["requester"], name="deposit_requester"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} paid in by {self.requester_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValidationError("Deposits are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Deposits are append-only.")
