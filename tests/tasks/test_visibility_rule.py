"""The visibility rule's two writings agree (apps/tasks/selectors/visibility.py, the ORM; and
VISIBLE_SQL in apps/tasks/sql.py, in the next-task and submit statements), seen from the
worker and from the project, on every case: public, private with the worker in one of its
groups, in another group of the same owner, in none, and a private project without groups;
and panel identities, who see their link's project only."""

from __future__ import annotations

import itertools

import pytest

from apps.tasks import sql
from apps.tasks.models import Project
from apps.tasks.selectors.visibility import (
    project_visible_ids,
    projects_visible_to,
    workers_who_may_see,
)
from apps.workers.models import User
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(requester):
    group, other_group, second = (
        factories.WorkerGroupFactory(owner=requester, name=name) for name in ("a", "b", "c")
    )
    private = Project.Visibility.PRIVATE
    projects = {
        "public": factories.ProjectFactory(owner=requester),
        "private": factories.ProjectFactory(owner=requester, visibility=private, groups=[group]),
        "two groups": factories.ProjectFactory(
            owner=requester, visibility=private, groups=[other_group, second]
        ),
        "no group": factories.ProjectFactory(owner=requester, visibility=private),
        "public with a group": factories.ProjectFactory(owner=requester, groups=[group]),
    }
    workers = {
        "member": factories.MembershipFactory(group=group).worker,
        "in both": factories.WorkerFactory(),
        "other group": factories.MembershipFactory(group=other_group).worker,
        "nobody": factories.WorkerFactory(),
    }
    factories.MembershipFactory(group=group, worker=workers["in both"])
    factories.MembershipFactory(group=second, worker=workers["in both"])
    # Panel identities see their link's project only, public or private, whatever their groups.
    link = factories.PanelLinkFactory
    workers["panel on public"] = factories.PanelParticipantFactory(
        link=link(project=projects["public"])
    ).user
    workers["panel on private"] = factories.PanelParticipantFactory(
        link=link(project=projects["no group"])
    ).user
    factories.MembershipFactory(group=group, worker=workers["panel on private"])
    return projects, workers


EXPECTED = {
    ("public", "member"), ("public", "in both"), ("public", "other group"), ("public", "nobody"),
    ("public with a group", "member"), ("public with a group", "in both"),
    ("public with a group", "other group"), ("public with a group", "nobody"),
    ("private", "member"), ("private", "in both"),
    ("two groups", "in both"), ("two groups", "other group"),
    ("public", "panel on public"), ("no group", "panel on private"),
}  # fmt: skip


def test_the_orm_rule_sees_what_it_should(cases):
    projects, workers = cases
    seen = {
        (p, w)
        for (p, project), (w, worker) in itertools.product(projects.items(), workers.items())
        if projects_visible_to(worker=worker).filter(pk=project.pk).exists()
    }
    assert seen == EXPECTED


def test_the_sql_of_the_claim_agrees(cases):
    projects, workers = cases
    seen = {
        (p, w)
        for (p, project), (w, worker) in itertools.product(projects.items(), workers.items())
        if sql.project_for_claim_row(worker_id=worker.pk, project_id=project.pk) is not None
    }
    assert seen == EXPECTED


def test_the_sql_of_the_submit_agrees(cases):
    projects, workers = cases
    seen = set()
    for (p, project), (w, worker) in itertools.product(projects.items(), workers.items()):
        assignment = factories.AssignmentFactory(hit__item__project=project, worker=worker)
        row = sql.assignment_locked_row(assignment_id=assignment.pk, worker_id=worker.pk)
        if row[3][0]:
            seen.add((p, w))
    assert seen == EXPECTED


def test_the_rule_from_the_projects_side_agrees(cases):
    projects, workers = cases
    names = {worker.pk: name for name, worker in workers.items()}
    seen = {
        (p, names[pk])
        for p, project in projects.items()
        for pk in User.objects.filter(workers_who_may_see(project=project)).values_list(
            "pk", flat=True
        )
        if pk in names
    }
    assert seen == EXPECTED


def test_visible_ids_picks_from_the_ids_given(cases):
    projects, workers = cases
    ids = {projects["private"].pk, projects["two groups"].pk}
    assert project_visible_ids(worker=workers["member"], project_ids=ids) == {
        projects["private"].pk
    }
    assert project_visible_ids(worker=workers["nobody"], project_ids=set()) == set()
