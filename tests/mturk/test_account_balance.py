"""GetAccountBalance: a requester's deposits less what the ledger spent on their projects,
less what live leases hold (apps/workers/selectors.py, requester_balance)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.mturk.services.access_keys import access_key_create
from apps.workers.ledger import ledger_deposit
from apps.workers.selectors import requester_balance
from hitlcrowd.errors import InvalidInput
from tests import factories
from tests.helpers.mturk import signed_post

pytestmark = pytest.mark.django_db


def balance_over_the_wire(client, requester) -> dict[str, str]:
    new = access_key_create(requester=requester)
    response = signed_post(client, new.key.access_key_id, new.secret)
    assert response.status_code == 200, response.content
    return json.loads(response.content)


def test_spend_and_live_leases_come_off_the_deposits(client, requester, project, admin_user):
    project.reward_per_answer = Decimal("0.25")
    project.save()
    ledger_deposit(requester=requester, amount="10", reason="invoice 7", by=admin_user)
    paid = factories.AnswerFactory(assignment__hit__item__project=project)
    factories.LedgerEntryFactory(answer=paid, amount=Decimal("0.25"))
    factories.LedgerEntryFactory(
        bonus=True, project=project, worker=paid.worker, amount=Decimal("1.00")
    )
    factories.AssignmentFactory(hit__item__project=project)  # live: 0.25 on hold
    factories.AssignmentFactory(  # expired: holds nothing
        hit__item__project=project, lease_expires_at=timezone.now() - timedelta(minutes=1)
    )

    balance = requester_balance(requester=requester)

    assert (balance.deposited, balance.spent, balance.on_hold) == (
        Decimal("10.0000"),
        Decimal("1.2500"),
        Decimal("0.2500"),
    )
    assert balance_over_the_wire(client, requester) == {
        "AvailableBalance": "8.50",
        "OnHoldBalance": "0.25",
    }


def test_a_reversal_gives_the_money_back(requester, project):
    factories.DepositFactory(requester=requester, amount=Decimal("5"))
    paid = factories.AnswerFactory(assignment__hit__item__project=project)
    factories.LedgerEntryFactory(answer=paid, amount=Decimal("0.50"))
    factories.LedgerEntryFactory(answer=paid, kind="reversal", amount=Decimal("0.50"))
    assert requester_balance(requester=requester).available == Decimal("5.0000")


def test_other_requesters_spend_and_deposits_do_not_count(requester, other_requester):
    theirs = factories.ProjectFactory(owner=other_requester)
    factories.DepositFactory(requester=other_requester, amount=Decimal("7"))
    factories.LedgerEntryFactory(
        answer=factories.AnswerFactory(assignment__hit__item__project=theirs)
    )
    balance = requester_balance(requester=requester)
    assert (balance.deposited, balance.spent, balance.on_hold) == (0, 0, 0)


def test_spend_past_the_deposits_shows_as_nothing_available(client, requester, project):
    factories.LedgerEntryFactory(
        answer=factories.AnswerFactory(assignment__hit__item__project=project)
    )
    assert requester_balance(requester=requester).available < 0
    assert balance_over_the_wire(client, requester)["AvailableBalance"] == "0.00"


def test_available_is_rounded_down_and_on_hold_up(client, requester, project):
    project.reward_per_answer = Decimal("0.0050")
    project.save()
    factories.DepositFactory(requester=requester, amount=Decimal("1.0099"))
    factories.AssignmentFactory(hit__item__project=project)
    assert balance_over_the_wire(client, requester) == {
        "AvailableBalance": "1.00",
        "OnHoldBalance": "0.01",
    }


@pytest.mark.parametrize("amount", ["0", "-1", "abc", "10000000.01", "1.00001"])
def test_a_deposit_must_be_a_positive_amount(requester, admin_user, amount):
    with pytest.raises(InvalidInput):
        ledger_deposit(requester=requester, amount=amount, reason="", by=admin_user)


def test_deposits_are_for_requesters(worker, admin_user):
    with pytest.raises(InvalidInput):
        ledger_deposit(requester=worker, amount="5", reason="", by=admin_user)


def test_an_admin_adds_a_deposit_in_the_admin_and_cannot_change_it(client, admin_user, requester):
    from apps.workers.models import Deposit

    client.force_login(admin_user)
    data = {"requester": requester.pk, "amount": "20.00", "reason": "invoice 9"}
    response = client.post("/admin/workers/deposit/add/", data)

    assert response.status_code == 302, response.content.decode()[:2000]
    deposit = Deposit.objects.get()
    assert (deposit.requester, deposit.amount, deposit.created_by) == (
        requester,
        Decimal("20.0000"),
        admin_user,
    )
    assert client.post(f"/admin/workers/deposit/{deposit.pk}/change/", data).status_code == 403
    assert (
        client.post(f"/admin/workers/deposit/{deposit.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
