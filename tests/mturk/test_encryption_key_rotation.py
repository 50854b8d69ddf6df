"""Rotating ENCRYPTION_KEY without re-issuing access keys: the old key in
ENCRYPTION_KEYS_PREVIOUS still opens the secrets it wrote, and `manage.py reencrypt_secrets`
rewrites them all under the new key (hitlcrowd/secretbox.py)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.mturk.models import AccessKey
from apps.mturk.services.access_keys import (
    SECRET_PURPOSE,
    access_key_create,
    access_key_revoke,
)
from hitlcrowd import secretbox
from tests.helpers.mturk import mturk_client

pytestmark = pytest.mark.django_db

OLD = "the-old-encryption-key-0123456789abcdef"
NEW = "the-new-encryption-key-0123456789abcdef"
LOST = "a-key-nobody-kept-any-more-0123456789ab"


def old_key_token(new) -> str:
    return AccessKey.objects.get(pk=new.key.pk).secret_encrypted


def reencrypt() -> str:
    out = StringIO()
    call_command("reencrypt_secrets", stdout=out)
    return out.getvalue()


@pytest.fixture
def old_key(requester, settings):
    settings.ENCRYPTION_KEY = OLD
    return access_key_create(requester=requester, label="written under the old key")


def test_a_key_written_under_the_previous_key_still_signs_after_the_rotation(
    old_key, mturk_url, settings
):
    settings.ENCRYPTION_KEY, settings.ENCRYPTION_KEYS_PREVIOUS = NEW, [OLD]
    client = mturk_client(mturk_url, old_key.key.access_key_id, old_key.secret)
    assert client.get_account_balance()["AvailableBalance"] == "0.00"


def test_reencrypting_moves_every_secret_to_the_new_key_once(
    old_key, requester, mturk_url, settings
):
    revoked = access_key_create(requester=requester)
    access_key_revoke(key=revoked.key)
    settings.ENCRYPTION_KEY, settings.ENCRYPTION_KEYS_PREVIOUS = NEW, [OLD]
    already = access_key_create(requester=requester)  # under the new key from the start
    before = AccessKey.objects.get(pk=already.key.pk).secret_encrypted

    assert reencrypt() == (
        "MTurk access keys: 2 re-encrypted, 1 already under the current key, 0 undecryptable.\n"
    )
    assert AccessKey.objects.get(pk=already.key.pk).secret_encrypted == before
    assert reencrypt().startswith("MTurk access keys: 0 re-encrypted, 3 already")

    settings.ENCRYPTION_KEYS_PREVIOUS = []  # the old key dropped: nothing needs it any more
    client = mturk_client(mturk_url, old_key.key.access_key_id, old_key.secret)
    assert client.get_account_balance()["OnHoldBalance"] == "0.00"


def test_a_secret_no_key_opens_is_named_and_left_while_the_others_move(
    old_key, requester, settings
):
    settings.ENCRYPTION_KEY = LOST
    lost = access_key_create(requester=requester)
    lost_token = AccessKey.objects.get(pk=lost.key.pk).secret_encrypted
    settings.ENCRYPTION_KEY, settings.ENCRYPTION_KEYS_PREVIOUS = NEW, [OLD]

    with pytest.raises(CommandError, match=lost.key.access_key_id):
        reencrypt()

    assert AccessKey.objects.get(pk=lost.key.pk).secret_encrypted == lost_token
    # The other key moved all the same: it is under the new key now.
    assert secretbox.reencrypt(purpose=SECRET_PURPOSE, token=old_key_token(old_key)) is None
    settings.ENCRYPTION_KEYS_PREVIOUS = [OLD, LOST]  # the lost key found again
    assert reencrypt().startswith("MTurk access keys: 1 re-encrypted, 1 already")


def test_without_the_previous_key_the_old_secrets_fail_as_unknown_keys(
    old_key, mturk_url, settings
):
    settings.ENCRYPTION_KEY = NEW
    client = mturk_client(mturk_url, old_key.key.access_key_id, old_key.secret)
    with pytest.raises(client.exceptions.ClientError) as raised:
        client.get_account_balance()
    assert raised.value.response["Error"]["Code"] == "UnrecognizedClientException"
