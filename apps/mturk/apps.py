from django.apps import AppConfig


class MturkConfig(AppConfig):
    """A Mechanical Turk-compatible requester API: boto3's `mturk` client speaks to /mturk/."""

    name = "apps.mturk"
    label = "mturk"
    verbose_name = "Mechanical Turk API"

    def ready(self) -> None:
        from django.core import checks

        from apps.mturk.checks import encryption_key_set

        checks.register(encryption_key_set, checks.Tags.security, deploy=True)
