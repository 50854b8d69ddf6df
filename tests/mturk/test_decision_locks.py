"""An assignment's decision lock lets a bonus on it through (PostgreSQL, two connections): an
overridden rejection locks the assignment and then the requester's row (funds_check); a
SendBonus locks the requester's row and then inserts a row pointing at the assignment. With
FOR UPDATE on the assignment the two could deadlock; FOR NO KEY UPDATE lets the bonus's
foreign-key check pass."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from apps.mturk.models import MturkBonus
from apps.mturk.services import assignments
from apps.mturk.services.bonuses import bonus_send
from apps.mturk.workers import worker_id_of
from tests import factories


@pytest.mark.django_db(transaction=True)
def test_a_bonus_on_an_assignment_being_decided_does_not_wait_for_the_decision(on_postgres):
    row = factories.MturkAssignmentFactory()
    requester = row.mturk_hit.requester
    factories.DepositFactory(requester=requester, amount=Decimal("10"))
    locked, done = threading.Event(), threading.Event()

    def decide() -> None:
        try:
            with transaction.atomic():
                assignments._locked(requester, row.assignment_id)  # the decision's lock
                locked.set()
                done.wait(timeout=20)  # held until the bonus is through (or gave up)
        finally:
            connection.close()

    holder = threading.Thread(target=decide)
    holder.start()
    try:
        assert locked.wait(timeout=20)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '3s'")
            bonus_send(
                requester=requester,
                worker_id=worker_id_of(row.task_assignment.worker),
                assignment_id=row.assignment_id,
                amount="0.50",
                reason="Thanks",
                unique_request_token="decision-lock",
            )
    finally:
        done.set()
        holder.join(timeout=30)
    assert MturkBonus.objects.filter(mturk_assignment=row).count() == 1
