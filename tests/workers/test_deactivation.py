"""An admin deactivates an account (apps.workers.accounts.user_deactivate): it cannot log in,
its API tokens and web sessions end, its live leases give their slots to other workers, and
the audit trail records who did it and why; reactivation lets it log in again. Only through
the service: the admin's action and pages call it, and the change form cannot skip it."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from knox.models import AuthToken
from rest_framework.test import APIClient

from apps.tasks.models import HIT, Answer, Assignment, AuditEvent
from apps.workers.accounts import user_deactivate, user_reactivate
from tests.factories import PASSWORD, HITFactory
from tests.helpers.web import client_for

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/workers/user/"


@pytest.fixture
def real_project(project):
    project.gold_share = 0
    project.save()
    return project


def token_client(user) -> APIClient:
    _, token = AuthToken.objects.create(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def next_task(client: APIClient, project):
    return client.post("/api/v1/work/next/", {"project": project.pk}, format="json")


def sessions_of(user) -> int:
    return sum(
        1 for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(user.pk)
    )


def account_events(action: str):
    return AuditEvent.objects.filter(project__isnull=True, action=action)


def test_deactivation_ends_tokens_and_sessions_and_frees_the_slot(
    real_project, worker, other_worker, admin_user
):
    hit = HITFactory(item__project=real_project, answers_wanted=1)
    api = token_client(worker)
    claimed = next_task(api, real_project)
    assert claimed.status_code == 200
    assignment_id = claimed.json()["assignment_id"]
    other_api = token_client(other_worker)
    assert next_task(other_api, real_project).status_code == 204  # the one slot is taken
    session = client_for(worker)
    assert sessions_of(worker) == 1

    done = user_deactivate(user=worker, by=admin_user, reason="left the team")

    assert (done.tokens, done.sessions, done.leases) == (1, 1, 1)
    assert api.get("/api/v1/me/").status_code == 401
    submit = f"/api/v1/work/assignments/{assignment_id}/submit/"
    assert api.post(submit, {"label": "cat"}, format="json").status_code == 401
    assert session.get("/work/").status_code == 302
    assert sessions_of(worker) == 0
    assert Assignment.objects.get(pk=assignment_id).state == Assignment.State.EXPIRED
    hit.refresh_from_db()
    assert hit.slots_taken == 0
    # A real claim by another worker gets the slot.
    taken = next_task(other_api, real_project)
    assert taken.status_code == 200
    assert Assignment.objects.get(pk=taken.json()["assignment_id"]).hit_id == hit.pk
    [event] = account_events("account_deactivate")
    assert (event.actor, event.object_type, event.object_id) == (
        admin_user,
        "workers.User",
        str(worker.pk),
    )
    assert event.changes == {
        "is_active": [True, False],
        "tokens": 1,
        "sessions": 1,
        "leases": 1,
        "reason": "left the team",
    }


def test_other_accounts_keep_their_tokens_sessions_and_leases(
    real_project, worker, other_worker, admin_user
):
    HITFactory(item__project=real_project, answers_wanted=2)
    other_api = token_client(other_worker)
    other_session = client_for(other_worker)
    assert next_task(other_api, real_project).status_code == 200
    user_deactivate(user=worker, by=admin_user)
    assert other_api.get("/api/v1/me/").status_code == 200
    assert other_session.get("/work/").status_code == 200
    assert Assignment.objects.get(worker=other_worker).state == Assignment.State.LEASED


def test_the_answers_a_worker_gave_stay_counted(real_project, worker, admin_user):
    HITFactory.create_batch(2, item__project=real_project, answers_wanted=1)
    api = token_client(worker)
    first = next_task(api, real_project).json()["assignment_id"]
    answer = {"label": "cat", "seconds_spent": 3}
    submitted = api.post(f"/api/v1/work/assignments/{first}/submit/", answer, format="json")
    assert submitted.status_code == 201
    assert next_task(api, real_project).status_code == 200
    assert user_deactivate(user=worker, by=admin_user).leases == 1
    answer = Answer.objects.get(worker=worker)
    assert answer.discarded_at is None
    assert HIT.objects.get(pk=answer.assignment.hit_id).slots_taken == 1


def test_a_deactivated_account_cannot_log_in_and_a_reactivated_one_can(worker, admin_user):
    user_deactivate(user=worker, by=admin_user)
    login = {"username": "worker", "password": PASSWORD}
    assert Client().post("/accounts/login/", login).status_code == 200  # the form again
    assert APIClient().post("/api/v1/auth/token/", login, format="json").status_code == 401

    user_reactivate(user=worker, by=admin_user, reason="back")

    assert Client().post("/accounts/login/", login).status_code == 302
    assert APIClient().post("/api/v1/auth/token/", login, format="json").status_code == 200
    [event] = account_events("account_reactivate")
    assert event.changes == {"is_active": [False, True], "reason": "back"}


def test_deactivating_twice_records_it_once(worker, admin_user):
    user_deactivate(user=worker, by=admin_user)
    again = user_deactivate(user=worker, by=admin_user)
    assert (again.tokens, again.sessions, again.leases) == (0, 0, 0)
    assert account_events("account_deactivate").count() == 1
    user_reactivate(user=worker, by=admin_user)
    user_reactivate(user=worker, by=admin_user)
    assert account_events("account_reactivate").count() == 1


def test_an_admin_cannot_deactivate_their_own_account(admin_user):
    from hitlcrowd.errors import InvalidInput

    with pytest.raises(InvalidInput):
        user_deactivate(user=admin_user, by=admin_user)
    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_a_requester_account_is_deactivated_the_same_way(requester, admin_user):
    api = token_client(requester)
    user_deactivate(user=requester, by=admin_user)
    assert api.get("/api/v1/projects/").status_code == 401


# --- The admin ------------------------------------------------------------------------------


def test_the_admin_action_deactivates_through_the_service(worker, other_worker, admin_user):
    api = token_client(worker)
    body = {
        "action": "deactivate_selected",
        "_selected_action": [worker.pk],
        "reason": "spam",
        "index": 0,
    }
    response = client_for(admin_user).post(CHANGELIST, body)
    assert response.status_code == 302
    worker.refresh_from_db()
    other_worker.refresh_from_db()
    assert (worker.is_active, other_worker.is_active) == (False, True)
    assert api.get("/api/v1/me/").status_code == 401
    [event] = account_events("account_deactivate")
    assert (event.actor, event.changes["reason"]) == (admin_user, "spam")


def test_the_admin_action_reactivates(worker, admin_user):
    user_deactivate(user=worker, by=admin_user)
    body = {"action": "reactivate_selected", "_selected_action": [worker.pk], "index": 0}
    client_for(admin_user).post(CHANGELIST, body)
    worker.refresh_from_db()
    assert worker.is_active


def test_the_admin_action_skips_the_admins_own_account_and_says_so(worker, admin_user):
    body = {
        "action": "deactivate_selected",
        "_selected_action": [worker.pk, admin_user.pk],
        "index": 0,
    }
    page = client_for(admin_user).post(CHANGELIST, body, follow=True)
    assert b"You cannot deactivate your own account." in page.content
    worker.refresh_from_db()
    admin_user.refresh_from_db()
    assert (worker.is_active, admin_user.is_active) == (False, True)


def test_the_deactivate_page_asks_for_a_reason_and_deactivates(worker, admin_user):
    admin = client_for(admin_user)
    change = admin.get(f"{CHANGELIST}{worker.pk}/change/")
    assert f"{CHANGELIST}{worker.pk}/deactivate/".encode() in change.content
    page = f"{CHANGELIST}{worker.pk}/deactivate/"
    assert admin.get(page).status_code == 200
    done = admin.post(page, {"reason": "asked to leave"})
    assert done.status_code == 302
    worker.refresh_from_db()
    assert not worker.is_active
    assert account_events("account_deactivate").get().changes["reason"] == "asked to leave"
    change = admin.get(f"{CHANGELIST}{worker.pk}/change/")
    assert f"{CHANGELIST}{worker.pk}/reactivate/".encode() in change.content
    admin.post(f"{CHANGELIST}{worker.pk}/reactivate/", {"reason": ""})
    worker.refresh_from_db()
    assert worker.is_active


def test_the_change_form_shows_is_active_read_only(worker, admin_user):
    page = client_for(admin_user).get(f"{CHANGELIST}{worker.pk}/change/")
    assert page.status_code == 200
    assert b'name="is_active"' not in page.content


@pytest.mark.parametrize("who", ["worker", "requester"])
def test_non_staff_accounts_cannot_reach_the_deactivate_page(request, who, other_worker):
    user = request.getfixturevalue(who)
    client = client_for(user)
    response = client.post(f"{CHANGELIST}{other_worker.pk}/deactivate/", {"reason": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    body = {"action": "deactivate_selected", "_selected_action": [other_worker.pk], "index": 0}
    client.post(CHANGELIST, body)
    other_worker.refresh_from_db()
    assert other_worker.is_active
    assert not account_events("account_deactivate").exists()
