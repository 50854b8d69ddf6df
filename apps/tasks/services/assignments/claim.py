"""The claim: the worker's live lease on a project, or a new one on the best free HIT.

One SQL statement takes the slot (apps.tasks.sql: the PostgreSQL claim and its SQLite
fallback); this module decides which pools to try, retries when a concurrent request of the
same worker won, sweeps expired leases only when nothing was free, and waits for locked HITs
only on its last attempt.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from apps.models.services import pace_if_stalled, suggestion_of
from apps.mturk.access import access_refusal
from apps.mturk.requirements import Action
from apps.panels.errors import PanelQuotaReached
from apps.tasks import sql
from apps.tasks.errors import (
    GuidelineNotAcknowledged,
    HitUnavailable,
    NotQualified,
    ProjectClosed,
    QualificationUnavailable,
)
from apps.tasks.models import HIT, Assignment, Project
from apps.tasks.selectors.assignments import (
    ClaimContext,
    answers_given_count,
    claim_context_of,
    project_list_open_to_worker,
)
from apps.tasks.services.assignments.gold import Pool, gold_plan
from apps.tasks.services.assignments.leases import assignment_load, live_lease
from apps.tasks.services.assignments.slots import assignment_expire_due
from apps.workers.errors import BudgetSpent
from apps.workers.ledger import budget_check, budget_locked
from apps.workers.models import Qualification, User
from apps.workers.selectors import qualification_get
from hitlcrowd.rawrows import update_row

CLAIM_RETRIES = 3
# The claim's last attempt waits this long for HITs another transaction holds (a re-score
# batch, a consensus run's write, a submit) rather than answer "nothing" while they are open:
# finding 17 of issue 13, a 204 with 76 tasks open during a re-score. Only when the
# skip-locked attempts found nothing, so the common claim never waits.
CLAIM_LOCK_WAIT = "2s"
LOCK_NOT_AVAILABLE = "55P03"


def assignment_claim(
    *,
    worker: User,
    project: Project | None = None,
    context: ClaimContext | None = None,
    hit_id: int | None = None,
) -> Assignment | None:
    """The worker's live lease on `project`, or a new one; None when there is nothing to do.

    `context`: the project as project_get_open_for_claim read it for this worker, in place of
    `project` (it saves reading it again). Without either: any live lease, else the first open
    project with work. Raises NotQualified (403) when the worker failed the project's
    qualification test, QualificationUnavailable (409) when the test has no task left for
    them, ProjectClosed (409) when the project is closed, BudgetSpent (409) when its budget is
    spent, GuidelineNotAcknowledged (409) when the worker has not acknowledged the current
    guideline (without a project: only when no other project had a task), PanelQuotaReached
    (409) when a panel participant gave their link's quota of answers on the project or is
    done there.

    `hit_id` (with `project` or `context`): that HIT of the project, under the same rules, or
    HitUnavailable (409) saying why not, never None; the worker's live lease on it is
    returned as is (a retry). An MTurk worker accepts the HIT they previewed
    (apps/mturk/services/accept.py).
    """
    if hit_id is not None:
        if context is None:
            if project is None:
                raise ValueError("hit_id needs its project")
            context = claim_context_of(worker=worker, project=project)
        return _claim_hit(worker, context, hit_id)
    if context is not None:
        return _claim_in_project(worker, context)
    if project is not None:
        return _claim_in_project(worker, claim_context_of(worker=worker, project=project))
    live = live_lease(worker, project=None)
    if live is not None:
        return live
    unread = None
    for candidate in project_list_open_to_worker(worker=worker):
        try:
            context = claim_context_of(worker=worker, project=candidate)
            assignment = _claim_in_project(worker, context)
        except (NotQualified, BudgetSpent, QualificationUnavailable, PanelQuotaReached):
            continue
        except GuidelineNotAcknowledged as exc:
            unread = unread or exc
            continue
        if assignment is not None:
            return assignment
    if unread is not None:
        raise unread
    return None


def _claim_hit(worker: User, context: ClaimContext, hit_id: int) -> Assignment:
    """The claim of one HIT: the worker's lease on it, new or theirs already, or the refusal
    saying why (after the claim's own refusals: closed, blocked, requirements, ...)."""
    assignment = _claim_in_project(worker, context, hit_id)
    if assignment is not None and assignment.hit_id == hit_id:
        return assignment
    raise hit_unavailable(worker=worker, hit_id=hit_id, other_lease=assignment is not None)


def hit_unavailable(*, worker: User, hit_id: int, other_lease: bool) -> HitUnavailable:
    """Why the claim of HIT `hit_id` took nothing, in the claim's own terms (its statement
    decided; this only reads which of its conditions failed, for the worker). Two queries, on
    a refusal only."""
    if other_lease:
        return HitUnavailable(
            "You hold another HIT of this project: submit or return it before accepting this one."
        )
    hit = HIT.objects.filter(pk=hit_id).first()
    mine = Assignment.objects.filter(hit_id=hit_id, worker=worker, superseded_by__isnull=True)
    if hit is None:
        return HitUnavailable("This HIT is not offered any more.")
    if hit.expires_at is not None and hit.expires_at <= timezone.now():
        return HitUnavailable("This HIT expired: it takes no more answers.")
    if mine.exists():
        return HitUnavailable(
            "You already worked on this HIT (or returned it): it is not offered to you again."
        )
    if hit.slots_taken >= hit.answers_wanted:
        return HitUnavailable("Every assignment of this HIT is taken by other workers.")
    if hit.state != HIT.State.OPEN or hit.held:
        return HitUnavailable("This HIT takes no more answers now.")
    return HitUnavailable("This HIT could not be taken just now: try again.")


def _claim_in_project(
    worker: User, context: ClaimContext, hit_id: int | None = None
) -> Assignment | None:
    project = context.project
    if not project.is_open:
        raise ProjectClosed()
    if context.block_notice is not None:
        raise NotQualified(context.block_notice)
    if context.requirements:
        _check_requirements(worker, context)
    if context.panel_quota is not None:
        _check_panel_quota(worker, project, context.panel_quota)
    if context.unread_guideline is not None:
        live = live_lease(worker, project)  # a task already taken may still be answered
        if live is None:
            raise GuidelineNotAcknowledged(project.pk, context.unread_guideline)
        return live
    if project.budget is not None:
        live = live_lease(worker, project)
        if live is not None:
            return live
        # BudgetSpent (409): HITs stay open but are not served.
        if budget_check(project=project):
            with budget_locked(project=project):
                return _claim_with_retries(worker, context, hit_id)
    return _claim_with_retries(worker, context, hit_id)


def _check_requirements(worker: User, context: ClaimContext) -> None:
    """An MTurk project's QualificationRequirements guarding Accept (apps.mturk.access), for a
    new task: a task already taken stays the worker's (MTurk checked at accept only). Only
    projects with requirements pay for the check (the live lease and the worker's facts)."""
    if live_lease(worker, context.project) is not None:
        return
    refusal = access_refusal(worker=worker, requirements=context.requirements, action=Action.ACCEPT)
    if refusal is not None:
        raise NotQualified(refusal)


def _check_panel_quota(worker: User, project: Project, quota: int) -> None:
    """A panel participant gets tasks until they gave their link's quota of answers here
    (or were given their outcome: quota 0). One lease at a time per project
    (assignment_one_live_lease) and this count before each claim keep them at the quota: a
    live lease is one answer still to come."""
    if quota <= 0 or answers_given_count(worker=worker, project=project) >= quota:
        raise PanelQuotaReached()


def _claim_with_retries(
    worker: User, context: ClaimContext, hit_id: int | None = None
) -> Assignment | None:
    project = context.project
    assignment = _claim_attempts(worker, context, hit_id)
    if assignment is None and pace_if_stalled(project=project):
        assignment = _claim_attempts(worker, context, hit_id)  # the pacing opened the next items
    if assignment is None:
        _raise_if_test_stuck(worker, project)
    return assignment


def _claim_attempts(
    worker: User, context: ClaimContext, hit_id: int | None = None
) -> Assignment | None:
    project = context.project
    swept = False
    for _ in range(CLAIM_RETRIES):
        try:
            with transaction.atomic():
                # After the sweep, wait for locked HITs: "all locked" is not "empty".
                assignment = _claim_once(worker, context, wait=swept, hit_id=hit_id)
        except IntegrityError:
            # A concurrent request of the same worker took a lease first (one live lease per
            # project), or the worker's own lease ran out but is still marked leased: the
            # next round returns that lease or, after the sweep, takes another HIT.
            assignment = None
        except OperationalError as exc:
            if not _lock_wait_ended(exc):
                raise
            return None  # the HITs stayed locked past CLAIM_LOCK_WAIT: nothing now
        else:
            if assignment is not None or swept:
                return assignment
        if not swept:
            # Lazy expiry: only when no free slot was found, so the common claim stays cheap.
            assignment_expire_due(project=project)
            swept = True
    return live_lease(worker, project)


def _raise_if_test_stuck(worker: User, project: Project) -> None:
    if project.qualification_size == 0:
        return
    qualification = qualification_get(worker=worker, project=project)
    if qualification is not None and qualification.state == Qualification.State.TESTING:
        raise QualificationUnavailable(
            needed=project.qualification_size, answered=qualification.answered
        )


def _lock_wait_ended(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE


def _claim_once(
    worker: User, context: ClaimContext, wait: bool = False, hit_id: int | None = None
) -> Assignment | None:
    # The claim takes nothing while the worker holds a lease here (it checks that itself), so
    # the common case, no live lease, costs no separate look-up.
    project = context.project
    for pool in gold_plan(worker, context):
        assignment = _take_slot(worker, project, pool, wait, hit_id)
        if assignment is not None:
            return _record_pre_annotation(assignment, context)
    return live_lease(worker, project)


def _record_pre_annotation(assignment: Assignment, context: ClaimContext) -> Assignment:
    """Record on the new lease, in the claim's transaction, whether the project pre-annotates
    and whether this task shows the model's suggestion: the task and its answer read these,
    so the option turned on or off later changes neither. One UPDATE, on such projects only."""
    if context.pre_annotation:
        assignment.pre_annotated = True
        assignment.suggestion_shown = suggestion_of(item=assignment.hit.item) is not None
        update_row(assignment, "pre_annotated", "suggestion_shown")
    return assignment


def _take_slot(
    worker: User, project: Project, pool: Pool, wait: bool = False, hit_id: int | None = None
) -> Assignment | None:
    """Take a slot (of HIT `hit_id` only, when given); with `wait`, wait (up to
    CLAIM_LOCK_WAIT) for HITs other transactions hold instead of skipping them."""
    now = timezone.now()
    claim = {
        "worker": worker,
        "project": project,
        "gold": pool != Pool.REAL,
        "real_left": pool == Pool.GOLD,
        "now": now,
        "expires": now + timedelta(seconds=project.lease_seconds),
        "hit_id": hit_id,
    }
    if connection.vendor != "postgresql":
        assignment_id = sql.claim_take_portable(**claim)
        return None if assignment_id is None else assignment_load(assignment_id, project)
    return sql.claim_take(**claim, wait=wait, lock_wait=CLAIM_LOCK_WAIT)


def claim_sql(pool: Pool = Pool.REAL, *, wait: bool = False) -> str:
    """The PostgreSQL claim statement for `pool` (apps.tasks.sql.claim_sql; bench/assign.py
    explains and replays it)."""
    return sql.claim_sql(real_left=pool == Pool.GOLD, wait=wait)
