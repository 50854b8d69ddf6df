"""Password reset: Django's own views, with three changes.

- Nothing is sent when the deployment sends no email (`hitlcrowd.mail.email_enabled`): the
  page says so instead of showing the form.
- The form cannot be used to flood an inbox or to probe addresses fast: requests are limited
  per client address (`PASSWORD_RESET_RATE_PER_CLIENT`, past it a 429 page) and per address
  asked for (`PASSWORD_RESET_RATE_PER_EMAIL`, past it nothing more is sent and the page is the
  same "check your inbox" as always). Both count every request, whether or not an account has
  that address, so neither tells a caller which addresses exist; neither does the send, queued
  after the response (hitlcrowd/mail.py).
- The link in the message is built on `SITE_URL`, not on the request's Host header (which a
  caller chooses within ALLOWED_HOSTS), and setting the new password ends the account's
  sessions and API tokens (apps.workers.accounts.user_password_set).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template import loader

from apps.workers.accounts import user_password_set
from hitlcrowd.clientip import client_ip
from hitlcrowd.mail import NO_EMAIL, email_enabled, email_send
from hitlcrowd.throttling import rate_exceeded


class PasswordResetForm(auth_forms.PasswordResetForm):
    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        email_send(
            to=to_email,
            subject=loader.render_to_string(subject_template_name, context),
            body=loader.render_to_string(email_template_name, context),
        )


class SetPasswordForm(auth_forms.SetPasswordForm):
    """Django's form (its validators), saving through the accounts service."""

    def save(self, commit: bool = True):
        return user_password_set(user=self.user, password=self.cleaned_data["new_password1"])


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["email_enabled"] = email_enabled()
        context["no_email"] = NO_EMAIL
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not email_enabled():
            return self.get(request, *args, **kwargs)
        rate = settings.PASSWORD_RESET_RATE_PER_CLIENT
        wait = rate_exceeded("password_reset_client", client_ip(request), rate)
        if wait is not None:
            return _too_many(request, wait)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        email = form.cleaned_data["email"].strip().lower()
        who = hashlib.sha256(email.encode()).hexdigest()
        if rate_exceeded("password_reset_email", who, settings.PASSWORD_RESET_RATE_PER_EMAIL):
            return HttpResponseRedirect(self.get_success_url())  # the same page as a send
        form.save(
            token_generator=self.token_generator,
            email_template_name=self.email_template_name,
            subject_template_name=self.subject_template_name,
            request=self.request,
            extra_email_context={"site_url": settings.SITE_URL.rstrip("/")},
        )
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = SetPasswordForm


def _too_many(request: HttpRequest, wait: float) -> HttpResponse:
    seconds = max(1, math.ceil(wait))
    response = render(
        request,
        "registration/password_reset_throttled.html",
        {"minutes": max(1, math.ceil(seconds / 60))},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response
