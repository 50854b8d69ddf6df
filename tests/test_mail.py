"""hitlcrowd/mail.py: nothing is sent when the deployment sends no email; otherwise a message
goes out through a job once the transaction commits, from DEFAULT_FROM_EMAIL."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction

from hitlcrowd.mail import email_deliver_job, email_enabled, email_send
from tests.helpers.mail import delivered

pytestmark = pytest.mark.django_db


def test_without_a_backend_nothing_is_queued_or_sent():
    assert not email_enabled()
    with delivered():
        assert email_send(to="a@example.org", subject="Hi", body="there") is False
    assert mail.outbox == []


def test_a_message_goes_out_after_the_commit_from_the_configured_sender(email_on, settings):
    settings.DEFAULT_FROM_EMAIL = "Labels <labels@example.org>"
    with delivered():
        assert email_send(to=["a@example.org"], subject="Two\nlines", body="Body") is True
        assert mail.outbox == []  # not before the commit
    [message] = mail.outbox
    assert (message.to, message.subject, message.body) == (["a@example.org"], "Two lines", "Body")
    assert message.from_email == "Labels <labels@example.org>"


def test_a_message_of_a_rolled_back_transaction_is_never_sent(email_on):
    with delivered():
        try:
            with transaction.atomic():
                email_send(to="a@example.org", subject="Hi", body="there")
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert mail.outbox == []


def test_a_queued_message_is_dropped_if_email_was_turned_off_since(settings):
    settings.EMAIL_DELIVERY = "none"
    email_deliver_job({"to": ["a@example.org"], "subject": "Hi", "body": "x", "html": None})
    assert mail.outbox == []
