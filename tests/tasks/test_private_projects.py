"""A private project does not exist for a worker outside its groups: every worker endpoint
and page answers as for a project id never made, and no list names it. The walk enumerates
the URL patterns, so a new worker endpoint is walked too (and one outside work/ fails)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.urls import reverse

from apps.crowds.services import membership_remove
from apps.tasks.models import Answer, Assignment, Project
from apps.tasks.selectors.eligibility import eligible_workers
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.submit import assignment_submit
from tests import factories
from tests.helpers.urls import Route, all_routes
from tests.helpers.web import client_for

pytestmark = pytest.mark.django_db

SECRET = "Zebra Secret Survey"
WORKER_PREFIXES = ("api/v1/work/", "work/")
MISSING = 987654321


@dataclass
class World:
    project: Project  # private, open to `group`
    public: Project
    group: object
    member: object  # still in the group
    removed: object  # was in the group: one answer, a live lease, stats and a bonus there
    lease: Assignment


@pytest.fixture
def world(requester, worker, other_worker) -> World:
    group = factories.WorkerGroupFactory(owner=requester, name="Stripes")
    project = factories.ProjectFactory(
        owner=requester,
        name=SECRET,
        visibility=Project.Visibility.PRIVATE,
        groups=[group],
        gold_share=0,
        reward_per_answer=Decimal("0.10"),
    )
    factories.HITFactory.create_batch(4, item__project=project)
    guideline = factories.GuidelineVersionFactory(project=project, number=1)
    public = factories.ProjectFactory(owner=requester, name="Open Meadow", gold_share=0)
    factories.HITFactory.create_batch(2, item__project=public)
    for someone in (worker, other_worker):
        factories.MembershipFactory(group=group, worker=someone)
        factories.GuidelineAcknowledgementFactory(guideline=guideline, worker=someone)
    first = assignment_claim(worker=worker, project=project)
    assignment_submit(worker=worker, assignment_id=first.pk, label="cat", seconds_spent=2)
    lease = assignment_claim(worker=worker, project=project)
    factories.WorkerStatsFactory(worker=worker, project=project, answers=1)
    factories.LedgerEntryFactory(
        bonus=True, worker=worker, project=project, amount=Decimal("1"), reason="thanks"
    )
    membership_remove(group=group, worker_id=worker.pk)
    return World(project, public, group, other_worker, worker, lease)


def worker_routes() -> list[Route]:
    return [r for r in all_routes() if r.route.startswith(WORKER_PREFIXES)]


def call(client, method: str, url: str, body: dict):
    if url.startswith("/api/"):
        return getattr(client, method)(url, body, content_type="application/json")
    return getattr(client, method)(url, body)


def body_of(response):
    if response.get("Content-Type", "").startswith("application/json"):
        return response.json()
    return None


BODIES = {
    "post": {"label": "cat", "seconds_spent": 1, "reason": "x", "version": 1, "token": "nope"},
    "patch": {},
    "get": {},
    "delete": {},
}


def test_every_worker_endpoint_and_page_lives_under_work():
    outside = [
        r.route
        for r in all_routes()
        if r.is_worker_only and not r.route.startswith(WORKER_PREFIXES)
    ]
    assert outside == []
    assert len(worker_routes()) >= 15  # the walk below sees the API and the pages


def test_the_walk_knows_every_worker_route_argument():
    known = {"project_id", "assignment_id", "group_id"}
    assert {r.route: set(r.kwargs) - known for r in worker_routes() if set(r.kwargs) - known} == {}


@pytest.mark.parametrize("transport", ["api", "pages"])
def test_a_private_project_answers_as_a_missing_one_on_every_worker_route(
    world, api_client_for, transport
):
    removed = world.removed
    client = api_client_for(removed) if transport == "api" else client_for(removed)
    theirs = {
        "project_id": world.project.pk,
        "assignment_id": world.lease.pk,
        "group_id": world.group.pk,
    }
    missing = dict.fromkeys(theirs, MISSING)
    walked = 0
    for route in worker_routes():
        if route.route.startswith("api/") != (transport == "api"):
            continue
        for method in route.methods():
            body = BODIES[method]
            seen = call(client, method, route.url(**theirs), body)
            walked += 1
            assert seen.status_code < 500, (route.route, method)
            assert SECRET.encode() not in seen.content, (route.route, method)
            if route.kwargs:
                never = call(client, method, route.url(**missing), body)
                assert (seen.status_code, body_of(seen)) == (
                    never.status_code,
                    body_of(never),
                ), (route.route, method)
    assert walked >= 10
    next_url = "/api/v1/work/next/" if transport == "api" else None
    if next_url:
        named = call(client, "post", next_url, {"project": world.project.pk})
        never = call(client, "post", next_url, {"project": MISSING})
        assert (named.status_code, named.json()) == (never.status_code, never.json())
        assert named.status_code == 400
    world.lease.refresh_from_db()
    assert world.lease.state == Assignment.State.LEASED  # neither submitted nor skipped
    assert Answer.objects.filter(worker=removed, project=world.project).count() == 1


def test_a_member_finds_the_project_where_the_removed_worker_does_not(world, api_client_for):
    client = api_client_for(world.member)
    listed = client.get("/api/v1/work/projects/").json()
    assert SECRET in [p["name"] for p in listed["results"]]
    guideline = client.get(f"/api/v1/work/projects/{world.project.pk}/guideline")
    assert guideline.status_code == 200
    task = client.post("/api/v1/work/next/", {"project": world.project.pk}, format="json")
    assert task.status_code == 200 and task.json()["project"]["name"] == SECRET
    page = client_for(world.member).get(reverse("worker-projects"))
    assert SECRET.encode() in page.content


def test_a_worker_never_in_a_group_is_never_served_its_tasks(world, api_client_for):
    outsider = factories.WorkerFactory(username="stranger")
    client = api_client_for(outsider)
    served = []
    while (response := client.post("/api/v1/work/next/", {}, format="json")).status_code == 200:
        task = response.json()
        served.append(task["project"]["id"])
        client.post(
            f"/api/v1/work/assignments/{task['assignment_id']}/submit/",
            {"label": "cat", "seconds_spent": 1},
            format="json",
        )
    assert response.status_code == 204
    assert served == [world.public.pk, world.public.pk]


def test_earnings_keep_the_money_of_a_project_no_longer_seen_without_naming_it(
    world, api_client_for
):
    client = api_client_for(world.removed)
    earnings = client.get("/api/v1/work/earnings/").json()
    assert earnings["projects"] == [
        {
            "project": None,
            "answers": 1,
            "reward_per_answer": None,
            "bonuses": "1.0000",
            "reversals": "0.0000",
            "amount": "1.1000",
        }
    ]
    assert Decimal(earnings["total"]) == Decimal("1.10")
    page = client_for(world.removed).get(reverse("worker-earnings"))
    assert b"Projects no longer open to you" in page.content
    assert b"thanks" in page.content  # the bonus note stays, its project unnamed


def test_history_and_stats_leave_out_a_project_no_longer_seen(world, api_client_for):
    client = api_client_for(world.removed)
    assert client.get("/api/v1/work/history/").json()["count"] == 0
    assert client.get("/api/v1/work/me/stats/").json()["count"] == 0
    member = api_client_for(world.member)
    assert member.get("/api/v1/work/me/stats/").json()["count"] == 0  # no stats row of theirs


def test_a_blocked_member_still_sees_the_project_and_is_told_why(world, api_client_for):
    factories.BlockFactory(worker=world.member, project=world.project, automatic=False, reason="x")
    client = api_client_for(world.member)
    names = [p["name"] for p in client.get("/api/v1/work/projects/").json()["results"]]
    assert SECRET in names
    response = client.post("/api/v1/work/next/", {"project": world.project.pk}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "not_qualified"


def test_only_members_may_still_answer_its_items(world):
    assert set(eligible_workers(project=world.project)) == {world.member}
    assert world.removed in set(eligible_workers(project=world.public))


def test_a_public_project_made_private_disappears_for_the_workers_outside(world, api_client_for):
    world.public.visibility = Project.Visibility.PRIVATE
    world.public.save()
    client = api_client_for(world.removed)
    assert client.get("/api/v1/work/projects/").json()["count"] == 0
    assert client.post("/api/v1/work/next/", {}, format="json").status_code == 204
