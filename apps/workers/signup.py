"""Sign-up and email verification.

Who may sign up is a deployment setting (`WORKER_SIGNUP`: open, invite, closed;
`REQUESTER_SIGNUP`: closed, open). In `invite` mode a worker signs up only with a live invite
link, and the account and its membership of the link's group are made in one transaction:
a link used up meanwhile leaves no account behind. Fields are checked the way Django's own
forms check them (the username validator, case-insensitive uniqueness, the
AUTH_PASSWORD_VALIDATORS), each refusal naming its field. An address already in use is
refused too (a password reset goes to every account with the address); that tells a caller
the address has an account, which the sign-up rate limit (SIGNUP_RATE_PER_CLIENT) slows.

Email verification uses Django's token machinery: a PasswordResetTokenGenerator whose hash
covers the address and `email_verified_at`, so a link works once (verifying changes the
hash), stops working when the address changes, and expires after PASSWORD_RESET_TIMEOUT
(Django's, 3 days). Nothing is sent when the deployment sends no email (hitlcrowd.mail);
the account then works unverified, as it does until the link is followed: an unverified
worker may work, and requesters see whether a member's address is verified.

A new link can be asked for by address (email_verification_request: the account page links
the page that does it, and the API has it). The request answers the same whatever the
address, in the same time: it only counts the request and queues a job, which looks for
unverified accounts with the address and mails them; nothing in the request depends on
whether one exists.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template import loader
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from apps.crowds.selectors import invite_usable_by_token
from apps.crowds.services import Joined, invite_join
from apps.workers.errors import EmailDisabled, SignupClosed, SignupInviteOnly
from apps.workers.models import User
from hitlcrowd.errors import InvalidInput
from hitlcrowd.mail import email_enabled, email_send
from hitlcrowd.throttling import rate_exceeded

EMAIL_MAX_LENGTH = 254
# The one answer to a request for a new verification link, whatever the address.
VERIFICATION_REQUESTED = (
    "If an account with this address waits for its confirmation, a new link is on its way."
)
USERNAME_MAX_LENGTH = 150


class EmailVerificationTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "hitlcrowd.workers.signup.EmailVerificationTokenGenerator"

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        verified = user.email_verified_at
        verified_text = "" if verified is None else verified.replace(microsecond=0).isoformat()
        return f"{user.pk}{user.email}{verified_text}{timestamp}"


email_verification_tokens = EmailVerificationTokenGenerator()


@dataclass(frozen=True)
class SignedUp:
    user: User
    joined: Joined | None  # the invite link's group, when signed up through one
    verification_sent: bool  # False: the deployment sends no email


def signup_check_open(*, role: str, has_invite: bool) -> None:
    """Whether the deployment takes this sign-up at all: SignupClosed or SignupInviteOnly
    (403) otherwise. Before any field is looked at."""
    if role == User.Role.REQUESTER:
        if settings.REQUESTER_SIGNUP != "open":
            raise SignupClosed("This deployment does not take requester sign-ups.")
        return
    if settings.WORKER_SIGNUP == "closed":
        raise SignupClosed()
    if settings.WORKER_SIGNUP == "invite" and not has_invite:
        raise SignupInviteOnly()


@transaction.atomic
def user_signup(
    *,
    username: str,
    email: str,
    password: str,
    role: str = User.Role.WORKER,
    invite_token: str | None = None,
) -> SignedUp:
    """A new account (of `role`), through `invite_token`'s group when given. Refusals:
    SignupClosed / SignupInviteOnly (403), InvalidInput naming each field (400), the invite's
    own (404, 410)."""
    if role not in User.Role.values:
        raise InvalidInput.field("role", f"One of {', '.join(User.Role.values)}.")
    signup_check_open(role=role, has_invite=bool(invite_token))
    if invite_token and role != User.Role.WORKER:
        raise InvalidInput.field("invite", "Invite links are for workers.")
    user = User(username=username, email=email, role=role)
    _check_fields(user, password)
    if invite_token:
        invite_usable_by_token(token=invite_token)  # before the account: 404 or 410 as is
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # the same username made concurrently
        raise InvalidInput.field("username", "This username is taken.") from None
    joined = invite_join(worker=user, token=invite_token) if invite_token else None
    sent = email_verification_send(user=user)
    return SignedUp(user=user, joined=joined, verification_sent=sent)


def _check_fields(user: User, password: str) -> None:
    errors: dict[str, list[str]] = {}
    username, email = user.username, user.email
    if not isinstance(username, str) or not username or len(username) > USERNAME_MAX_LENGTH:
        errors["username"] = [f"Give a username of 1 to {USERNAME_MAX_LENGTH} characters."]
    else:
        try:
            User.username_validator(username)
        except ValidationError as exc:
            errors["username"] = list(exc.messages)
        else:
            if User.objects.filter(username__iexact=username).exists():
                errors["username"] = ["This username is taken."]
    if not isinstance(email, str) or not email or len(email) > EMAIL_MAX_LENGTH:
        errors["email"] = ["Give an email address."]
    else:
        try:
            validate_email(email)
        except ValidationError as exc:
            errors["email"] = list(exc.messages)
        else:
            if User.objects.filter(email__iexact=email).exists():
                errors["email"] = ["An account already uses this address."]
    if not isinstance(password, str) or not password:
        errors["password"] = ["Give a password."]
    else:
        try:
            validate_password(password, user=user)
        except ValidationError as exc:
            errors["password"] = list(exc.messages)
    if errors:
        raise InvalidInput(errors=errors)


# --- Email verification ----------------------------------------------------------------------


def email_verification_url(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = email_verification_tokens.make_token(user)
    path = reverse("verify-email", kwargs={"uidb64": uid, "token": token})
    return settings.SITE_URL.rstrip("/") + path


def email_verification_send(*, user: User) -> bool:
    """Mail the account a link that verifies its address (after the transaction commits).
    False, nothing sent, when the deployment sends no email or the account has no address."""
    if not user.email:
        return False
    context = {"user": user, "url": email_verification_url(user)}
    return email_send(
        to=user.email,
        subject=loader.render_to_string("registration/verify_email_subject.txt", context),
        body=loader.render_to_string("registration/verify_email.txt", context),
    )


def email_verification_request(*, email: str) -> None:
    """Ask for a new verification link for `email`: mailed, by a job after the commit, to each
    active account whose address it is (any case) and not yet verified; nothing is returned,
    so the caller answers the same whatever the address. At most VERIFY_EMAIL_RATE_PER_EMAIL
    requests per address are passed on (the rest are dropped silently, so nobody floods an
    inbox). Refusals: EmailDisabled (409) when the deployment sends no email, InvalidInput
    naming `email` for something that is not an address."""
    if not email_enabled():
        raise EmailDisabled()
    address = email.strip() if isinstance(email, str) else ""
    try:
        validate_email(address)
    except ValidationError:
        raise InvalidInput.field("email", "Enter a valid email address.") from None
    who = hashlib.sha256(address.lower().encode()).hexdigest()
    if rate_exceeded("verify_email_address", who, settings.VERIFY_EMAIL_RATE_PER_EMAIL):
        return
    transaction.on_commit(lambda: _enqueue_resend(address))


def _enqueue_resend(address: str) -> None:
    from django_q.tasks import async_task

    from apps.workers.jobs import VERIFICATION_RESEND_JOB

    async_task(VERIFICATION_RESEND_JOB, address, q_options={"group": "email"})


def email_verification_resend(*, email: str) -> int:
    """The job's side of email_verification_request: mail a new link to each active account
    whose unverified address is `email` (any case). Returns how many were sent."""
    users = User.objects.filter(email__iexact=email, is_active=True, email_verified_at=None)
    return sum(email_verification_send(user=user) for user in users.order_by("pk"))


@transaction.atomic
def email_verify(*, uidb64: str, token: str) -> User | None:
    """Mark the address of the link's account verified; None when the link is not valid (never
    was, expired, already used, or the address changed since)."""
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        return None
    user = User.objects.select_for_update().filter(pk=pk, is_active=True).first()
    if user is None or not email_verification_tokens.check_token(user, token):
        return None
    user.email_verified_at = timezone.now()
    user.save(update_fields=["email_verified_at"])
    return user
