"""GET /enter/<token>/: a panel participant arrives with their panel id, gets one worker
identity bound to (link, participant id), signed in for this browser, and goes to the task
page (apps/panels/web/entry.py, services.panel_participant_enter)."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.test import Client

from apps.panels import services
from apps.panels.models import PanelParticipant
from apps.workers.models import User
from tests.factories import HITFactory, PanelLinkFactory, PanelParticipantFactory
from tests.helpers.panels import PID, done_path, entry_path
from tests.helpers.web import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(project):
    HITFactory.create_batch(3, item__project=project)
    return PanelLinkFactory(project=project, quota=2)


def signed_in_id(client: Client) -> int | None:
    value = client.session.get(SESSION_KEY)
    return int(value) if value is not None else None


def test_the_first_visit_makes_a_worker_identity_signs_it_in_and_opens_the_task_page(link):
    client = Client()
    response = client.get(entry_path(link, study="S1", session="X1"))

    assert response.status_code == 302
    assert response["Location"] == f"/work/projects/{link.project_id}/task/"
    participant = PanelParticipant.objects.get(link=link)
    user = participant.user
    assert (participant.participant_id, participant.study_id, participant.session_id) == (
        PID,
        "S1",
        "X1",
    )
    assert signed_in_id(client) == user.pk
    assert user.role == User.Role.WORKER and user.is_active
    assert user.username.startswith("panel-") and PID not in user.username
    assert user.email == "" and not user.has_usable_password()
    task = client.get(response["Location"])
    assert task.status_code == 200 and b'id="answer-form"' in task.content


def test_a_participant_who_comes_back_from_another_browser_is_the_same_identity(link):
    first = Client()
    first.get(entry_path(link, session="X1"))
    second = Client()
    response = second.get(entry_path(link, session="X2"))

    assert response.status_code == 302
    participant = PanelParticipant.objects.get(link=link)
    assert signed_in_id(second) == signed_in_id(first) == participant.user_id
    assert PanelParticipant.objects.count() == 1
    assert User.objects.filter(username__startswith="panel-").count() == 1
    # The latest session is the one the panel still waits on.
    assert participant.session_id == "X2"


def test_the_same_participant_id_on_another_link_is_another_identity(link, project):
    other_link = PanelLinkFactory(project=project)
    Client().get(entry_path(link))
    Client().get(entry_path(other_link))
    users = set(PanelParticipant.objects.values_list("user_id", flat=True))
    assert len(users) == 2


@pytest.mark.parametrize(
    ("pid", "missing"),
    [
        (None, True),
        ("", True),
        ("   ", True),
        ("a b", False),
        ("x" * 65, False),
        ("me@example.org", False),
        ("-A1", False),
        ("<script>", False),
    ],
)
def test_a_missing_or_malformed_participant_id_is_a_400_page_naming_the_parameter(
    link, pid, missing
):
    response = Client().get(entry_path(link, pid=pid))

    assert response.status_code == 400
    text = response.content.decode()
    assert "PROLIFIC_PID" in text
    assert ("is missing" if missing else "is not a valid panel id") in text
    assert "<script>" not in text
    assert not PanelParticipant.objects.exists()
    assert not User.objects.filter(username__startswith="panel-").exists()


def test_a_malformed_study_or_session_id_is_a_400_too(link):
    response = Client().get(entry_path(link, session="bad value"))
    assert response.status_code == 400 and "SESSION_ID" in response.content.decode()
    assert not PanelParticipant.objects.exists()


def test_the_parameter_names_are_the_links_own(project):
    link = PanelLinkFactory(
        project=project, participant_param="workerId", study_param="hitId", session_param="aid"
    )
    refused = Client().get(f"/enter/{link.token}/?PROLIFIC_PID={PID}")
    assert refused.status_code == 400 and "workerId" in refused.content.decode()

    response = Client().get(entry_path(link, pid="A1B2C3", study="H1", session="AS1"))
    assert response.status_code == 302
    participant = PanelParticipant.objects.get()
    assert (participant.participant_id, participant.study_id, participant.session_id) == (
        "A1B2C3",
        "H1",
        "AS1",
    )


@pytest.mark.parametrize("trait", ["revoked", "expired"])
def test_a_revoked_or_expired_link_is_a_clear_410_page(project, trait):
    link = PanelLinkFactory(project=project, **{trait: True})
    response = Client().get(entry_path(link))
    assert response.status_code == 410
    assert "no longer active" in response.content.decode()
    assert not PanelParticipant.objects.exists()


def test_a_returning_participant_cannot_enter_through_a_revoked_link(project):
    participant = PanelParticipantFactory(link__project=project, link__revoked=True)
    response = Client().get(entry_path(participant.link, pid=participant.participant_id))
    assert response.status_code == 410


def test_an_unknown_token_is_the_404_page(link):
    response = Client().get(f"/enter/{link.token}x/?PROLIFIC_PID={PID}")
    assert response.status_code == 404


def test_a_closed_project_is_a_clear_409_page_and_makes_no_identity(link, project):
    project.is_open = False
    project.save()
    response = Client().get(entry_path(link))
    assert response.status_code == 409
    assert "not taking answers" in response.content.decode()
    assert not PanelParticipant.objects.exists()


def test_a_participant_who_is_done_still_sees_their_code_after_the_project_closed(project):
    participant = PanelParticipantFactory(link__project=project, done=True)
    project.is_open = False
    project.save()
    client = Client()
    response = client.get(entry_path(participant.link, pid=participant.participant_id))
    assert response.status_code == 302 and response["Location"] == done_path(participant.link)
    assert "C0MPLETE" in client.get(response["Location"]).content.decode()


def test_a_deactivated_participant_is_refused_with_a_page(link):
    participant = PanelParticipantFactory(link=link, participant_id=PID)
    User.objects.filter(pk=participant.user_id).update(is_active=False)
    client = Client()
    response = client.get(entry_path(link))
    assert response.status_code == 409
    assert "deactivated" in response.content.decode()
    assert signed_in_id(client) is None


def test_the_panel_identity_replaces_whoever_was_signed_in(link, worker, requester):
    for someone in (worker, requester):
        client = client_for(someone)
        session = client.session
        session["keep"] = "theirs"
        session.save()
        response = client.get(entry_path(link))
        assert response.status_code == 302
        participant = PanelParticipant.objects.get(link=link)
        assert signed_in_id(client) == participant.user_id != someone.pk
        # A new session: nothing of the previous user's carries over.
        assert "keep" not in client.session


def test_the_entry_is_a_get_only_page(link):
    assert Client().post(entry_path(link)).status_code == 405


def test_the_entry_and_completion_pages_are_never_cached(link):
    assert "no-store" in Client().get(entry_path(link))["Cache-Control"]


# --- The limit on new identities per client address -------------------------------------------


def participant_ids(n: int) -> list[str]:
    return [f"{i:024x}" for i in range(1, n + 1)]


def test_past_the_limit_a_first_visit_is_a_429_page_and_makes_no_identity(link, settings):
    settings.PANEL_ENTRY_RATE_PER_CLIENT = "3/hour"
    for pid in participant_ids(3):
        assert Client().get(entry_path(link, pid)).status_code == 302
    response = Client().get(entry_path(link, "f" * 24))

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 3600
    assert b'id="panel-refusal"' in response.content
    assert b"Too many people started this study" in response.content
    assert PanelParticipant.objects.filter(link=link).count() == 3
    assert not PanelParticipant.objects.filter(participant_id="f" * 24).exists()


def test_past_the_limit_a_participant_who_started_comes_back(link, settings):
    settings.PANEL_ENTRY_RATE_PER_CLIENT = "2/hour"
    first, second = participant_ids(2)
    Client().get(entry_path(link, first))
    Client().get(entry_path(link, second))
    assert Client().get(entry_path(link, "f" * 24)).status_code == 429
    for _ in range(3):  # returns are not counted, however many
        again = Client()
        assert again.get(entry_path(link, first)).status_code == 302
        assert signed_in_id(again) == PanelParticipant.objects.get(participant_id=first).user_id


def test_the_limit_is_per_client_address_and_counts_every_link(link, project, settings):
    settings.PANEL_ENTRY_RATE_PER_CLIENT = "2/hour"
    other_link = PanelLinkFactory(project=project)
    a, b, c = participant_ids(3)
    assert Client().get(entry_path(link, a)).status_code == 302
    assert Client().get(entry_path(other_link, b)).status_code == 302
    assert Client().get(entry_path(link, c)).status_code == 429
    elsewhere = Client(REMOTE_ADDR="198.51.100.7")
    assert elsewhere.get(entry_path(link, c)).status_code == 302


def test_the_limit_can_be_turned_off(link, settings):
    settings.PANEL_ENTRY_RATE_PER_CLIENT = None  # `off` in the environment
    for pid in participant_ids(40):
        assert Client().get(entry_path(link, pid)).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_two_first_visits_at_once_make_one_identity(on_postgres, link, monkeypatch):
    """Both visits look the participant up before either inserts (held at a barrier), so
    both try to create it: the unique (link, participant id) lets one through, and the other
    returns that one's identity."""
    barrier = threading.Barrier(2, timeout=30)
    real_lookup = services._participant
    first_lookups: set[int] = set()

    def racing_lookup(link_, participant_id):
        found = real_lookup(link_, participant_id)
        me = threading.get_ident()
        if me not in first_lookups:
            first_lookups.add(me)
            barrier.wait()
        return found

    creates: list[bool] = []
    real_create = services._participant_create

    def counted_create(*args):
        participant, created = real_create(*args)
        creates.append(created)
        return participant, created

    monkeypatch.setattr(services, "_participant", racing_lookup)
    monkeypatch.setattr(services, "_participant_create", counted_create)
    results: dict[str, object] = {}

    def visit(name: str) -> None:
        try:
            client = Client()
            response = client.get(entry_path(link))
            results[name] = (response.status_code, signed_in_id(client))
        except Exception as exc:  # reported by the main thread
            results[name] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=visit, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    participant = PanelParticipant.objects.get(link=link)
    assert results == {"a": (302, participant.user_id), "b": (302, participant.user_id)}
    assert sorted(creates) == [False, True]  # both tried; the second found the first's
    assert User.objects.filter(username__startswith="panel-").count() == 1
