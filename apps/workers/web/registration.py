"""Coming in: the login page (which also takes a visitor who came through an invite link into
the link's group), the sign-up page, the email verification link and the page that asks for a
new one.

The invite token waits in the session (apps/crowds/web/views.py put it there when the link was
opened), never in a `next` URL or a form field the page writes out. Joining at login or at
sign-up is safe from cross-site requests: both are POSTs with their CSRF token, made by the
visitor, and the token in their session came from a link they opened.
"""

from __future__ import annotations

import math

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from apps.crowds.selectors import invite_usable_by_token
from apps.crowds.services import invite_join
from apps.crowds.web.views import INVITE_SESSION_KEY, invite_token_in_session
from apps.workers.errors import VerificationRequestThrottled
from apps.workers.models import User
from apps.workers.signup import (
    VERIFICATION_REQUESTED,
    email_verification_request,
    email_verify,
    signup_check_open,
    user_signup,
)
from hitlcrowd.api import domain_status
from hitlcrowd.clientip import client_ip
from hitlcrowd.errors import DomainError, InvalidInput, TooMany
from hitlcrowd.mail import NO_EMAIL, email_enabled
from hitlcrowd.pages import form_add_refusal
from hitlcrowd.throttling import rate_exceeded, rate_limit

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
NOTHING_SENT = (
    "This deployment sends no email, so no confirmation link was sent: your account works "
    "without one."
)


def join_pending_invite(request: HttpRequest) -> HttpResponse | None:
    """Join the group of the invite link the signed-in worker came through, if any: a redirect
    to their projects with a message; None when there was no link to join, or it can no
    longer be used (the invite page, where `next` leads, says why)."""
    token = invite_token_in_session(request)
    user = request.user
    if token is None or not (user.is_authenticated and user.is_worker):
        return None
    try:
        joined = invite_join(worker=user, token=token)
    except DomainError:
        return None
    request.session.pop(INVITE_SESSION_KEY, None)
    name = joined.membership.group.name
    text = "You joined" if joined.joined else "You were already in"
    messages.success(request, f"{text} “{name}”: its projects are in your list.")
    return redirect("worker-projects")


class LoginView(auth_views.LoginView):
    """Django's login, then the pending invite link's group, if the visitor came through one."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["signup_offered"] = signup_offered(self.request)
        return context

    def form_valid(self, form) -> HttpResponse:
        response = super().form_valid(form)
        return join_pending_invite(self.request) or response


def signup_offered(request: HttpRequest) -> bool:
    """Whether to link the sign-up page: it would take this visitor."""
    if settings.WORKER_SIGNUP == "open" or settings.REQUESTER_SIGNUP == "open":
        return True
    return settings.WORKER_SIGNUP == "invite" and invite_token_in_session(request) is not None


# --- Sign-up ---------------------------------------------------------------------------------


class SignupForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(max_length=254)
    password1 = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput)
    password2 = forms.CharField(label="Password again", strip=False, widget=forms.PasswordInput)
    role = forms.ChoiceField(
        choices=User.Role.choices,
        initial=User.Role.WORKER,
        widget=forms.RadioSelect,
        label="I want to",
    )

    def __init__(self, *args, requester_signup: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not requester_signup:
            del self.fields["role"]
        else:
            self.fields["role"].choices = [
                (User.Role.WORKER, "label items (worker)"),
                (User.Role.REQUESTER, "have items labeled (requester)"),
            ]

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        return cleaned


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    token = invite_token_in_session(request)
    requester_signup = settings.REQUESTER_SIGNUP == "open"
    context: dict = {"invite": None, "email_enabled": email_enabled()}
    try:
        if token is not None:
            context["invite"] = invite_usable_by_token(token=token)
        if not requester_signup:
            signup_check_open(role=User.Role.WORKER, has_invite=token is not None)
    except DomainError as exc:
        context["refusal"] = exc.message
        return render(request, "registration/signup.html", context, status=domain_status(exc))
    form = SignupForm(request.POST or None, requester_signup=requester_signup)
    context["form"] = form
    if request.method != "POST":
        return render(request, "registration/signup.html", context)
    wait = rate_exceeded("signup", client_ip(request), settings.SIGNUP_RATE_PER_CLIENT)
    if wait is not None:
        return _too_many(request, wait)
    if not form.is_valid():
        return render(request, "registration/signup.html", context, status=400)
    role = form.cleaned_data.get("role") or User.Role.WORKER
    try:
        done = user_signup(
            username=form.cleaned_data["username"],
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
            role=role,
            invite_token=token if role == User.Role.WORKER else None,
        )
    except InvalidInput as exc:
        form_add_refusal(form, exc, renamed={"password": "password1"})
        return render(request, "registration/signup.html", context, status=400)
    except DomainError as exc:
        context["refusal"] = exc.message
        return render(request, "registration/signup.html", context, status=domain_status(exc))
    request.session.pop(INVITE_SESSION_KEY, None)
    login(request, done.user, backend=MODEL_BACKEND)
    welcome = f"Welcome, {done.user.username}."
    if done.joined is not None:
        welcome += f" You are in “{done.joined.membership.group.name}”."
    messages.success(request, welcome)
    if done.verification_sent:
        messages.info(request, f"We sent a link to {done.user.email}: open it to confirm it.")
    else:
        messages.info(request, NOTHING_SENT)
    return redirect("home")


def _too_many(request: HttpRequest, wait: float) -> HttpResponse:
    seconds = max(1, math.ceil(wait))
    context = {"minutes": max(1, math.ceil(seconds / 60))}
    response = render(request, "registration/signup_throttled.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response


# --- Email verification ----------------------------------------------------------------------


@require_GET
def verify_email(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The link in the message. A GET does it (a mail link is opened, not posted): a mail
    scanner that follows it first can only confirm an address whose mail it reads."""
    user = email_verify(uidb64=uidb64, token=token)
    if user is None:
        return render(request, "registration/verify_email_done.html", {"ok": False}, status=400)
    return render(request, "registration/verify_email_done.html", {"ok": True, "who": user})


class VerificationRequestForm(forms.Form):
    email = forms.EmailField(max_length=254)


@require_http_methods(["GET", "POST"])
def verify_email_resend(request: HttpRequest) -> HttpResponse:
    """Ask for a new link by address (the account page links here, with the address filled
    in): the same message whatever the address (apps.workers.signup.email_verification_request)."""
    user = request.user
    initial = {"email": user.email} if user.is_authenticated else {}
    form = VerificationRequestForm(request.POST or None, initial=initial)
    context = {"form": form, "email_enabled": email_enabled(), "no_email": NO_EMAIL}
    template = "registration/verify_email_resend.html"
    if request.method != "POST" or not email_enabled():
        return render(request, template, context)
    try:
        rate = settings.VERIFY_EMAIL_RATE_PER_CLIENT
        rate_limit("verify_email_client", client_ip(request), rate, VerificationRequestThrottled)
        if not form.is_valid():
            return render(request, template, context, status=400)
        email_verification_request(email=form.cleaned_data["email"])
    except TooMany as exc:
        context["refusal"] = exc.message
        response = render(request, template, context, status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response
    except InvalidInput as exc:
        form_add_refusal(form, exc)
        return render(request, template, context, status=400)
    messages.success(request, VERIFICATION_REQUESTED)
    return redirect("verify-email-resend")
