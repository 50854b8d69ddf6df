"""NotifyWorkers through boto3 (issue 17 #2): the message is stored and shown on the account
page of each worker who worked for me (MTurk's rule); every other WorkerId, known or not, gets
the same HardFailure."""

from __future__ import annotations

import smtplib
from unittest.mock import patch

import pytest
from django.core import mail
from django.utils import timezone

from apps.mturk.jobs import notice_email_job
from apps.mturk.models import WorkerNotice
from apps.mturk.notices import NO_WORK
from apps.mturk.workers import worker_id_of
from tests import factories
from tests.helpers.mail import RefusingBackend, delivered
from tests.helpers.paid import answer_one, make_paid_project
from tests.helpers.web import client_for


def failure(worker_id: str) -> dict[str, str]:
    return {
        "NotifyWorkersFailureCode": "HardFailure",
        "NotifyWorkersFailureMessage": NO_WORK,
        "WorkerId": worker_id,
    }


def test_workers_who_worked_for_me_read_the_message_and_the_others_fail(
    owner_client, requester, other_requester, worker, other_worker
):
    answer_one(worker, make_paid_project(requester))
    answer_one(other_worker, make_paid_project(other_requester))  # not for me
    stranger = factories.WorkerFactory()
    ids = [worker_id_of(w) for w in (worker, other_worker, stranger)]

    sent = owner_client.notify_workers(
        Subject="A follow-up study",
        MessageText="Thank you!\nA second part opens on Monday.",
        WorkerIds=[*ids, "A00000000000NO", ids[0]],
    )

    assert sent["NotifyWorkersFailureStatuses"] == [
        failure(ids[1]),
        failure(ids[2]),
        failure("A00000000000NO"),
    ]
    notice = WorkerNotice.objects.get()
    assert (notice.worker, notice.requester, notice.subject) == (
        worker,
        requester,
        "A follow-up study",
    )
    page = client_for(worker).get("/work/account/").content.decode()
    assert "A follow-up study" in page and "Thank you!<br>A second part opens on Monday." in page
    assert (
        "A follow-up study" not in client_for(other_worker).get("/work/account/").content.decode()
    )


def test_all_delivered_answers_an_empty_failure_list(owner_client, requester, worker):
    answer_one(worker, make_paid_project(requester))
    sent = owner_client.notify_workers(
        Subject="Hi", MessageText="Hello", WorkerIds=[worker_id_of(worker)]
    )
    assert sent["NotifyWorkersFailureStatuses"] == []


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"Subject": "x" * 201}, "Subject"),
        ({"Subject": " "}, "Subject"),
        ({"MessageText": "x" * 4097}, "MessageText"),
        ({"WorkerIds": [f"A{n:013d}" for n in range(101)]}, "WorkerIds"),
        ({"WorkerIds": []}, "WorkerIds"),
    ],
)
def test_mturks_limits_are_refused_naming_the_parameter(owner_client, change, named):
    body = {"Subject": "Hi", "MessageText": "Hello", "WorkerIds": ["A00000000000NO"], **change}
    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.notify_workers(**body)
    assert raised.value.response["Error"]["Message"].startswith(f"{named}: ")
    assert not WorkerNotice.objects.exists()


def test_the_account_page_says_so_when_there_is_no_message(worker):
    page = client_for(worker).get("/work/account/").content.decode()
    assert "No messages." in page


def test_the_message_is_mailed_after_the_call_to_each_worker_with_a_verified_address(
    owner_client, requester, worker, other_worker, email_on, settings
):
    settings.SITE_URL = "https://labels.example.org"
    worker.email_verified_at = timezone.now()
    worker.save()
    for each in (worker, other_worker):  # other_worker's address is not verified
        answer_one(each, make_paid_project(requester))
    ids = [worker_id_of(worker), worker_id_of(other_worker)]

    with delivered():
        sent = owner_client.notify_workers(
            Subject="A follow-up\nstudy", MessageText="Part two opens on Monday.", WorkerIds=ids
        )

    assert sent["NotifyWorkersFailureStatuses"] == []  # both read it on their account page
    assert WorkerNotice.objects.count() == 2
    [message] = mail.outbox
    assert (message.to, message.subject) == ([worker.email], "A follow-up study")
    assert message.body.startswith("Part two opens on Monday.\n")
    assert requester.username in message.body
    assert "https://labels.example.org/work/account/#messages" in message.body


def test_no_mail_is_queued_when_the_deployment_sends_none(owner_client, requester, worker):
    worker.email_verified_at = timezone.now()
    worker.save()
    answer_one(worker, make_paid_project(requester))
    with delivered(), patch("django_q.tasks.async_task") as queued:
        owner_client.notify_workers(
            Subject="Hi", MessageText="Hello", WorkerIds=[worker_id_of(worker)]
        )
    assert queued.call_count == 0 and mail.outbox == []
    assert WorkerNotice.objects.filter(worker=worker).exists()


def test_a_failed_call_mails_nothing(owner_client, requester, worker, email_on):
    worker.email_verified_at = timezone.now()
    worker.save()
    answer_one(worker, make_paid_project(requester))
    with delivered(), pytest.raises(owner_client.exceptions.RequestError):
        owner_client.notify_workers(
            Subject="", MessageText="Hello", WorkerIds=[worker_id_of(worker)]
        )
    assert mail.outbox == []


def test_the_job_mails_only_the_notices_it_is_given(requester, worker, other_worker, email_on):
    for each in (worker, other_worker):
        each.email_verified_at = timezone.now()
        each.save()
    mine, _ = (
        WorkerNotice.objects.create(requester=requester, worker=w, subject="S", message="M")
        for w in (worker, other_worker)
    )
    assert notice_email_job([mine.pk]) == 1
    assert [m.to for m in mail.outbox] == [[worker.email]]


def test_a_mail_job_run_again_after_a_refusal_mails_only_the_rest(requester, email_on, settings):
    """The mail server refused the second of three: the job fails there; run again (django-q2's
    admin resubmits a failed task) it mails the third, and not the first a second time."""
    workers = factories.WorkerFactory.create_batch(3, email_verified_at=timezone.now())
    notices = [
        WorkerNotice.objects.create(requester=requester, worker=w, subject="S", message="M")
        for w in workers
    ]
    ids = [notice.pk for notice in notices]
    settings.EMAIL_BACKEND = "tests.helpers.mail.RefusingBackend"

    refused = patch.object(RefusingBackend, "refused", {workers[1].email})
    with refused, pytest.raises(smtplib.SMTPRecipientsRefused):
        notice_email_job(ids)
    assert [m.to for m in mail.outbox] == [[workers[0].email]]

    assert notice_email_job(ids) == 2
    assert [m.to for m in mail.outbox] == [[w.email] for w in workers]
    assert notice_email_job(ids) == 0  # all out: nothing twice
    assert WorkerNotice.objects.filter(pk__in=ids, emailed_at__isnull=True).count() == 0
