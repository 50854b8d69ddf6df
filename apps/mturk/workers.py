"""Workers as the MTurk API names them: one WorkerId per worker (`A` + 13 upper-case letters and
digits), opaque and the same for every requester, as MTurk's was.

An id is made on first need: when the worker's account page or `me/` shows it, or an operation
names the worker. Requesters learn it from the worker or from their work (assignments), and use
it to block, qualify or notify them. Only accounts with the worker role have one.
"""

from __future__ import annotations

import secrets
import string

from django.db import IntegrityError

from apps.mturk.errors import WorkerIdInvalid
from apps.mturk.models import WorkerId
from apps.workers.models import User
from hitlcrowd.errors import InvalidInput

WORKER_ID_PREFIX = "A"
WORKER_ID_ALPHABET = string.ascii_uppercase + string.digits
WORKER_ID_LENGTH = 14
DRAWS = 3


def worker_id_of(user: User) -> str:
    """The worker's WorkerId, made now if they have none: one read when it exists; two
    concurrent first calls agree on one id (the unique user, get_or_create)."""
    if not user.is_worker:
        raise InvalidInput.field("WorkerId", "Only workers have a WorkerId.")
    found = WorkerId.objects.filter(user=user).values_list("worker_id", flat=True).first()
    if found is not None:
        return found
    for attempt in range(DRAWS):
        try:
            row, _ = WorkerId.objects.get_or_create(user=user, defaults={"worker_id": _draw()})
        except IntegrityError:
            # The drawn id was taken (36^13 of them: practically never): draw again.
            if attempt == DRAWS - 1:
                raise
            continue
        return row.worker_id
    raise AssertionError("unreachable")


def _draw() -> str:
    body = "".join(secrets.choice(WORKER_ID_ALPHABET) for _ in range(WORKER_ID_LENGTH - 1))
    return WORKER_ID_PREFIX + body


def worker_for_id(worker_id: str) -> User:
    """The worker a WorkerId names; WorkerIdInvalid when it names no worker (one query on the
    unique index)."""
    found = (
        User.objects.filter(mturk_worker__worker_id=worker_id, role=User.Role.WORKER)
        .select_related("mturk_worker")
        .first()
    )
    if found is None:
        raise WorkerIdInvalid()
    return found


def workers_for_ids(worker_ids: list[str]) -> dict[str, User]:
    """The workers of those WorkerIds that name one, by id (one query)."""
    rows = User.objects.filter(
        mturk_worker__worker_id__in=set(worker_ids), role=User.Role.WORKER
    ).select_related("mturk_worker")
    return {user.mturk_worker.worker_id: user for user in rows}


def worker_id_loaded(user: User) -> str:
    """The WorkerId of a user loaded with select_related("mturk_worker") (no query), or made
    now for a worker who has none yet (rare: requesters name workers by their WorkerId)."""
    try:
        return user.mturk_worker.worker_id
    except WorkerId.DoesNotExist:
        return worker_id_of(user)
