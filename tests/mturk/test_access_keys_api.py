"""/api/v1/mturk/access-keys/: the owner lists, creates and revokes; another requester sees
none of them (404 on theirs), a worker is refused, no token is 401."""

from __future__ import annotations

import re

import pytest

from apps.mturk.models import AccessKey
from apps.mturk.services import access_keys as services
from hitlcrowd import secretbox
from tests import factories

pytestmark = pytest.mark.django_db

LIST = "/api/v1/mturk/access-keys/"


def revoke_url(key: AccessKey) -> str:
    return f"/api/v1/mturk/access-keys/{key.pk}/revoke/"


def test_a_requester_creates_a_key_and_sees_its_secret_once(requester, api_client_for):
    client = api_client_for(requester)

    created = client.post(LIST, {"label": "lab server"}, format="json")

    assert created.status_code == 201
    body = created.json()
    assert re.fullmatch(r"AKIA[A-Z0-9]{16}", body["access_key_id"])
    assert re.fullmatch(r"[A-Za-z0-9+/]{40}", body["secret_access_key"])
    assert body["label"] == "lab server" and body["is_active"] and body["last_used_at"] is None
    listed = client.get(LIST).json()
    assert [k["access_key_id"] for k in listed] == [body["access_key_id"]]
    assert "secret_access_key" not in listed[0]


def test_the_secret_is_stored_encrypted_not_in_plain_text(requester, api_client_for):
    body = api_client_for(requester).post(LIST, {}, format="json").json()
    key = AccessKey.objects.get(access_key_id=body["access_key_id"])
    assert body["secret_access_key"] not in key.secret_encrypted
    assert services.access_key_secret(key=key) == body["secret_access_key"]


def test_another_encryption_key_cannot_read_the_secret(requester, settings):
    new = services.access_key_create(requester=requester)
    settings.ENCRYPTION_KEY = "another-key-another-key-another-key-0000"
    with pytest.raises(secretbox.Undecryptable):
        services.access_key_secret(key=new.key)


def test_a_requester_revokes_a_key(requester, api_client_for):
    key = factories.AccessKeyFactory(requester=requester)
    client = api_client_for(requester)

    response = client.post(revoke_url(key))

    assert response.status_code == 200
    assert response.json()["is_active"] is False
    key.refresh_from_db()
    assert key.revoked_at is not None
    again = client.post(revoke_url(key)).json()
    assert again["revoked_at"] == response.json()["revoked_at"]


def test_another_requester_sees_none_of_my_keys_and_cannot_revoke_them(
    requester, other_requester, api_client_for
):
    key = factories.AccessKeyFactory(requester=requester)
    client = api_client_for(other_requester)

    assert client.get(LIST).json() == []
    assert client.post(revoke_url(key)).status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_a_worker_is_refused(worker, api_client_for):
    client = api_client_for(worker)
    assert client.get(LIST).status_code == 403
    assert client.post(LIST, {}, format="json").status_code == 403


def test_without_a_token_it_is_401(requester, api_client_for):
    key = factories.AccessKeyFactory(requester=requester)
    client = api_client_for(None)
    assert client.get(LIST).status_code == 401
    assert client.post(revoke_url(key)).status_code == 401


def test_a_requester_holds_at_most_ten_live_keys(requester, api_client_for):
    factories.AccessKeyFactory.create_batch(services.LIVE_KEYS_PER_REQUESTER, requester=requester)
    client = api_client_for(requester)

    refused = client.post(LIST, {}, format="json")

    assert refused.status_code == 409
    assert refused.json()["code"] == "access_key_limit"
    client.post(revoke_url(AccessKey.objects.filter(requester=requester).first()))
    assert client.post(LIST, {}, format="json").status_code == 201


def test_a_label_too_long_is_a_400_naming_it(requester, api_client_for):
    response = api_client_for(requester).post(LIST, {"label": "x" * 101}, format="json")
    assert response.status_code == 400
    assert "label" in response.json()["errors"]


def test_without_an_encryption_key_creation_is_refused_clearly(requester, api_client_for, settings):
    settings.ENCRYPTION_KEY = None
    response = api_client_for(requester).post(LIST, {}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "encryption_key_missing"
    assert "ENCRYPTION_KEY" in response.json()["detail"]
