"""The worker's account page: my WorkerId and the messages requesters sent me (the MTurk
API's NotifyWorkers, qualifications granted or revoked), my address, my password, my groups,
where I am (the country a requester's qualification requirements read); and the page a link
to confirm a new address opens (any account's).

Thin views over apps/workers/accounts.py (the API's me/password/ and me/email/ call the
same services) and, for groups, the crowds app's selector and service (the API's
work/groups/ and work/groups/{id}/leave/ call the same). The password form is Django's
PasswordChangeForm (the current password, then the validators); saving it ends the account's
other sessions and API tokens and keeps this one. A refusal from a service is shown on its
form with the status the API would give.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.crowds.selectors import group_list_for_worker
from apps.crowds.services import membership_leave
from apps.mturk.notices import notices_for_worker
from apps.mturk.workers import worker_id_of
from apps.workers.accounts import (
    email_change_read,
    user_email_change,
    user_email_confirm,
    user_locale_set,
    user_password_set,
)
from apps.workers.countries import COUNTRIES
from apps.workers.models import User
from apps.workers.web.views import worker_required
from hitlcrowd.api import domain_status
from hitlcrowd.errors import DomainError, NotFound
from hitlcrowd.mail import email_enabled
from hitlcrowd.pages import form_add_refusal


class EmailForm(forms.Form):
    email = forms.EmailField(label="New address", max_length=254)
    current_password = forms.CharField(
        label="Your current password", strip=False, widget=forms.PasswordInput
    )


class LocaleForm(forms.Form):
    country = forms.ChoiceField(
        label="Country", required=False, choices=[("", "Not said"), *COUNTRIES.items()]
    )
    subdivision = forms.CharField(
        label="State or region (ISO 3166-2 code, optional)",
        required=False,
        max_length=3,
        help_text='Without the country: "WA" for Washington, US.',
    )
    adult_content = forms.BooleanField(
        label="I agree to see tasks that may contain adult content", required=False
    )


def _locale_form(user: User) -> LocaleForm:
    initial = {
        "country": user.country,
        "subdivision": user.subdivision,
        "adult_content": user.adult_content,
    }
    return LocaleForm(initial=initial)


def _page(
    request: HttpRequest,
    *,
    email_form: EmailForm | None = None,
    password_form: PasswordChangeForm | None = None,
    locale_form: LocaleForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context: dict[str, Any] = {
        "email_form": email_form or EmailForm(),
        "password_form": password_form or PasswordChangeForm(request.user),
        "locale_form": locale_form or _locale_form(request.user),
        "email_enabled": email_enabled(),
        # A panel participant's identity signs in only through its link: no password to give.
        "has_password": request.user.has_usable_password(),
        "memberships": group_list_for_worker(worker=request.user),
        "worker_id": worker_id_of(request.user),
        "notices": notices_for_worker(worker=request.user),
    }
    return render(request, "workers/account.html", context, status=status)


@require_http_methods(["GET"])
@worker_required
def account(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@worker_required
def account_password(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST)
    if not form.is_valid():
        return _page(request, password_form=form, status=400)
    user = user_password_set(
        user=request.user,
        password=form.cleaned_data["new_password1"],
        keep_session_key=request.session.session_key,
    )
    update_session_auth_hash(request, user)
    messages.success(
        request, "Password changed. Your other sessions and API tokens no longer work."
    )
    return redirect("worker-account")


@require_POST
@worker_required
def account_email(request: HttpRequest) -> HttpResponse:
    form = EmailForm(request.POST)
    if not form.is_valid():
        return _page(request, email_form=form, status=400)
    try:
        change = user_email_change(user=request.user, **form.cleaned_data)
    except DomainError as exc:
        form_add_refusal(form, exc)
        return _page(request, email_form=form, status=domain_status(exc))
    if change.pending:
        messages.success(
            request,
            f"We sent a link to {change.pending}: your address changes when you open it.",
        )
    else:
        messages.success(request, f"Your address is now {change.email}.")
    return redirect("worker-account")


@require_POST
@worker_required
def account_locale(request: HttpRequest) -> HttpResponse:
    form = LocaleForm(request.POST)
    if not form.is_valid():
        return _page(request, locale_form=form, status=400)
    try:
        user_locale_set(user=request.user, **form.cleaned_data)
    except DomainError as exc:
        form_add_refusal(form, exc)
        return _page(request, locale_form=form, status=domain_status(exc))
    messages.success(request, "Saved: requesters' qualification requirements read it.")
    return redirect("worker-account")


@require_POST
@worker_required
def account_group_leave(request: HttpRequest, group_id: int) -> HttpResponse:
    """Leave one of my groups (another's, or one I am not in: 404)."""
    membership = group_list_for_worker(worker=request.user).filter(group_id=group_id).first()
    if membership is None:
        raise NotFound("You are not in this group.")
    membership_leave(worker=request.user, group_id=group_id)
    messages.success(
        request, f"You left {membership.group.name}: its private projects are closed to you now."
    )
    return redirect("worker-account")


@require_http_methods(["GET", "POST"])
def email_change_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows what the link changes, POST makes the change: a mail scanner fetching the
    link changes nothing. Works signed in or not (the link is the proof)."""
    try:
        if request.method == "POST":
            user = user_email_confirm(token=token)
            return render(request, "workers/email_change_confirm.html", {"done": user})
        user, email = email_change_read(token=token)
    except DomainError as exc:
        context = {"refusal": " ".join(exc.as_validation_error().messages)}
        status = domain_status(exc)
        return render(request, "workers/email_change_confirm.html", context, status=status)
    context = {"user_name": user.get_username(), "email": email}
    return render(request, "workers/email_change_confirm.html", context)
