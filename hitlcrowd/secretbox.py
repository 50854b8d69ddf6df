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
stored secret unreadable.

Rotating ENCRYPTION_KEY: set the new key as ENCRYPTION_KEY and the old one in
ENCRYPTION_KEYS_PREVIOUS (a comma list, newest first). Secrets are encrypted with the current
key and decrypted with whichever key encrypted them (MultiFernet: the current key first, so a
secret under it costs what it did); `manage.py reencrypt_secrets` then rewrites every stored
secret under the current key, after which the previous keys can be dropped (docs/deploy.md).
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

VARIABLE = "ENCRYPTION_KEY"
PREVIOUS = "ENCRYPTION_KEYS_PREVIOUS"
MIN_KEY_LENGTH = 32


class Undecryptable(Exception):
    """A stored secret that the current key cannot decrypt (the key changed, or the row)."""


def encrypt(*, purpose: str, plaintext: str) -> str:
    return _fernet(_master_key(), purpose).encrypt(plaintext.encode()).decode()


def decrypt(*, purpose: str, token: str) -> str:
    try:
        return _keyring(purpose).decrypt(token.encode()).decode()
    except InvalidToken:
        raise Undecryptable(
            f"a {purpose} secret does not decrypt with {VARIABLE} or {PREVIOUS}"
        ) from None


def reencrypt(*, purpose: str, token: str) -> str | None:
    """`token` encrypted under the current key, or None when it already is (nothing to
    rewrite: running a rotation twice changes nothing). Undecryptable when no key opens it."""
    current = _fernet(_master_key(), purpose)
    try:
        current.decrypt(token.encode())
        return None
    except InvalidToken:
        pass
    plaintext = decrypt(purpose=purpose, token=token)
    return current.encrypt(plaintext.encode()).decode()


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


def _keyring(purpose: str) -> MultiFernet:
    """The current key, then the previous ones, for `purpose`."""
    masters = [_master_key(), *getattr(settings, PREVIOUS, [])]
    return MultiFernet([_fernet(master, purpose) for master in masters])


@lru_cache(maxsize=16)
def _fernet(master: str, purpose: str) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"hitlcrowd/{purpose}".encode()
    ).derive(master.encode())
    return Fernet(base64.urlsafe_b64encode(derived))
