"""Who may see a project: THE visibility rule, used by every worker path.

A worker may see a project when it is public, or when it is private and the worker is a member
of one of its groups (`Project.groups`, the owner's groups in apps.crowds). A project a worker
may not see does not exist for them: every worker endpoint and page answers as it does for a
project id that was never made (a 404, or the 400 `project` of `work/next/`), and no list names
it (projects, history, stats; earnings fold it into one unnamed row, so the money stays).

Blocks are another matter and keep their own rules: a blocked worker still sees the projects
they may see, and is told why they get no task there.

The rule is written twice, like the claim, and only here and in its SQL twin:
- `project_visible_q` (and `workers_who_may_see`, the same rule seen from a project), for the
  ORM: project lists, assignments, answers, stats, earnings, eligibility;
- `VISIBLE_SQL` in apps/tasks/sql.py, inside the raw statements of the hot path (the project
  for a next-task claim, the assignment locked by a submit or skip), so that they keep their
  statement count. tests/tasks/test_visibility_rule.py checks that the two agree.

Cost: a public project is decided by its own column; a private one by one probe of the
project's groups (the M2M's unique (project_id, workergroup_id) index) and, per group, one
probe of membership_unique (group_id, worker_id): constant in the number of members, projects
and answers, linear in the project's groups (at most MAX_GROUPS_PER_PROJECT). Plus one probe of
the panel participant's unique user (panel identities, below).

A panel identity (a worker account made by a panel entry link, apps.panels: it has a
participant record) sees its link's project and nothing else, whatever that project's
visibility and whatever groups the account was added to: it came for one study. Seen from a
project, its own link's identities may see it, other links' identities may not.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from apps.crowds.models import Membership
from apps.panels.models import PanelParticipant
from apps.tasks.models import Project
from apps.workers.models import User

MAX_GROUPS_PER_PROJECT = 20


def project_visible_q(*, worker: User, field: str | None = None) -> Q:
    """The rule as a filter: on Project itself (`field` None), or on a model whose foreign key
    `field` points at the project (`field="project"` on Assignment, Answer, WorkerStats...)."""
    if field is None:
        project_id, visibility = OuterRef("pk"), "visibility"
    else:
        project_id, visibility = OuterRef(f"{field}_id"), f"{field}__visibility"
    member = Membership.objects.filter(worker=worker, group__projects=project_id)
    crowd = Q(**{visibility: Project.Visibility.PUBLIC}) | Q(Exists(member))
    # A panel identity: its link's project only (an uncorrelated probe, run once per query).
    panel = PanelParticipant.objects.filter(user=worker)
    own_link = panel.filter(link__project=project_id)
    return (crowd & ~Q(Exists(panel))) | Q(Exists(own_link))


def projects_visible_to(*, worker: User) -> QuerySet[Project]:
    """Every project the worker may see, open or not."""
    return Project.objects.filter(project_visible_q(worker=worker))


def project_visible_ids(*, worker: User, project_ids: set[int]) -> set[int]:
    """Of `project_ids`, those the worker may see (one query)."""
    if not project_ids:
        return set()
    visible = projects_visible_to(worker=worker).filter(pk__in=project_ids)
    return set(visible.values_list("pk", flat=True))


def workers_who_may_see(*, project: Project) -> Q:
    """The same rule from the project's side, as a filter on User: every worker for a public
    project, the members of its groups for a private one; not the panel identities of other
    projects' links, and always those of this project's links."""
    panel = PanelParticipant.objects.filter(user=OuterRef("pk"))
    elsewhere = ~Q(Exists(panel.exclude(link__project=project)))
    if project.visibility == Project.Visibility.PUBLIC:
        return elsewhere
    member = Membership.objects.filter(worker=OuterRef("pk"), group__projects=project)
    return (Q(Exists(member)) & elsewhere) | Q(Exists(panel.filter(link__project=project)))
