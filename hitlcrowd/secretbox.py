"""Secrets we must read back in plain text, stored encrypted with a key from the environment.

An MTurk access key's secret cannot be stored as a hash: Signature V4 is an HMAC keyed with
the secret, so the server needs the secret itself to recompute each signature. It is stored
encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from the `cryptography` package) under a key
derived for that one purpose from ENCRYPTION_KEY (HKDF-SHA256, the purpose as `info`): a key
for one kind of secret decrypts no other kind, and a leaked database leaks no usable secret
without the environment.

ENCRYPTION_KEY (or ENCRYPTION_KEY_FILE) is read by settings.py. With DEBUG a default derived
from SECRET_KEY is used; in production a missing key raises ImproperlyConfigured naming the
variable at the first use, and `manage.py check --deploy` reports it (apps/mturk/checks.py).
It is not SECRET_KEY itself: rotating SECRET_KEY (after a leak, say) must not make every
stored secret unreadable. Changing ENCRYPTION_KEY does: the secrets stored under the old key
must then be issued again (docs/mturk.md).
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

VARIABLE = "ENCRYPTION_KEY"
MIN_KEY_LENGTH = 32


class Undecryptable(Exception):
    """A stored secret that the current key cannot decrypt (the key changed, or the row)."""


def encrypt(*, purpose: str, plaintext: str) -> str:
    return _fernet(_master_key(), purpose).encrypt(plaintext.encode()).decode()


def decrypt(*, purpose: str, token: str) -> str:
    try:
        return _fernet(_master_key(), purpose).decrypt(token.encode()).decode()
    except InvalidToken:
        raise Undecryptable(f"a {purpose} secret does not decrypt with {VARIABLE}") from None


def is_configured() -> bool:
    return bool(getattr(settings, VARIABLE, None))


def _master_key() -> str:
    key = getattr(settings, VARIABLE, None)
    if not key:
        raise ImproperlyConfigured(
            f"{VARIABLE} is not set: it encrypts the secrets the server must keep (MTurk access "
            f"keys). Set {VARIABLE} (or {VARIABLE}_FILE) to a random string of at least "
            f"{MIN_KEY_LENGTH} characters."
        )
    return key


@lru_cache(maxsize=16)
def _fernet(master: str, purpose: str) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"hitlcrowd/{purpose}".encode()
    ).derive(master.encode())
    return Fernet(base64.urlsafe_b64encode(derived))
