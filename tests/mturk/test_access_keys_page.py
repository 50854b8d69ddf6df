"""/requester/mturk/: the access keys section of the requester's pages."""

from __future__ import annotations

import pytest

from apps.mturk.models import AccessKey
from tests import factories
from tests.helpers.web import client_for

pytestmark = pytest.mark.django_db

PAGE = "/requester/mturk/"


def test_the_page_shows_the_endpoint_my_keys_and_my_balance(requester, other_requester):
    mine = factories.AccessKeyFactory(requester=requester, label="lab")
    theirs = factories.AccessKeyFactory(requester=other_requester)
    factories.DepositFactory(requester=requester, amount="12.5")

    page = client_for(requester).get(PAGE).content.decode()

    assert mine.access_key_id in page and theirs.access_key_id not in page
    assert "/mturk/" in page and "12.50" in page


def test_creating_a_key_shows_its_secret_on_that_response_only(requester):
    client = client_for(requester)

    created = client.post("/requester/mturk/keys/", {"label": "notebook"})

    assert created.status_code == 201
    key = AccessKey.objects.get(requester=requester)
    page = created.content.decode()
    assert key.access_key_id in page and "shown this once" in page
    secret = page.split('id="new-key-secret">')[1].split("<")[0]
    assert len(secret) == 40
    assert secret not in client.get(PAGE).content.decode()


def test_revoking_from_the_page(requester):
    key = factories.AccessKeyFactory(requester=requester)
    response = client_for(requester).post(f"/requester/mturk/keys/{key.pk}/revoke/")
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_another_requester_cannot_revoke_my_key(requester, other_requester):
    key = factories.AccessKeyFactory(requester=requester)
    response = client_for(other_requester).post(f"/requester/mturk/keys/{key.pk}/revoke/")
    assert response.status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_workers_and_anonymous_visitors_are_kept_out(worker):
    assert client_for(worker).get(PAGE).status_code == 403
    anonymous = client_for(None).get(PAGE)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_without_an_encryption_key_the_page_says_why_no_key_can_be_made(requester, settings):
    settings.ENCRYPTION_KEY = None
    page = client_for(requester).get(PAGE).content.decode()
    assert "ENCRYPTION_KEY" in page
    assert "Create an access key" not in page
