"""Email in tests: run the sends that a block of code queues, and read what went out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from unittest.mock import patch

from django.core import mail
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
