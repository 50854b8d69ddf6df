"""SendBonus and ListBonusPayments through boto3: a bonus is a ledger bonus entry paid out of
the requester's prepaid funds, once per UniqueRequestToken, only to the worker of one of the
requester's assignments; the list by HIT or by assignment, paginated; another requester's keys
see and pay nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.mturk.models import MturkBonus
from apps.mturk.workers import worker_id_of
from apps.tasks.models import AuditEvent
from apps.workers.models import LedgerEntry
from apps.workers.selectors import requester_balance
from tests import factories


@pytest.fixture
def mturk_hit(requester):
    return factories.MturkHITFactory(hit_type__requester=requester, task_hit__answers_wanted=5)


@pytest.fixture
def funded(requester):
    return factories.DepositFactory(requester=requester, amount=Decimal("10"))


def submitted(mturk_hit, worker=None):
    return factories.MturkAssignmentFactory(
        mturk_hit=mturk_hit, task_assignment__worker=worker or factories.WorkerFactory()
    )


def bonus(client, row, amount="1.50", **extra):
    values = {
        "WorkerId": worker_id_of(row.task_assignment.worker),
        "AssignmentId": row.assignment_id,
        "BonusAmount": amount,
        "Reason": "Careful work, thank you.",
    }
    return client.send_bonus(**{**values, **extra})


def error(raised) -> tuple[str, str]:
    response = raised.value.response
    return response["TurkErrorCode"], response["Error"]["Message"]


def bonuses() -> list[tuple[int, Decimal]]:
    rows = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.BONUS).order_by("pk")
    return list(rows.values_list("worker_id", "amount"))


def test_a_bonus_is_a_ledger_bonus_out_of_the_balance(
    owner_client, mturk_hit, funded, requester, worker
):
    row = submitted(mturk_hit, worker)

    answer = bonus(owner_client, row)

    assert set(answer) == {"ResponseMetadata"}  # SendBonus answers nothing else

    assert bonuses() == [(worker.pk, Decimal("1.5000"))]
    entry = LedgerEntry.objects.get(kind=LedgerEntry.Kind.BONUS)
    assert (entry.project, entry.reason, entry.created_by) == (
        mturk_hit.hit_type.project,
        "Careful work, thank you.",
        requester,
    )
    assert MturkBonus.objects.get().mturk_assignment == row
    assert requester_balance(requester=requester).spent == Decimal("1.5000")
    event = AuditEvent.objects.get(action=AuditEvent.Action.BONUS_GRANT)
    assert (event.actor, event.changes["amount"]) == (requester, "1.50")


def test_a_repeated_token_pays_nothing_more(owner_client, mturk_hit, funded):
    row = submitted(mturk_hit)
    bonus(owner_client, row, UniqueRequestToken="bonus-7")

    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        bonus(owner_client, row, UniqueRequestToken="bonus-7")

    assert '"bonus-7" has already been processed' in error(raised)[1]
    assert len(bonuses()) == 1
    bonus(owner_client, row, UniqueRequestToken="bonus-8")  # another token pays again
    assert len(bonuses()) == 2


def test_the_balance_must_cover_the_bonus(owner_client, mturk_hit, requester):
    row = submitted(mturk_hit)  # its 0.05 reward is on hold, and the HIT's 4 open slots' 0.20
    factories.DepositFactory(requester=requester, amount=Decimal("1.74"))

    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        bonus(owner_client, row, amount="1.50")

    turk_code, message = error(raised)
    assert turk_code == "AWS.MechanicalTurk.InsufficientFunds"
    assert "1.49" in message
    assert bonuses() == []
    bonus(owner_client, row, amount="1.49")
    assert len(bonuses()) == 1


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"Reason": "  "}, "Reason"),
        ({"Reason": "x" * 501}, "Reason"),
        ({"BonusAmount": "0"}, "BonusAmount"),
        ({"BonusAmount": "100001"}, "BonusAmount"),
        ({"WorkerId": "A1234567890123"}, "WorkerId"),
    ],
)
def test_bad_values_are_refused_by_name(owner_client, mturk_hit, funded, extra, field):
    row = submitted(mturk_hit)

    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        bonus(owner_client, row, **extra)

    turk_code, message = error(raised)
    assert (turk_code, field in message) == ("AWS.ParameterOutOfRange", True)
    assert bonuses() == []


def test_another_workers_id_on_my_assignment_is_refused(owner_client, mturk_hit, funded, worker):
    row = submitted(mturk_hit)
    other = submitted(mturk_hit, worker)

    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        bonus(owner_client, row, WorkerId=worker_id_of(other.task_assignment.worker))

    assert error(raised)[0] == "AWS.ParameterOutOfRange"
    assert bonuses() == []


def test_list_bonus_payments_by_hit_and_by_assignment(owner_client, mturk_hit, funded, worker):
    first, second = submitted(mturk_hit, worker), submitted(mturk_hit)
    bonus(owner_client, first, amount="0.10")
    bonus(owner_client, second, amount="0.20")
    bonus(owner_client, first, amount="0.30", Reason="Another one.")
    other_hit = factories.MturkHITFactory(hit_type=mturk_hit.hit_type)
    bonus(owner_client, submitted(other_hit), amount="0.40")

    by_hit = owner_client.list_bonus_payments(HITId=mturk_hit.hit_id)
    by_assignment = owner_client.list_bonus_payments(AssignmentId=first.assignment_id)

    assert [b["BonusAmount"] for b in by_hit["BonusPayments"]] == ["0.10", "0.20", "0.30"]
    assert by_hit["NumResults"] == 3
    listed = by_assignment["BonusPayments"]
    assert [(b["BonusAmount"], b["Reason"]) for b in listed] == [
        ("0.10", "Careful work, thank you."),
        ("0.30", "Another one."),
    ]
    assert {b["WorkerId"] for b in listed} == {worker_id_of(worker)}
    assert {b["AssignmentId"] for b in listed} == {first.assignment_id}
    assert all("GrantTime" in b for b in listed)


def test_the_bonus_paginator_walks_every_bonus_once(owner_client, mturk_hit, funded):
    row = submitted(mturk_hit)
    for cents in range(1, 6):
        bonus(owner_client, row, amount=f"0.0{cents}")

    paginator = owner_client.get_paginator("list_bonus_payments")
    pages = list(paginator.paginate(HITId=mturk_hit.hit_id, PaginationConfig={"PageSize": 2}))

    assert [p["NumResults"] for p in pages] == [2, 2, 1]
    amounts = [b["BonusAmount"] for p in pages for b in p["BonusPayments"]]
    assert amounts == ["0.01", "0.02", "0.03", "0.04", "0.05"]


def test_list_bonus_payments_needs_one_of_hit_and_assignment(owner_client, mturk_hit):
    row = submitted(mturk_hit)
    for params in ({}, {"HITId": mturk_hit.hit_id, "AssignmentId": row.assignment_id}):
        with pytest.raises(owner_client.exceptions.RequestError) as raised:
            owner_client.list_bonus_payments(**params)
        assert error(raised)[0] == "AWS.ParameterOutOfRange"


def test_another_requester_can_neither_pay_nor_see_my_bonuses(
    owner_client, outsider_client, mturk_hit, funded, other_requester
):
    row = submitted(mturk_hit)
    bonus(owner_client, row)
    factories.DepositFactory(requester=other_requester, amount=Decimal("10"))

    for call in (
        lambda: bonus(outsider_client, row),
        lambda: outsider_client.list_bonus_payments(HITId=mturk_hit.hit_id),
        lambda: outsider_client.list_bonus_payments(AssignmentId=row.assignment_id),
    ):
        with pytest.raises(outsider_client.exceptions.RequestError) as raised:
            call()
        assert error(raised)[0] == "AWS.MechanicalTurk.ResourceDoesNotExist"

    assert len(bonuses()) == 1
