from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """An account. Its role decides which API and pages it may use; admins are `is_staff`."""

    class Role(models.TextChoices):
        WORKER = "worker", "Worker"
        REQUESTER = "requester", "Requester"

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.WORKER)

    @property
    def is_requester(self) -> bool:
        return self.role == self.Role.REQUESTER or self.is_staff

    @property
    def is_worker(self) -> bool:
        return self.role == self.Role.WORKER
