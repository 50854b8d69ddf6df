"""Email in tests: run the sends that a block of code queues, and read what went out."""

from __future__ import annotations

import re
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from unittest.mock import patch

from django.core import mail
from django.core.mail.backends import locmem
from django.test import TestCase


@contextmanager
def delivered() -> Iterator[None]:
    """Messages are queued when the transaction commits (hitlcrowd/mail.py), which a test's
    transaction never does: run the callbacks on leaving the block, and the job inline."""
    from django_q.conf import Conf

    with patch.object(Conf, "SYNC", True), TestCase.captureOnCommitCallbacks(execute=True):
        yield


def sent_to(address: str) -> list[mail.EmailMessage]:
    return [message for message in mail.outbox if address in message.to]


def link_in(message: mail.EmailMessage) -> str:
    """The one http(s) link in a message's body."""
    links = re.findall(r"https?://\S+", message.body)
    assert len(links) == 1, message.body
    return links[0]


class RefusingBackend(locmem.EmailBackend):
    """Django's test backend (mail.outbox), except that a message to an address in `refused`
    raises as an SMTP server refusing it would."""

    refused: set[str] = set()

    def send_messages(self, messages):
        for message in messages:
            if self.refused.intersection(message.to):
                raise smtplib.SMTPRecipientsRefused(dict.fromkeys(message.to, (550, b"refused")))
        return super().send_messages(messages)
