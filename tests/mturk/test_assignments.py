"""GetAssignment, ListAssignmentsForHIT, ApproveAssignment and RejectAssignment through boto3:
the Assignment as MTurk rendered it, the status filter and the paginator, the reward credited
in the ledger on approval only (once), MTurk's states and their errors, and another
requester's keys seeing none of it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.mturk.assignment_ids import assignment_id_of
from apps.mturk.models import MturkAssignment
from apps.mturk.operations.assignments import assignment_output
from apps.mturk.selectors import assignment_list
from apps.mturk.services.external_submit import external_submit
from apps.mturk.workers import worker_id_of
from apps.tasks.models import AuditEvent
from apps.tasks.services.assignments.claim import assignment_claim
from apps.workers.models import LedgerEntry
from apps.workers.selectors import requester_balance
from tests import factories

ANSWER = (
    '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
    '<QuestionFormAnswers xmlns="http://mechanicalturk.amazonaws.com/'
    'AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd">'
    "<Answer><QuestionIdentifier>cat</QuestionIdentifier><FreeText>yes</FreeText></Answer>"
    "</QuestionFormAnswers>"
)
REWARD = Decimal("0.25")


@pytest.fixture
def mturk_hit(requester):
    return factories.MturkHITFactory(
        hit_type__requester=requester,
        hit_type__reward=REWARD,
        task_hit__answers_wanted=5,
    )


def submitted(mturk_hit, worker=None, **values) -> MturkAssignment:
    worker = worker or factories.WorkerFactory()
    return factories.MturkAssignmentFactory(
        mturk_hit=mturk_hit, task_assignment__worker=worker, answer=ANSWER, **values
    )


def error(raised) -> tuple[str, str, str]:
    response = raised.value.response
    return response["Error"]["Code"], response["TurkErrorCode"], response["Error"]["Message"]


def credits_of(row: MturkAssignment) -> list[Decimal]:
    return list(
        LedgerEntry.objects.filter(
            answer__assignment=row.task_assignment, kind=LedgerEntry.Kind.CREDIT
        ).values_list("amount", flat=True)
    )


def test_get_assignment_answers_the_assignment_and_its_hit(owner_client, mturk_hit, worker):
    row = submitted(mturk_hit, worker)

    got = owner_client.get_assignment(AssignmentId=row.assignment_id)

    assignment, lease = got["Assignment"], row.task_assignment
    assert assignment["AssignmentId"] == row.assignment_id
    assert assignment["WorkerId"] == worker_id_of(worker)
    assert (assignment["HITId"], assignment["AssignmentStatus"]) == (mturk_hit.hit_id, "Submitted")
    assert assignment["Answer"] == ANSWER
    assert assignment["SubmitTime"].timestamp() == pytest.approx(row.submitted_at.timestamp())
    assert assignment["AutoApprovalTime"].timestamp() == pytest.approx(
        row.auto_approval_at.timestamp()
    )
    assert assignment["AcceptTime"].timestamp() == pytest.approx(lease.leased_at.timestamp())
    assert assignment["Deadline"].timestamp() == pytest.approx(lease.lease_expires_at.timestamp())
    assert not {"ApprovalTime", "RejectionTime", "RequesterFeedback"} & set(assignment)
    assert got["HIT"]["HITId"] == mturk_hit.hit_id
    assert got["HIT"]["MaxAssignments"] == 5


def test_list_assignments_for_hit_filters_by_status(owner_client, mturk_hit):
    rows = [submitted(mturk_hit) for _ in range(3)]
    owner_client.approve_assignment(AssignmentId=rows[0].assignment_id)
    owner_client.reject_assignment(AssignmentId=rows[1].assignment_id, RequesterFeedback="empty")
    submitted(factories.MturkHITFactory(hit_type=mturk_hit.hit_type))  # another HIT's

    def ids(**params):
        answer = owner_client.list_assignments_for_hit(HITId=mturk_hit.hit_id, **params)
        assert answer["NumResults"] == len(answer["Assignments"])
        return [(a["AssignmentId"], a["AssignmentStatus"]) for a in answer["Assignments"]]

    assert ids() == [
        (rows[0].assignment_id, "Approved"),
        (rows[1].assignment_id, "Rejected"),
        (rows[2].assignment_id, "Submitted"),
    ]
    assert ids(AssignmentStatuses=["Submitted"]) == [(rows[2].assignment_id, "Submitted")]
    assert ids(AssignmentStatuses=["Approved", "Rejected"]) == [
        (rows[0].assignment_id, "Approved"),
        (rows[1].assignment_id, "Rejected"),
    ]


def test_the_paginator_walks_every_assignment_once(owner_client, mturk_hit):
    rows = [submitted(mturk_hit) for _ in range(5)]

    paginator = owner_client.get_paginator("list_assignments_for_hit")
    pages = list(paginator.paginate(HITId=mturk_hit.hit_id, PaginationConfig={"PageSize": 2}))

    assert [page["NumResults"] for page in pages] == [2, 2, 1]
    walked = [a["AssignmentId"] for page in pages for a in page["Assignments"]]
    assert walked == [row.assignment_id for row in rows]


def test_a_page_of_assignments_is_one_statement(mturk_hit, django_assert_num_queries):
    for _ in range(4):
        submitted(mturk_hit)
    for row in MturkAssignment.objects.all():  # their WorkerIds exist, as once shown
        worker_id_of(row.task_assignment.worker)

    with django_assert_num_queries(1):
        rendered = [assignment_output(r, mturk_hit.hit_id) for r in assignment_list(hit=mturk_hit)]

    assert len(rendered) == 4


def test_approval_credits_the_reward_once(owner_client, mturk_hit, requester, admin_user):
    factories.DepositFactory(requester=requester, amount=Decimal("10"))
    row = submitted(mturk_hit)
    assert credits_of(row) == []  # submitted: not paid, on hold
    # It and the HIT's four open slots (each may become a paid assignment).
    assert requester_balance(requester=requester).on_hold == 5 * REWARD

    owner_client.approve_assignment(AssignmentId=row.assignment_id, RequesterFeedback="Thanks!")

    assert credits_of(row) == [REWARD]
    balance = requester_balance(requester=requester)
    assert (balance.spent, balance.on_hold) == (REWARD, 4 * REWARD)
    assert owner_client.get_account_balance()["AvailableBalance"] == "8.75"
    assignment = owner_client.get_assignment(AssignmentId=row.assignment_id)["Assignment"]
    assert assignment["AssignmentStatus"] == "Approved"
    assert assignment["RequesterFeedback"] == "Thanks!"
    assert "ApprovalTime" in assignment and "RejectionTime" not in assignment
    event = AuditEvent.objects.get(action=AuditEvent.Action.ASSIGNMENT_APPROVE)
    assert (event.actor, event.project_id) == (requester, mturk_hit.hit_type.project_id)
    assert event.changes["assignment"] == row.assignment_id
    assert event.changes["amount"] == "0.2500"

    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.approve_assignment(AssignmentId=row.assignment_id)

    code, turk_code, message = error(raised)
    assert (code, turk_code) == ("RequestError", "AWS.MechanicalTurk.InvalidAssignmentState")
    assert "Submitted" in message
    assert credits_of(row) == [REWARD]


def test_rejection_pays_nothing_and_needs_feedback(owner_client, mturk_hit, requester):
    row = submitted(mturk_hit)

    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.reject_assignment(AssignmentId=row.assignment_id, RequesterFeedback="  ")
    assert error(raised)[1] == "AWS.ParameterOutOfRange"
    assert "RequesterFeedback" in error(raised)[2]

    owner_client.reject_assignment(AssignmentId=row.assignment_id, RequesterFeedback="Blank.")

    assert credits_of(row) == []
    # Released: only the four open slots stay on hold (a rejection does not reopen a slot).
    assert requester_balance(requester=requester).on_hold == 4 * REWARD
    assignment = owner_client.get_assignment(AssignmentId=row.assignment_id)["Assignment"]
    assert (assignment["AssignmentStatus"], assignment["RequesterFeedback"]) == (
        "Rejected",
        "Blank.",
    )
    assert "RejectionTime" in assignment and "ApprovalTime" not in assignment
    event = AuditEvent.objects.get(action=AuditEvent.Action.ASSIGNMENT_REJECT)
    assert (event.actor, event.changes["feedback"]) == (requester, "Blank.")
    for again in (
        lambda: owner_client.reject_assignment(
            AssignmentId=row.assignment_id, RequesterFeedback="x"
        ),
        lambda: owner_client.approve_assignment(AssignmentId=row.assignment_id),
    ):
        with pytest.raises(owner_client.exceptions.RequestError) as raised:
            again()
        assert error(raised)[1] == "AWS.MechanicalTurk.InvalidAssignmentState"
    assert credits_of(row) == []


def test_override_rejection_approves_and_pays_then(owner_client, mturk_hit, requester):
    row = submitted(mturk_hit)
    owner_client.reject_assignment(AssignmentId=row.assignment_id, RequesterFeedback="Blank.")
    # The HIT's four open slots hold 1.00: 0.24 more is one cent short of the reward.
    factories.DepositFactory(requester=requester, amount=Decimal("1.24"))

    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.approve_assignment(AssignmentId=row.assignment_id, OverrideRejection=True)
    assert error(raised)[1] == "AWS.MechanicalTurk.InsufficientFunds"
    assert credits_of(row) == []

    factories.DepositFactory(requester=requester, amount=Decimal("0.01"))
    owner_client.approve_assignment(AssignmentId=row.assignment_id, OverrideRejection=True)

    assert credits_of(row) == [REWARD]
    assignment = owner_client.get_assignment(AssignmentId=row.assignment_id)["Assignment"]
    assert assignment["AssignmentStatus"] == "Approved"
    assert "RejectionTime" not in assignment
    event = AuditEvent.objects.get(action=AuditEvent.Action.ASSIGNMENT_APPROVE)
    assert event.changes["override_rejection"] is True


def test_a_rejection_older_than_30_days_or_of_a_deleted_hit_stays(owner_client, mturk_hit):
    now = timezone.now()
    old = submitted(
        mturk_hit,
        submitted_at=now - timedelta(days=31),
        status=MturkAssignment.Status.REJECTED,
        rejected_at=now - timedelta(days=30),
    )
    deleted_hit = factories.MturkHITFactory(hit_type=mturk_hit.hit_type, disposed_at=now)
    of_deleted = submitted(deleted_hit, status=MturkAssignment.Status.REJECTED, rejected_at=now)

    for row, words in ((old, "30 days"), (of_deleted, "deleted")):
        with pytest.raises(owner_client.exceptions.RequestError) as raised:
            owner_client.approve_assignment(AssignmentId=row.assignment_id, OverrideRejection=True)
        assert error(raised)[1] == "AWS.MechanicalTurk.InvalidAssignmentState"
        assert words in error(raised)[2]
        assert credits_of(row) == []


def test_an_approved_assignment_cannot_be_rejected(owner_client, mturk_hit):
    row = submitted(mturk_hit)
    owner_client.approve_assignment(AssignmentId=row.assignment_id)

    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.reject_assignment(AssignmentId=row.assignment_id, RequesterFeedback="No.")

    assert error(raised)[1] == "AWS.MechanicalTurk.InvalidAssignmentState"
    assert MturkAssignment.objects.get(pk=row.pk).status == "Approved"
    assert credits_of(row) == [REWARD]


def test_past_its_auto_approval_time_an_assignment_cannot_be_rejected(owner_client, mturk_hit):
    row = submitted(mturk_hit, auto_approval_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.reject_assignment(AssignmentId=row.assignment_id, RequesterFeedback="No.")

    assert error(raised)[1] == "AWS.MechanicalTurk.InvalidAssignmentState"
    assert "automatically" in error(raised)[2]
    owner_client.approve_assignment(AssignmentId=row.assignment_id)
    assert credits_of(row) == [REWARD]


def test_another_requesters_assignments_do_not_exist_for_me(
    owner_client, outsider_client, mturk_hit
):
    row = submitted(mturk_hit)

    for call in (
        lambda: outsider_client.get_assignment(AssignmentId=row.assignment_id),
        lambda: outsider_client.get_assignment(AssignmentId="X" * 30),
        lambda: outsider_client.list_assignments_for_hit(HITId=mturk_hit.hit_id),
        lambda: outsider_client.approve_assignment(AssignmentId=row.assignment_id),
        lambda: outsider_client.reject_assignment(
            AssignmentId=row.assignment_id, RequesterFeedback="No."
        ),
    ):
        with pytest.raises(outsider_client.exceptions.RequestError) as raised:
            call()
        assert error(raised)[1] == "AWS.MechanicalTurk.ResourceDoesNotExist"

    assert MturkAssignment.objects.get(pk=row.pk).status == "Submitted"
    assert credits_of(row) == []
    assert not AuditEvent.objects.filter(action__startswith="assignment_").exists()


def test_a_worker_elsewhere_is_not_in_my_list(owner_client, mturk_hit, worker):
    """The same worker on another requester's HIT: that work is not in mine."""
    mine = submitted(mturk_hit, worker)
    theirs_hit = factories.MturkHITFactory(hit_type__requester__username="them")
    submitted(theirs_hit, worker)

    listed = owner_client.list_assignments_for_hit(HITId=mturk_hit.hit_id)["Assignments"]

    assert [a["AssignmentId"] for a in listed] == [mine.assignment_id]


