"""Messages to workers (NotifyWorkers, and word of a qualification granted or revoked): stored
and shown on the worker's account page, and mailed to each of those workers who has a verified
address, as MTurk mailed them. The mail is a django-q2 job queued after the commit with the
notices' ids (notices_email): the request does no mail work, and a message of a rolled-back
call is never sent. A worker without a verified address still reads it on the page: it is no
failure of NotifyWorkers.

MTurk's rule for NotifyWorkers, kept here: a requester may write only to workers whose work
they approved or rejected; here, workers who gave an answer on one of the requester's projects
(an answer is approved once submitted unless rejected). Any other WorkerId, or one that names
no worker, gets MTurk's HardFailure, the same for both, so the call does not tell which
WorkerIds exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from apps.mturk.models import WorkerNotice
from apps.mturk.workers import workers_for_ids
from apps.tasks.models import Answer
from apps.workers.models import User
from hitlcrowd.errors import InvalidInput
from hitlcrowd.mail import Message, email_deliver, email_enabled

SUBJECT_MAX = 200  # MTurk's limits
MESSAGE_MAX = 4096
WORKERS_MAX = 100
SHOWN = 50  # notices on the account page, newest first
NO_WORK = "Cannot send a notification to a worker who has not done any work for you"


@dataclass(frozen=True)
class NotifyFailure:
    worker_id: str
    message: str
    code: str = "HardFailure"


def notice_send(*, requester: User, workers: list[User], subject: str, message: str) -> None:
    """One notice to each worker (one INSERT), mailed by a job after the commit."""
    notices = WorkerNotice.objects.bulk_create(
        WorkerNotice(requester=requester, worker=worker, subject=subject, message=message)
        for worker in workers
    )
    ids = [notice.pk for notice in notices]
    if ids and email_enabled():
        transaction.on_commit(lambda: _enqueue_email(ids))


NOTICE_EMAIL_JOB = "apps.mturk.jobs.notice_email_job"


def _enqueue_email(notice_ids: list[int]) -> None:
    from django_q.tasks import async_task

    async_task(NOTICE_EMAIL_JOB, notice_ids, q_options={"group": "email"})


def notices_email(*, notice_ids: list[int]) -> int:
    """The job's side: mail each notice to its worker if their address is verified (one
    message per worker: no worker sees another's address), over one connection to the mail
    server. Each notice records when it went out (`emailed_at`), one message at a time, and
    notices already mailed are skipped: a job run again after a failure partway (the mail
    server refused the tenth of fifty, the worker was killed) mails only the rest; at most
    the one message whose record a crash cut off goes twice. Returns how many were sent."""
    notices = list(
        WorkerNotice.objects.filter(
            pk__in=notice_ids, emailed_at__isnull=True, worker__email_verified_at__isnull=False
        )
        .exclude(worker__email="")
        .select_related("worker", "requester")
        .order_by("pk")
    )

    def record(index: int) -> None:
        WorkerNotice.objects.filter(pk=notices[index].pk).update(emailed_at=timezone.now())

    return email_deliver([_email_of(notice) for notice in notices], on_sent=record)


def _email_of(notice: WorkerNotice) -> Message:
    page = settings.SITE_URL.rstrip("/") + "/work/account/#messages"
    body = (
        f"{notice.message}\n\n"
        f"-- \nSent by {notice.requester.username}, a requester you worked for. "
        f"Your messages: {page}\n"
    )
    subject = " ".join(notice.subject.splitlines()).strip()
    return Message(to=[notice.worker.email], subject=subject, body=body)


def notify_workers(
    *, requester: User, worker_ids: list[str], subject: str, message: str
) -> list[NotifyFailure]:
    """NotifyWorkers: the notice to each worker who worked for the requester; a failure for
    every other WorkerId (each named once). Three queries whatever the number of workers."""
    _check(subject, message, worker_ids)
    wanted = list(dict.fromkeys(worker_ids))
    found = workers_for_ids(wanted)
    worked = set(_worked_for(requester, [u.pk for u in found.values()]))
    reached = [found[i] for i in wanted if i in found and found[i].pk in worked]
    notice_send(requester=requester, workers=reached, subject=subject, message=message)
    return [
        NotifyFailure(worker_id=i, message=NO_WORK)
        for i in wanted
        if i not in found or found[i].pk not in worked
    ]


def _check(subject: str, message: str, worker_ids: list[str]) -> None:
    if not subject.strip() or len(subject) > SUBJECT_MAX:
        raise InvalidInput.field("Subject", f"1 to {SUBJECT_MAX} characters.")
    if not message.strip() or len(message) > MESSAGE_MAX:
        raise InvalidInput.field("MessageText", f"1 to {MESSAGE_MAX} characters.")
    if not 1 <= len(worker_ids) <= WORKERS_MAX:
        raise InvalidInput.field("WorkerIds", f"1 to {WORKERS_MAX} WorkerIds.")


def _worked_for(requester: User, user_ids: list[int]) -> QuerySet:
    """Of `user_ids`, those with an answer on one of the requester's projects: per worker, an
    EXISTS over their answers newest first (index answer_worker_history), stopping at the
    first on the requester's project."""
    theirs = Answer.objects.filter(worker=OuterRef("pk"), project__owner=requester)
    return User.objects.filter(pk__in=user_ids).filter(Exists(theirs)).values_list("pk", flat=True)


def notices_for_worker(*, worker: User) -> QuerySet[WorkerNotice]:
    """The worker's latest notices, newest first, with who sent them (index
    workernotice_recent)."""
    return WorkerNotice.objects.filter(worker=worker).select_related("requester")[:SHOWN]
