"""Funds held for open slots (issue 17): CreateHIT, CreateHITWithHITType and
CreateAdditionalAssignmentsForHIT are refused, as MTurk refused them, when the available balance
cannot cover Reward x assignments; what they promise stays on hold until it is paid or can no
longer be (the HIT expires or is deleted), counted from the rows (requester_balance)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction

from apps.mturk.assignment_ids import assignment_id_of
from apps.mturk.models import MturkHIT
from apps.mturk.services.external_submit import external_submit
from apps.mturk.services.hits import hit_checked, hit_create
from apps.tasks.models import HIT, Item
from apps.tasks.services.assignments.claim import assignment_claim
from apps.workers.errors import InsufficientFunds
from apps.workers.selectors import requester_balance
from tests import factories

QUESTION = (
    '<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/'
    'AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd">'
    "<ExternalURL>https://tasks.example.org/q</ExternalURL>"
    "<FrameHeight>600</FrameHeight></ExternalQuestion>"
)
PAST = datetime(2015, 1, 1, tzinfo=UTC)
NO_FUNDS = "This Requester has insufficient funds in their account to complete this transaction"


def pay_in(requester, amount: str) -> None:
    factories.DepositFactory(requester=requester, amount=Decimal(amount))


def new_type(client, reward: str = "0.25") -> str:
    return client.create_hit_type(
        Title="Cat?",
        Description="Is there a cat?",
        Reward=reward,
        AssignmentDurationInSeconds=600,
        AutoApprovalDelayInSeconds=3600,
    )["HITTypeId"]


def create(client, hit_type_id: str, assignments: int) -> dict:
    return client.create_hit_with_hit_type(
        HITTypeId=hit_type_id, LifetimeInSeconds=3600, Question=QUESTION, MaxAssignments=assignments
    )["HIT"]


def balance(client) -> tuple[str, str]:
    answer = client.get_account_balance()
    return answer["AvailableBalance"], answer["OnHoldBalance"]


def refusal(raised) -> tuple[str, str]:
    response = raised.value.response
    return response["TurkErrorCode"], response["Error"]["Message"]


def test_a_hit_the_balance_cannot_cover_is_refused_and_nothing_is_made(owner_client, requester):
    pay_in(requester, "0.99")
    hit_type_id = new_type(owner_client)

    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        create(owner_client, hit_type_id, assignments=4)  # 4 x 0.25 = 1.00

    code, message = refusal(raised)
    assert code == "AWS.MechanicalTurk.InsufficientFunds"
    assert message.startswith(NO_FUNDS) and "(0.99)" in message and "1.00" in message
    assert not MturkHIT.objects.exists() and not Item.objects.exists()
    assert balance(owner_client) == ("0.99", "0.00")


def test_create_hit_with_its_type_inline_is_refused_too(owner_client, requester):
    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.create_hit(
            Title="Cat?",
            Description="Is there a cat?",
            Reward="0.05",
            AssignmentDurationInSeconds=600,
            LifetimeInSeconds=3600,
            Question=QUESTION,
        )
    assert refusal(raised)[0] == "AWS.MechanicalTurk.InsufficientFunds"
    assert not MturkHIT.objects.exists()


def test_the_hits_rewards_go_on_hold_and_the_next_hit_sees_them(owner_client, requester):
    pay_in(requester, "1.00")
    hit_type_id = new_type(owner_client)

    create(owner_client, hit_type_id, assignments=3)

    assert balance(owner_client) == ("0.25", "0.75")
    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        create(owner_client, hit_type_id, assignments=2)
    assert refusal(raised)[0] == "AWS.MechanicalTurk.InsufficientFunds"
    create(owner_client, hit_type_id, assignments=1)  # exactly what is left
    assert balance(owner_client) == ("0.00", "1.00")


def test_more_assignments_need_their_rewards_available(owner_client, requester):
    pay_in(requester, "1.00")
    hit = create(owner_client, new_type(owner_client), assignments=2)

    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.create_additional_assignments_for_hit(
            HITId=hit["HITId"], NumberOfAdditionalAssignments=3
        )
    assert refusal(raised)[0] == "AWS.MechanicalTurk.InsufficientFunds"
    assert HIT.objects.get().answers_wanted == 2

    owner_client.create_additional_assignments_for_hit(
        HITId=hit["HITId"], NumberOfAdditionalAssignments=2
    )
    assert HIT.objects.get().answers_wanted == 4
    assert balance(owner_client) == ("0.00", "1.00")


def test_work_moves_from_open_slot_to_review_to_spent(owner_client, requester, worker):
    pay_in(requester, "1.00")
    hit = create(owner_client, new_type(owner_client), assignments=2)
    row = MturkHIT.objects.select_related("hit_type__project").get(hit_id=hit["HITId"])
    lease = assignment_claim(worker=worker, project=row.hit_type.project)
    assert balance(owner_client) == ("0.50", "0.50")  # the lease is one of the two slots

    fields = [("cat", "yes")]
    done = external_submit(assignment_id=assignment_id_of(lease.pk), fields=fields, visitor=worker)
    assert balance(owner_client) == ("0.50", "0.50")  # one slot open, one awaiting review

    owner_client.approve_assignment(AssignmentId=done.assignment.assignment_id)
    assert balance(owner_client) == ("0.50", "0.25")  # paid: spent, no longer held


def test_expiring_a_hit_releases_its_open_slots_but_not_a_live_lease(
    owner_client, requester, worker
):
    pay_in(requester, "1.00")
    hit = create(owner_client, new_type(owner_client), assignments=4)
    row = MturkHIT.objects.select_related("hit_type__project").get(hit_id=hit["HITId"])
    assignment_claim(worker=worker, project=row.hit_type.project)

    owner_client.update_expiration_for_hit(HITId=hit["HITId"], ExpireAt=PAST)

    # The worker on it may still submit until their deadline: that reward stays held.
    assert balance(owner_client) == ("0.75", "0.25")


def test_reopening_an_expired_hit_holds_its_slots_again_if_the_balance_covers_them(
    owner_client, requester
):
    pay_in(requester, "1.00")
    hit_type_id = new_type(owner_client)
    first = create(owner_client, hit_type_id, assignments=4)
    owner_client.update_expiration_for_hit(HITId=first["HITId"], ExpireAt=PAST)
    create(owner_client, hit_type_id, assignments=1)  # spends what the expiry released
    later = datetime.now(UTC) + timedelta(hours=1)

    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.update_expiration_for_hit(HITId=first["HITId"], ExpireAt=later)
    assert refusal(raised)[0] == "AWS.MechanicalTurk.InsufficientFunds"
    assert owner_client.get_hit(HITId=first["HITId"])["HIT"]["HITStatus"] == "Reviewable"

    pay_in(requester, "0.25")
    owner_client.update_expiration_for_hit(HITId=first["HITId"], ExpireAt=later)
    assert balance(owner_client) == ("0.00", "1.25")


def test_moving_a_hit_to_a_dearer_type_needs_the_difference(owner_client, requester):
    pay_in(requester, "1.00")
    cheap, dear = new_type(owner_client, "0.25"), new_type(owner_client, "0.40")
    hit = create(owner_client, cheap, assignments=2)
    create(owner_client, cheap, assignments=1)  # 0.25 left

    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.update_hit_type_of_hit(HITId=hit["HITId"], HITTypeId=dear)  # 2 x 0.15 more
    assert refusal(raised)[0] == "AWS.MechanicalTurk.InsufficientFunds"

    pay_in(requester, "0.05")
    owner_client.update_hit_type_of_hit(HITId=hit["HITId"], HITTypeId=dear)
    assert balance(owner_client) == ("0.00", "1.05")
    owner_client.update_hit_type_of_hit(HITId=hit["HITId"], HITTypeId=cheap)  # frees 0.30
    assert balance(owner_client) == ("0.30", "0.75")


def test_a_deleted_hit_holds_nothing(owner_client, requester):
    pay_in(requester, "1.00")
    hit = create(owner_client, new_type(owner_client), assignments=2)
    owner_client.update_expiration_for_hit(HITId=hit["HITId"], ExpireAt=PAST)
    owner_client.delete_hit(HITId=hit["HITId"])
    assert balance(owner_client) == ("1.00", "0.00")


def test_another_requesters_hits_hold_none_of_my_money(owner_client, requester):
    pay_in(requester, "1.00")
    factories.MturkHITFactory(hit_type__reward=Decimal("5"), task_hit__answers_wanted=9)
    assert balance(owner_client) == ("1.00", "0.00")


@pytest.mark.django_db
def test_the_balance_is_a_few_aggregate_queries_whatever_the_hits(
    requester, django_assert_max_num_queries
):
    hit_type = factories.HITTypeFactory(requester=requester)
    for _ in range(5):
        factories.MturkAssignmentFactory(
            mturk_hit=factories.MturkHITFactory(hit_type=hit_type, task_hit__answers_wanted=3)
        )
    with django_assert_max_num_queries(6):
        held = requester_balance(requester=requester).on_hold
    # Per HIT: two open slots and one assignment awaiting review, 0.05 each.
    assert held == 5 * 3 * Decimal("0.05")


def _create_one(requester, hit_type, outcomes: list, *, hold: threading.Event | None) -> None:
    try:
        with transaction.atomic():
            new = hit_checked(question=QUESTION, lifetime_seconds=3600, max_assignments=1)
            hit_create(requester=requester, hit_type=hit_type, new=new)
            outcomes.append(("created", time.monotonic()))
            if hold is not None:
                hold.set()
                time.sleep(0.5)  # the other call is waiting for the requester's row now
    except InsufficientFunds:
        outcomes.append(("refused", time.monotonic()))
    except Exception as exc:  # reported by the main thread
        outcomes.append((exc, time.monotonic()))
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_hits_cannot_both_pass_on_money_for_one(on_postgres):
    requester = factories.RequesterFactory()
    hit_type = factories.HITTypeFactory(requester=requester, reward=Decimal("1.00"))
    pay_in(requester, "1.00")
    outcomes: list = []
    holding = threading.Event()
    first = threading.Thread(
        target=_create_one, args=(requester, hit_type, outcomes), kwargs={"hold": holding}
    )
    first.start()
    assert holding.wait(timeout=30)
    second = threading.Thread(
        target=_create_one, args=(requester, hit_type, outcomes), kwargs={"hold": None}
    )
    second.start()
    first.join(timeout=60)
    second.join(timeout=60)

    assert [outcome for outcome, _ in outcomes] == ["created", "refused"]
    assert MturkHIT.objects.filter(requester=requester).count() == 1
    assert requester_balance(requester=requester).available == 0
