"""Background jobs of the workers app: each is a few lines that call a service.

Queued by dotted path (django-q2); arguments are ids or plain values, never model instances.
"""

from __future__ import annotations

VERIFICATION_RESEND_JOB = "apps.workers.jobs.verification_resend_job"


def verification_resend_job(email: str) -> int:
    """Queued by a request for a new verification link (email_verification_request): mail
    one to each unverified account with the address. Returns how many were sent."""
    from apps.workers.signup import email_verification_resend

    return email_verification_resend(email=email)
