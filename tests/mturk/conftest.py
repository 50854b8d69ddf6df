"""The MTurk API's tests: boto3 against pytest-django's live server (a thread of this
process, on the test database, so rows made here are seen there: transactional)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.mturk.services.access_keys import access_key_create
from tests.factories import DepositFactory
from tests.helpers.mturk import close_clients, mturk_client


@pytest.fixture(autouse=True)
def _close_clients():
    yield
    close_clients()


@pytest.fixture
def funded(requester, other_requester) -> None:
    """Both requesters paid in enough for any test's HITs: CreateHIT and more assignments are
    refused past the available balance, as MTurk's prepaid balance refused them."""
    for each in (requester, other_requester):
        DepositFactory(requester=each, amount=Decimal("100000"))


@pytest.fixture
def mturk_url(live_server) -> str:
    return f"{live_server.url}/mturk/"


@pytest.fixture
def owner_key(requester):
    return access_key_create(requester=requester, label="owner's script")


@pytest.fixture
def owner_client(mturk_url, owner_key):
    return mturk_client(mturk_url, owner_key.key.access_key_id, owner_key.secret)


@pytest.fixture
def outsider_key(other_requester):
    return access_key_create(requester=other_requester, label="outsider's script")


@pytest.fixture
def outsider_client(mturk_url, outsider_key):
    return mturk_client(mturk_url, outsider_key.key.access_key_id, outsider_key.secret)
