"""A small seeded world for the API-wide tests (schemathesis, hostile values): a requester's
project with a batch and items waiting for people, a worker who acknowledged its guideline and
holds a live assignment and is in the requester's group (with an invite link), an admin,
the requester's MTurk access key and HIT type; a token for each role."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from knox.models import AuthToken

from tests import factories

ROLES = ("requester", "worker", "admin")


@dataclass
class World:
    tokens: dict[str, str]
    ids: dict[str, int | str]

    def path_parameters(self, path: str) -> dict[str, int | str]:
        names = re.findall(r"{(\w+)}", path)
        values = {
            "project_id": self.ids["project"],
            "item_id": self.ids["item"],
            "batch_id": self.ids["batch"],
            "assignment_id": self.ids["assignment"],
            "worker_id": self.ids["worker"],
            "link_id": self.ids["panel_link"],
            "key_id": self.ids["access_key"],
            "group_id": self.ids["group"],
            "invite_id": self.ids["invite"],
            "hit_type_id": self.ids["hit_type"],
            # projects/{id}/ is a project, projects/{project_id}/items/{id}/ an item
            "id": self.ids["item"] if "project_id" in names else self.ids["project"],
        }
        return {name: values[name] for name in names}

    def url(self, path: str) -> str:
        return path.format(**self.path_parameters(path))

    @staticmethod
    def role_for(path: str) -> str:
        """The role an operation is for (the other roles get 403)."""
        return "worker" if "/work/" in path else "requester"


def seed_world() -> World:
    requester = factories.RequesterFactory(username="world-owner")
    worker = factories.WorkerFactory(username="world-worker")
    admin = factories.AdminFactory(username="world-admin")
    project = factories.ProjectFactory(owner=requester, gold_share=0, labels=["cat", "dog"])
    factories.GuidelineAcknowledgementFactory(guideline__project=project, worker=worker)
    batch = factories.BatchFactory(project=project)
    hits = factories.HITFactory.create_batch(4, item__project=project, item__batch=batch)
    # An hour: longer than the project's lease, so it outlives a slow schemathesis run.
    expires = timezone.now() + timedelta(hours=1)
    assignment = factories.AssignmentFactory(hit=hits[0], worker=worker, lease_expires_at=expires)
    link = factories.PanelLinkFactory(project=project)
    factories.PanelParticipantFactory(link=link)
    access_key = factories.AccessKeyFactory(requester=requester)
    group = factories.WorkerGroupFactory(owner=requester)
    factories.MembershipFactory(group=group, worker=worker)
    invite = factories.InviteLinkFactory(group=group)
    hit_type = factories.HITTypeFactory(requester=requester)
    users = {"requester": requester, "worker": worker, "admin": admin}
    tokens = {role: AuthToken.objects.create(user)[1] for role, user in users.items()}
    ids = {
        "project": project.pk,
        "item": hits[1].item_id,
        "batch": batch.pk,
        "assignment": assignment.pk,
        "worker": worker.pk,
        "panel_link": link.pk,
        "access_key": access_key.pk,
        "group": group.pk,
        "invite": invite.pk,
        "hit_type": hit_type.hit_type_id,
    }
    return World(tokens=tokens, ids=ids)
