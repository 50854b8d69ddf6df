"""Requester pages for private crowds (groups, members, invite links) and the invite page a
worker opens.

The invite page never changes anything on a GET: a link opened by a mail scanner, a browser's
prefetch or another site's redirect must neither spend a use nor enrol anyone. `/invite/<token>/`
keeps the token in the session and redirects to `/invite/`, as Django's password reset does,
so the token leaves the address bar and the Referer of what follows. There a signed-in worker
joins with one button (POST); someone signed out is offered to log in or sign up, and joins
as they do (apps/workers/web/registration.py reads the same session key).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.crowds.errors import InviteNotFound
from apps.crowds.selectors import (
    group_get_for_requester,
    group_list_for_requester,
    invite_by_token,
    invite_get,
    invite_list,
    invite_state,
    invite_url,
    membership_list,
    worker_is_member,
)
from apps.crowds.services import (
    group_create,
    group_delete,
    group_rename,
    invite_create,
    invite_join,
    invite_revoke,
    membership_add,
    membership_remove,
)
from apps.crowds.web.forms import GroupForm, InviteForm, MemberForm
from apps.tasks.web.views import requester_required
from hitlcrowd.api import domain_status
from hitlcrowd.errors import DomainError, InvalidInput
from hitlcrowd.pages import form_add_refusal

# The session key holding the invite token between the link and the join (also read by the
# sign-up and login pages).
INVITE_SESSION_KEY = "crowds.invite_token"


# --- Requester pages -------------------------------------------------------------------------


@requester_required
@require_http_methods(["GET", "POST"])
def group_list(request: HttpRequest) -> HttpResponse:
    form = GroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            group = group_create(owner=request.user, name=form.cleaned_data["name"])
        except InvalidInput as exc:
            form_add_refusal(form, exc)
        else:
            messages.success(request, f"Group “{group.name}” created.")
            return redirect("requester-group", group_id=group.pk)
    status = 400 if request.method == "POST" else 200
    groups = group_list_for_requester(user=request.user)
    return render(
        request, "crowds/group_list.html", {"groups": groups, "form": form}, status=status
    )


@requester_required
@require_GET
def group_detail(request: HttpRequest, group_id: int) -> HttpResponse:
    group = group_get_for_requester(user=request.user, group_id=group_id)
    return _render_group(request, group)


@requester_required
@require_POST
def group_rename_page(request: HttpRequest, group_id: int) -> HttpResponse:
    group = group_get_for_requester(user=request.user, group_id=group_id)
    form = GroupForm(request.POST)
    if form.is_valid():
        try:
            group_rename(group=group, name=form.cleaned_data["name"])
        except InvalidInput as exc:
            form_add_refusal(form, exc)
    if form.errors:
        group.refresh_from_db()
        return _render_group(request, group, rename_form=form, status=400)
    messages.success(request, "Group renamed.")
    return redirect("requester-group", group_id=group.pk)


@requester_required
@require_POST
def group_delete_page(request: HttpRequest, group_id: int) -> HttpResponse:
    group = group_get_for_requester(user=request.user, group_id=group_id)
    name = group.name
    group_delete(group=group)
    messages.success(request, f"Group “{name}” deleted.")
    return redirect("requester-groups")


@requester_required
@require_POST
def member_add_page(request: HttpRequest, group_id: int) -> HttpResponse:
    group = group_get_for_requester(user=request.user, group_id=group_id)
    form = MemberForm(request.POST)
    if form.is_valid():
        try:
            added = membership_add(
                group=group, username=form.cleaned_data["username"], by=request.user
            )
        except InvalidInput as exc:
            form_add_refusal(form, exc)
    if form.errors:
        return _render_group(request, group, member_form=form, status=400)
    username = added.membership.worker.username
    text = "added" if added.joined else "was already in the group"
    messages.success(request, f"{username} {text}.")
    return redirect("requester-group", group_id=group.pk)


@requester_required
@require_POST
def member_remove_page(request: HttpRequest, group_id: int, worker_id: int) -> HttpResponse:
    group = group_get_for_requester(user=request.user, group_id=group_id)
    membership_remove(group=group, worker_id=worker_id)
    messages.success(request, "Removed from the group: its private projects are gone for them.")
    return redirect("requester-group", group_id=group.pk)


@requester_required
@require_POST
def invite_create_page(request: HttpRequest, group_id: int) -> HttpResponse:
    """The new link is on this response only (not a redirect, not a message kept in a
    cookie): it is not stored anywhere."""
    group = group_get_for_requester(user=request.user, group_id=group_id)
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _render_group(request, group, invite_form=form, status=400)
    try:
        new = invite_create(
            group=group,
            by=request.user,
            expires_at=timezone.now() + timedelta(days=form.cleaned_data["days"]),
            max_uses=form.cleaned_data["max_uses"],
        )
    except InvalidInput as exc:
        form_add_refusal(form, exc)
        return _render_group(request, group, invite_form=form, status=400)
    return _render_group(request, group, new_link=invite_url(new.token), status=201)


@requester_required
@require_POST
def invite_revoke_page(request: HttpRequest, group_id: int, invite_id: int) -> HttpResponse:
    group = group_get_for_requester(user=request.user, group_id=group_id)
    invite = invite_revoke(invite=invite_get(group=group, invite_id=invite_id))
    messages.success(request, f"Invite link {invite.hint}… revoked.")
    return redirect("requester-group", group_id=group.pk)


def _render_group(
    request: HttpRequest,
    group,
    *,
    status: int = 200,
    new_link: str | None = None,
    rename_form: GroupForm | None = None,
    member_form: MemberForm | None = None,
    invite_form: InviteForm | None = None,
) -> HttpResponse:
    now = timezone.now()
    invites = [(invite, invite_state(invite, now=now)) for invite in invite_list(group=group)]
    context = {
        "group": group,
        "members": membership_list(group=group),
        "invites": invites,
        "projects": group.projects.order_by("name"),
        "new_link": new_link,
        "rename_form": rename_form or GroupForm(initial={"name": group.name}),
        "member_form": member_form or MemberForm(),
        "invite_form": invite_form or InviteForm(),
    }
    return render(request, "crowds/group_detail.html", context, status=status)


# --- The invite page -------------------------------------------------------------------------


@require_GET
def invite_open(request: HttpRequest, token: str) -> HttpResponse:
    """Keep the token in the session and show the invite without it in the address."""
    request.session[INVITE_SESSION_KEY] = token
    return redirect("invite")


@require_http_methods(["GET", "POST"])
def invite_page(request: HttpRequest) -> HttpResponse:
    token = request.session.get(INVITE_SESSION_KEY)
    try:
        if token is None:
            raise InviteNotFound()
        invite = invite_by_token(token=token)
    except InviteNotFound as exc:
        return render(request, "crowds/invite.html", {"refusal": exc.message}, status=404)
    user = request.user
    if request.method == "POST":
        if not user.is_authenticated:
            return redirect("invite")
        try:
            joined = invite_join(worker=user, token=token)
        except DomainError as exc:
            context = {"invite": invite, "refusal": exc.message}
            return render(request, "crowds/invite.html", context, status=domain_status(exc))
        request.session.pop(INVITE_SESSION_KEY, None)
        group = joined.membership.group
        text = "You joined" if joined.joined else "You were already in"
        messages.success(request, f"{text} “{group.name}”: its projects are in your list.")
        return redirect("worker-projects")
    state = invite_state(invite)
    context = {
        "invite": invite,
        "state": state,
        "member": user.is_authenticated
        and user.is_worker
        and worker_is_member(worker=user, group=invite.group),
        "signup_open": settings.WORKER_SIGNUP != "closed",
    }
    return render(request, "crowds/invite.html", context, status=200 if state == "live" else 410)


def invite_token_in_session(request: HttpRequest) -> str | None:
    """The invite token the visitor came with (the sign-up and login pages join with it)."""
    token = request.session.get(INVITE_SESSION_KEY)
    return token if isinstance(token, str) else None
