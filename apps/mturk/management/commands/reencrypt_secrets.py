from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.mturk.services.access_keys import access_keys_reencrypt


class Command(BaseCommand):
    help = (
        "After rotating ENCRYPTION_KEY (the old key in ENCRYPTION_KEYS_PREVIOUS): rewrite every "
        "stored secret (MTurk access keys) under the current key, in one transaction. Running "
        "it again rewrites nothing. Fails, naming them, when some secret no key opens."
    )

    def handle(self, *args, **options) -> None:
        done = access_keys_reencrypt()
        self.stdout.write(
            f"MTurk access keys: {done.rewritten} re-encrypted, {done.current} already under "
            f"the current key, {len(done.undecryptable)} undecryptable."
        )
        if done.undecryptable:
            raise CommandError(
                "No configured key decrypts the secret of: "
                + ", ".join(done.undecryptable)
                + ". Add the key they were written with to ENCRYPTION_KEYS_PREVIOUS and run "
                "again, or revoke them (their requesters create new keys)."
            )
