"""Outgoing email: whether this deployment sends any, and the one way services send it.

`EMAIL_BACKEND` (settings, from the environment) is `console`, `smtp` or `none`; with `none`
nothing is sent and the pages that would send something say so instead (`email_enabled`).

A message is handed to the job queue when the transaction that asked for it commits, and a
django-q2 worker talks to the mail server. Two reasons: a request never waits on a slow or
unreachable SMTP server (EMAIL_TIMEOUT_SECONDS, 10 s, per attempt), and a page that sends mail
only for some inputs (the password reset: only for an address that has an account) answers
in the same time either way, as far as mail is concerned; sending inline, the SMTP round trip
(~100 ms to seconds) would tell a caller which addresses have accounts. A message of a
transaction that rolls back is never sent. The job's arguments (the message, reset link
included) sit in the broker until a worker takes them: the ORM broker deletes the row then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction

logger = logging.getLogger(__name__)

EMAIL_JOB = "hitlcrowd.mail.email_deliver_job"
NO_EMAIL = "This deployment sends no email: ask an admin."


@dataclass(frozen=True)
class Message:
    to: list[str]
    subject: str
    body: str
    html: str | None = None


def email_enabled() -> bool:
    """Whether this deployment sends email (EMAIL_BACKEND is not `none`)."""
    return settings.EMAIL_DELIVERY != "none"


def email_send(*, to: str | list[str], subject: str, body: str, html: str | None = None) -> bool:
    """Queue one message for delivery once the current transaction commits (at once outside
    one). False, and nothing queued, when the deployment sends no email: the caller tells the
    user (NO_EMAIL). The subject is made one line (a header cannot hold a newline)."""
    if not email_enabled():
        return False
    recipients = [to] if isinstance(to, str) else list(to)
    message = Message(
        to=recipients, subject=" ".join(subject.splitlines()).strip(), body=body, html=html
    )
    transaction.on_commit(lambda: _enqueue(message))
    return True


def _enqueue(message: Message) -> None:
    from django_q.tasks import async_task

    async_task(EMAIL_JOB, asdict(message), q_options={"group": "email"})


def email_deliver_job(message: dict) -> None:
    """The job: send one message through the configured backend. A failure (server down,
    address refused) raises, so the job is listed among the failed tasks in the admin."""
    email_deliver([Message(**message)])


def email_deliver(messages: list[Message], *, on_sent: Callable[[int], None] | None = None) -> int:
    """Send `messages` now, over one connection to the mail server: for jobs only (a request
    queues with email_send). Nothing when the deployment sends no email (it may have been
    turned off since the job was queued). Returns how many were sent; a failure raises.
    `on_sent(i)` runs once `messages[i]` is handed to the server, one message at a time, so
    a job can record what went out before a later failure (apps/mturk/notices.py)."""
    if not email_enabled() or not messages:
        return 0
    sent = 0
    with get_connection() as connection:
        for index, message in enumerate(messages):
            sent += connection.send_messages([_email_of(message)]) or 0
            logger.info("email sent to %d recipient(s): %s", len(message.to), message.subject)
            if on_sent is not None:
                on_sent(index)
    return sent


def _email_of(message: Message) -> EmailMultiAlternatives:
    email = EmailMultiAlternatives(
        message.subject, message.body, settings.DEFAULT_FROM_EMAIL, message.to
    )
    if message.html is not None:
        email.attach_alternative(message.html, "text/html")
    return email
