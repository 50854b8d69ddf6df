"""Granting my qualifications to workers through boto3 (issue 17 #2):
AssociateQualificationWithWorker (IntegerValue, SendNotification),
DisassociateQualificationFromWorker (a reason the worker reads), GetQualificationScore and
ListWorkersWithQualificationType (Status, paginated); only the type's owner grants or reads."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import timezone

from apps.mturk.models import WorkerNotice, WorkerQualification
from apps.mturk.requirements import APPROVAL_RATE, LOCALE
from apps.mturk.workers import worker_id_of
from tests import factories
from tests.helpers.mail import delivered
from tests.helpers.web import client_for

TYPE = {
    "Name": "Knows birds",
    "Description": "Passed our bird quiz.",
    "QualificationTypeStatus": "Active",
}


@pytest.fixture
def type_id(owner_client) -> str:
    return owner_client.create_qualification_type(**TYPE)["QualificationType"][
        "QualificationTypeId"
    ]


def error_of(raised) -> tuple[str, str]:
    response = raised.value.response
    return response.get("TurkErrorCode"), response["Error"]["Message"]


def test_a_grant_is_read_back_with_its_value_and_the_worker_is_told(owner_client, type_id, worker):
    worker_id = worker_id_of(worker)
    owner_client.associate_qualification_with_worker(
        QualificationTypeId=type_id, WorkerId=worker_id, IntegerValue=87
    )

    score = owner_client.get_qualification_score(QualificationTypeId=type_id, WorkerId=worker_id)

    qualification = score["Qualification"]
    assert {k: qualification[k] for k in ("QualificationTypeId", "WorkerId", "IntegerValue")} == {
        "QualificationTypeId": type_id,
        "WorkerId": worker_id,
        "IntegerValue": 87,
    }
    assert qualification["Status"] == "Granted" and qualification["GrantTime"].tzinfo
    page = client_for(worker).get("/work/account/").content.decode()
    assert "Qualification granted: Knows birds" in page and "with the value 87" in page


def test_the_value_defaults_to_one_and_a_notification_can_be_left_out(
    owner_client, type_id, worker
):
    worker_id = worker_id_of(worker)
    owner_client.associate_qualification_with_worker(
        QualificationTypeId=type_id, WorkerId=worker_id, SendNotification=False
    )
    score = owner_client.get_qualification_score(QualificationTypeId=type_id, WorkerId=worker_id)
    assert score["Qualification"]["IntegerValue"] == 1
    assert not WorkerNotice.objects.exists()


def test_a_revoked_qualification_reads_revoked_and_the_worker_reads_why(
    owner_client, type_id, worker
):
    worker_id = worker_id_of(worker)
    owner_client.associate_qualification_with_worker(
        QualificationTypeId=type_id, WorkerId=worker_id, SendNotification=False
    )

    owner_client.disassociate_qualification_from_worker(
        QualificationTypeId=type_id, WorkerId=worker_id, Reason="Your quiz score was a typo."
    )

    score = owner_client.get_qualification_score(QualificationTypeId=type_id, WorkerId=worker_id)
    assert score["Qualification"]["Status"] == "Revoked"
    page = client_for(worker).get("/work/account/").content.decode()
    assert "Qualification revoked: Knows birds" in page
    assert "Your quiz score was a typo." in page
    # Granting again makes it Granted with the new value.
    owner_client.associate_qualification_with_worker(
        QualificationTypeId=type_id, WorkerId=worker_id, IntegerValue=3
    )
    again = owner_client.get_qualification_score(QualificationTypeId=type_id, WorkerId=worker_id)
    assert (again["Qualification"]["Status"], again["Qualification"]["IntegerValue"]) == (
        "Granted",
        3,
    )


def test_a_worker_who_never_had_it_has_no_score_and_nothing_to_revoke(
    owner_client, type_id, worker
):
    worker_id = worker_id_of(worker)
    for call in (
        owner_client.get_qualification_score,
        owner_client.disassociate_qualification_from_worker,
    ):
        with pytest.raises(owner_client.exceptions.RequestError) as raised:
            call(QualificationTypeId=type_id, WorkerId=worker_id)
        assert error_of(raised) == (
            "AWS.MechanicalTurk.QualificationDoesNotExist",
            "You requested a Qualification that does not exist.",
        )


def test_the_list_walks_the_workers_with_a_status_filter(owner_client, type_id):
    workers = factories.WorkerFactory.create_batch(5)
    ids = [worker_id_of(w) for w in workers]
    for n, worker_id in enumerate(ids):
        owner_client.associate_qualification_with_worker(
            QualificationTypeId=type_id, WorkerId=worker_id, IntegerValue=n, SendNotification=False
        )
    owner_client.disassociate_qualification_from_worker(
        QualificationTypeId=type_id, WorkerId=ids[1]
    )

    paginator = owner_client.get_paginator("list_workers_with_qualification_type")
    pages = list(paginator.paginate(QualificationTypeId=type_id, PaginationConfig={"PageSize": 2}))
    granted = owner_client.list_workers_with_qualification_type(
        QualificationTypeId=type_id, Status="Granted"
    )
    revoked = owner_client.list_workers_with_qualification_type(
        QualificationTypeId=type_id, Status="Revoked"
    )

    assert [page["NumResults"] for page in pages] == [2, 2, 1]
    assert [q["WorkerId"] for page in pages for q in page["Qualifications"]] == ids
    assert [q["WorkerId"] for q in granted["Qualifications"]] == [ids[0], *ids[2:]]
    assert [(q["WorkerId"], q["Status"]) for q in revoked["Qualifications"]] == [
        (ids[1], "Revoked")
    ]


def test_values_outside_32_bits_and_unknown_workers_are_refused(owner_client, type_id, worker):
    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.associate_qualification_with_worker(
            QualificationTypeId=type_id, WorkerId=worker_id_of(worker), IntegerValue=2**31
        )
    assert error_of(raised)[1].startswith("IntegerValue: Between")
    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.associate_qualification_with_worker(
            QualificationTypeId=type_id, WorkerId="A00000000000NO"
        )
    assert error_of(raised)[1] == "WorkerId is invalid."
    assert not WorkerQualification.objects.exists()


def test_system_types_are_granted_by_no_one_and_have_no_score(owner_client, worker):
    worker_id = worker_id_of(worker)
    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.associate_qualification_with_worker(
            QualificationTypeId=APPROVAL_RATE, WorkerId=worker_id
        )
    assert error_of(raised)[0] == "AWS.MechanicalTurk.PermissionDenied"
    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.get_qualification_score(QualificationTypeId=LOCALE, WorkerId=worker_id)
    assert error_of(raised)[0] == "AWS.MechanicalTurk.QualificationDoesNotExist"


def test_another_requester_can_neither_grant_revoke_nor_read_my_qualifications(
    owner_client, outsider_client, type_id, worker
):
    worker_id = worker_id_of(worker)
    owner_client.associate_qualification_with_worker(
        QualificationTypeId=type_id, WorkerId=worker_id, IntegerValue=5, SendNotification=False
    )
    attempts = (
        (outsider_client.associate_qualification_with_worker, {"IntegerValue": 100}),
        (outsider_client.disassociate_qualification_from_worker, {"Reason": "Mine"}),
        (outsider_client.get_qualification_score, {}),
    )
    for call, extra in attempts:
        with pytest.raises(outsider_client.exceptions.RequestError) as raised:
            call(QualificationTypeId=type_id, WorkerId=worker_id, **extra)
        assert error_of(raised)[0] == "AWS.MechanicalTurk.QualificationTypeDoesNotExist"
    with pytest.raises(outsider_client.exceptions.RequestError):
        outsider_client.list_workers_with_qualification_type(QualificationTypeId=type_id)

    grant = WorkerQualification.objects.get()
    assert (grant.status, grant.integer_value) == ("Granted", 5)


def test_a_deleted_types_grants_stay_but_it_is_granted_no_more(owner_client, type_id, worker):
    worker_id = worker_id_of(worker)
    owner_client.associate_qualification_with_worker(
        QualificationTypeId=type_id, WorkerId=worker_id, SendNotification=False
    )
    owner_client.delete_qualification_type(QualificationTypeId=type_id)
    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.associate_qualification_with_worker(
            QualificationTypeId=type_id, WorkerId=worker_id
        )
    assert error_of(raised)[0] == "AWS.MechanicalTurk.QualificationTypeDoesNotExist"
    assert WorkerQualification.objects.get().status == "Granted"


def test_a_grant_with_a_notification_is_mailed_to_a_verified_worker(
    owner_client, type_id, worker, email_on
):
    worker.email_verified_at = timezone.now()
    worker.save()
    with delivered():
        owner_client.associate_qualification_with_worker(
            QualificationTypeId=type_id, WorkerId=worker_id_of(worker), IntegerValue=87
        )
        owner_client.associate_qualification_with_worker(  # no notification: no mail
            QualificationTypeId=type_id, WorkerId=worker_id_of(worker), SendNotification=False
        )
    [message] = mail.outbox
    assert message.to == [worker.email] and "Knows birds" in message.subject