def test_an_answer_through_external_submit_is_paid_on_approval_only(
    owner_client, requester, worker
):
    """The worker side's submit (externalSubmit, through the one submit path) records the
    answer unpaid and on hold; the approval pays it."""
    mturk_hit = factories.MturkHITFactory(hit_type__requester=requester, hit_type__reward=REWARD)
    factories.DepositFactory(requester=requester, amount=Decimal("1"))
    lease = assignment_claim(worker=worker, project=mturk_hit.hit_type.project)
    assert lease is not None and lease.hit_id == mturk_hit.task_hit_id

    done = external_submit(
        assignment_id=assignment_id_of(lease.pk), fields=[("cat", "yes")], visitor=worker
    )

    row = done.assignment
    assert credits_of(row) == []
    assert requester_balance(requester=requester).on_hold == REWARD
    listed = owner_client.list_assignments_for_hit(HITId=mturk_hit.hit_id)["Assignments"]
    assert [(a["AssignmentId"], a["WorkerId"]) for a in listed] == [
        (row.assignment_id, worker_id_of(worker))
    ]
    assert "<FreeText>yes</FreeText>" in listed[0]["Answer"]

    owner_client.approve_assignment(AssignmentId=row.assignment_id)

    assert credits_of(row) == [REWARD]
    assert owner_client.get_account_balance() | {"ResponseMetadata": None} == {
        "AvailableBalance": "0.75",
        "OnHoldBalance": "0.00",
        "ResponseMetadata": None,
    }
