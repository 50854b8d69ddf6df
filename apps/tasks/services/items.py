"""Item transitions: the one home for what happens to an item, its HIT and their leases
besides a worker's own claim, submit and skip (services/assignments/) and the consensus run's
overlap steering (services/consensus/overlap.py). Other apps call these; none writes items,
HITs or assignments itself (the models app sends plain `ScoredRow`s).

The invariants every function here keeps:
- an item is final (auto_labeled, consensus, resolved, ambiguous), in review (needs_review),
  or servable: waiting, with an open HIT that has a free slot or a live lease, and a worker
  left who may answer it (selectors/eligibility.py);
- a HIT's `slots_taken` is its live plus counted assignments (`hit_slots_recount` after any
  change of those rows);
- settling an item by hand (resolve, mark ambiguous) closes its live leases: the worker's
  submit gets 410 `task_closed` and is not paid;
- a re-score never takes work away: an item with a live lease or a counted answer is not
  auto-labeled, it stays with people (finding 12 of issue 13: 13 answers got 410);
- a re-opened HIT gets its place in the queue by the rule new HITs get
  (`apps.models.services.item_queue_priorities`);
- rows are locked in the order of hitlcrowd.locking (items, assignments, HITs; each in id
  order), and a write of many HITs commits every APPLY_BATCH of them: the claim SKIP LOCKs
  HITs, and a re-score holding 1,000 of them in one transaction left it nothing to take.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.models.services import item_queue_priorities, labels_changed
from apps.tasks.audit import field_changes
from apps.tasks.errors import ItemHasAssignments, NoWorkerLeft, ResolveRefused
from apps.tasks.models import (
    HIT,
    Answer,
    Assignment,
    AuditEvent,
    GuidelineVersion,
    Item,
    Project,
)
from apps.tasks.selectors.eligibility import eligible_worker_count
from apps.tasks.services.assignments.slots import hit_slots_recount
from apps.tasks.services.audit import audit_record
from apps.tasks.services.consensus.scheduling import aggregation_enqueue
from apps.tasks.sql import hit_submitted_count
from apps.workers.models import User
from hitlcrowd.errors import InvalidInput
from hitlcrowd.locking import lock_in_id_order, retry_on_lock_conflict
from hitlcrowd.rawrows import update_rows

# HITs written per transaction by the writers of many (re-score, priorities, re-queue).
APPLY_BATCH = 100
MAX_MORE_ANSWERS = 20
# Where a scored item goes (ScoredRow.route).
AUTO = "auto"  # auto-labeled with the model's label; its HIT is cancelled
PEOPLE = "people"  # stays with people; its HIT gets the row's priority
AUDIT = "audit"  # auto-labeled, and people label it too (its HIT stays open)
ROUTES = (AUTO, PEOPLE, AUDIT)
HAND_SOURCES = (Item.Source.ADMIN, Item.Source.USER)


# --- Scores from the models app ------------------------------------------------------------


@dataclass(frozen=True)
class ScoredRow:
    """One item as the models app scored it: its label, confidence, queue priority, and
    where it should go (AUTO, PEOPLE or AUDIT). The decision is the models app's; the write,
    and refusing it where it would take work away, is this module's."""

    item_id: int
    label: str
    confidence: float
    priority: float
    route: str


@dataclass
class ScoresApplied:
    """What `item_scores_apply` did, by item id."""

    auto: list[int] = field(default_factory=list)
    audit: list[int] = field(default_factory=list)
    # Items staying with people whose HIT got a new priority (or a new HIT).
    people: list[int] = field(default_factory=list)
    # Routed AUTO or AUDIT but kept with people: a live lease or a counted answer.
    kept: list[int] = field(default_factory=list)

    def add(self, other: ScoresApplied) -> None:
        for name in ("auto", "audit", "people", "kept"):
            getattr(self, name).extend(getattr(other, name))


def item_scores_apply(
    *,
    project: Project,
    model_version: str,
    rows: Sequence[ScoredRow],
    on_applied: Callable[[ScoresApplied], None] | None = None,
) -> ScoresApplied:
    """Store the model's scores and route the items, APPLY_BATCH per transaction (each run
    again on a lock conflict). Every row's item gets the prediction; only an item still
    waiting for people (not gold, not labeled by hand) is routed. `on_applied` runs inside
    each batch's transaction with what that batch did (the caller's own rows, say audit
    flags, commit with it)."""
    unknown = {row.route for row in rows} - set(ROUTES)
    if unknown:
        raise ValueError(f"unknown route {sorted(unknown)}; expected one of {ROUTES}")
    ordered = sorted(rows, key=lambda row: row.item_id)
    total = ScoresApplied()
    for start in range(0, len(ordered), APPLY_BATCH):
        batch = ordered[start : start + APPLY_BATCH]

        def work(batch: Sequence[ScoredRow] = batch) -> ScoresApplied:
            done = _apply_batch(project, model_version, batch)
            if on_applied is not None:
                on_applied(done)
            return done

        total.add(retry_on_lock_conflict(work))
    return total


@dataclass(frozen=True)
class _Current:
    state: str
    is_gold: bool
    label_source: str
    hit_id: int | None
    hit_is_gold: bool

    @property
    def routable(self) -> bool:
        return (
            self.state == Item.State.WAITING
            and not self.is_gold
            and self.label_source not in HAND_SOURCES
        )


def _apply_batch(project: Project, version: str, rows: Sequence[ScoredRow]) -> ScoresApplied:
    now = timezone.now()
    ids = [row.item_id for row in rows]
    lock_in_id_order(Item, ids)
    current = _current(project, ids)
    rows = [row for row in rows if row.item_id in current]
    lock_in_id_order(HIT, [c.hit_id for c in current.values() if c.hit_id is not None])
    busy = _busy_items(
        [row.item_id for row in rows if row.route != PEOPLE and current[row.item_id].routable],
        now,
    )
    done = ScoresApplied()
    auto: list[ScoredRow] = []
    queued: list[ScoredRow] = []  # rows whose HIT gets the row's priority
    cancel: list[int] = []
    for row in rows:
        item = current[row.item_id]
        if not item.routable:
            continue
        if row.route != PEOPLE and row.item_id in busy:
            done.kept.append(row.item_id)
            queued.append(row)
        elif row.route == PEOPLE:
            done.people.append(row.item_id)
            queued.append(row)
        else:
            auto.append(row)
            if row.route == AUDIT:  # its HIT keeps serving, at the row's priority
                done.audit.append(row.item_id)
                queued.append(row)
            else:
                done.auto.append(row.item_id)
                if item.hit_id is not None:
                    cancel.append(item.hit_id)
    _write_predictions(rows, version, now)
    _write_auto_labels(auto, now)
    if cancel:
        HIT.objects.filter(pk__in=cancel).update(state=HIT.State.CANCELLED, updated_at=now)
        hit_slots_recount(hit_ids=cancel)
    _write_priorities(project, [(current[row.item_id], row) for row in queued], now)
    return done


def _current(project: Project, ids: list[int]) -> dict[int, _Current]:
    rows = Item.objects.filter(project=project, pk__in=ids).values_list(
        "pk", "state", "is_gold", "label_source", "hit__pk", "hit__is_gold"
    )
    return {
        pk: _Current(state, is_gold, source, hit_id, bool(hit_gold))
        for pk, state, is_gold, source, hit_id, hit_gold in rows
    }


def _busy_items(item_ids: list[int], now: datetime) -> set[int]:
    """Items someone is working on: a live lease on their HIT or an answer that counts. Read
    under the HIT locks, so no lease can be taken meanwhile (the claim locks the HIT)."""
    if not item_ids:
        return set()
    leased = Assignment.objects.filter(
        hit__item_id__in=item_ids, state=Assignment.State.LEASED, lease_expires_at__gt=now
    ).values_list("hit__item_id", flat=True)
    answered = Answer.objects.filter(item_id__in=item_ids, superseded_by__isnull=True).values_list(
        "item_id", flat=True
    )
    return set(leased) | set(answered)


def _write_predictions(rows: Sequence[ScoredRow], version: str, now: datetime) -> None:
    items = [
        Item(
            pk=row.item_id,
            prediction=row.label,
            confidence=row.confidence,
            model_version=version,
            updated_at=now,
        )
        for row in rows
    ]
    update_rows(items, "prediction", "confidence", "model_version", "updated_at")


def _write_auto_labels(rows: Sequence[ScoredRow], now: datetime) -> None:
    items = [
        Item(
            pk=row.item_id,
            state=Item.State.AUTO_LABELED,
            final_label=row.label,
            final_confidence=row.confidence,
            label_source=Item.Source.MODEL,
            posterior=None,
            updated_at=now,
        )
        for row in rows
    ]
    fields = ["state", "final_label", "final_confidence", "label_source", "posterior"]
    update_rows(items, *fields, "updated_at")


def _write_priorities(
    project: Project, queued: list[tuple[_Current, ScoredRow]], now: datetime
) -> None:
    """The HITs of `queued` get their row's priority; an item without a HIT gets one (it
    must be servable)."""
    update_rows(
        [
            HIT(pk=item.hit_id, priority=row.priority, updated_at=now)
            for item, row in queued
            if item.hit_id is not None and not item.hit_is_gold
        ],
        "priority",
        "updated_at",
    )
    for item, row in queued:
        if item.hit_id is None:
            HIT.objects.create(
                item_id=row.item_id,
                project=project,
                answers_wanted=project.min_overlap,
                priority=row.priority,
            )


@transaction.atomic
def item_create(
    *,
    project: Project,
    external_id: str,
    payload: object,
    prediction: str = "",
    confidence: float | None = None,
    model_version: str = "",
    route: str = PEOPLE,
    priority: float = 0.0,
    answers_wanted: int | None = None,
    expires_at: datetime | None = None,
) -> Item:
    """A new item scored by the models app (the online predict call): auto-labeled with its
    prediction (route AUTO), or waiting for people on a HIT at `priority` (route PEOPLE)
    wanting `answers_wanted` answers (the project's min_overlap by default), served until
    `expires_at` (an MTurk HIT's). Raises IntegrityError when the external id exists (the
    caller replays it)."""
    if route not in (AUTO, PEOPLE):
        raise ValueError(f"a new item is routed {AUTO} or {PEOPLE}, not {route!r}")
    auto = route == AUTO
    item = Item.objects.create(
        project=project,
        external_id=external_id,
        payload=payload,
        prediction=prediction,
        confidence=confidence,
        model_version=model_version,
        state=Item.State.AUTO_LABELED if auto else Item.State.WAITING,
        final_label=prediction if auto else "",
        final_confidence=confidence if auto else None,
        label_source=Item.Source.MODEL if auto else "",
    )
    if not auto:
        item.hit = HIT.objects.create(
            item=item,
            project=project,
            answers_wanted=answers_wanted or project.min_overlap,
            priority=priority,
            expires_at=expires_at,
        )
    return item


@transaction.atomic
def item_move(*, item_id: int, project: Project, by: User) -> Item:
    """Move an item and its HIT to another `project` of the same owner (MTurk's
    UpdateHITTypeOfHIT: a HIT type is a project); the new project's reward, lease duration and
    rules apply from then on. Only an item no worker ever had: an assignment (a live lease, an
    answer, a returned or expired lease) belongs to its project with its pay, guideline
    version and skills, so ItemHasAssignments. A claim taking the HIT meanwhile either holds
    the HIT's row first (then its assignment is seen here) or finds the HIT moved. One audit
    event, on the new project's trail."""
    item = Item.objects.select_for_update().get(pk=item_id)
    if item.project_id == project.pk:
        return item
    old = Project.objects.only("owner_id").get(pk=item.project_id)
    if old.owner_id != project.owner_id or item.batch_id is not None or item.is_gold:
        raise ValueError("only an owner's own un-batched, non-gold item moves between projects")
    hit = HIT.objects.select_for_update().filter(item=item).first()
    if hit is not None:
        count = Assignment.objects.filter(hit=hit).count()
        if count:
            raise ItemHasAssignments(count)
    now = timezone.now()
    if hit is not None:
        HIT.objects.filter(pk=hit.pk).update(project=project, updated_at=now)
    from_project = item.project_id
    Item.objects.filter(pk=item.pk).update(project=project, updated_at=now)
    item.project = project
    audit_record(
        project_id=project.pk,
        actor=by,
        action=AuditEvent.Action.ITEM_MOVE,
        obj=item,
        changes={"project": [from_project, project.pk]},
    )
    return item


@transaction.atomic
def item_audit_open(*, item_id: int, priority: float) -> HIT:
    """An auto-labeled item drawn for the audit sample: people label it too, on a HIT of its
    own at `priority` (its label stays the model's)."""
    item = Item.objects.select_for_update().select_related("project").get(pk=item_id)
    if item.state != Item.State.AUTO_LABELED:
        raise ValueError(f"only auto-labeled items are audited; item {item_id} is {item.state}")
    hit, created = HIT.objects.get_or_create(
        item=item,
        defaults={
            "project": item.project,
            "answers_wanted": item.project.min_overlap,
            "priority": priority,
        },
    )
    if not created:
        HIT.objects.filter(pk=hit.pk).update(priority=priority, updated_at=timezone.now())
    return hit


def hit_priorities_set(*, project: Project, priorities: Mapping[int, float]) -> int:
    """Give open HITs of `project` new priorities ({hit id: priority}), APPLY_BATCH per
    transaction. Returns how many were written."""
    ids = sorted(priorities)
    written = 0
    for start in range(0, len(ids), APPLY_BATCH):
        batch = ids[start : start + APPLY_BATCH]

        def work(batch: list[int] = batch) -> int:
            lock_in_id_order(HIT, batch)
            now = timezone.now()
            open_ids = HIT.objects.filter(
                project=project, pk__in=batch, state=HIT.State.OPEN
            ).values_list("pk", flat=True)
            hits = [HIT(pk=pk, priority=priorities[pk], updated_at=now) for pk in open_ids]
            update_rows(hits, "priority", "updated_at")
            return len(hits)

        written += retry_on_lock_conflict(work)
    return written


# --- Settling an item by hand ----------------------------------------------------------------


@transaction.atomic
def item_resolve(*, item_id: int, label: str, by: User, source: str = Item.Source.ADMIN) -> Item:
    """A person decides an item's label: an admin (`source` admin; the label then counts as
    gold when scoring workers, so the project is queued for a consensus run) or a user's
    feedback on a prediction (`source` user). Resolving again with another label corrects the
    first. Closes the item's HIT and its live leases; writes an audit event."""
    if source not in HAND_SOURCES:
        raise ValueError(f"a resolution comes from {HAND_SOURCES}, not {source!r}")
    item = Item.objects.select_for_update().select_related("project").get(pk=item_id)
    project = item.project
    if label not in project.labels:
        raise ResolveRefused(f"Pick one of the project's labels: {', '.join(project.labels)}.")
    if item.is_gold:
        raise ResolveRefused("A gold item already has its known label.")
    names = ["state", "final_label", "label_source"]
    before = {name: getattr(item, name) for name in names}
    now = timezone.now()
    item.final_label = label
    item.posterior = {name: float(name == label) for name in project.labels}
    item.final_confidence = 1.0
    item.label_source = source
    item.state = Item.State.RESOLVED
    if source == Item.Source.ADMIN:
        item.review_action = Item.ReviewAction.RESOLVED
    item.resolved_by = by
    item.resolved_at = now
    item.save()
    closed = _close_hit(item, now)
    changes = field_changes(before, {name: getattr(item, name) for name in names}, names)
    changes["leases_closed"] = closed
    audit_record(
        project_id=item.project_id,
        actor=by,
        action=AuditEvent.Action.ITEM_RESOLVE,
        obj=item,
        changes=changes,
    )
    project_id = item.project_id
    labels_changed(project_id=project_id, item_ids=[item.pk])  # its callback, if predicted
    if source == Item.Source.ADMIN:
        transaction.on_commit(lambda: aggregation_enqueue(project_id=project_id))
    return item


@transaction.atomic
def item_mark_ambiguous(*, item_id: int, by: User) -> Item:
    """The item cannot be decided: it leaves the review queue, gets no more answers (its live
    leases close) and is never used for training (apps.models.services.training excludes the
    state)."""
    item = _lock_review_item(item_id)
    closed = _close_hit(item, timezone.now())
    item.state = Item.State.AMBIGUOUS
    changes = {"state": [Item.State.NEEDS_REVIEW, item.state], "leases_closed": closed}
    action, event = Item.ReviewAction.AMBIGUOUS, AuditEvent.Action.ITEM_AMBIGUOUS
    _record_review(item, action, by, event, changes)
    return item


def _close_hit(item: Item, now: datetime) -> int:
    """Close the item's open HIT and end its live leases as CLOSED (their submit gets 410
    `task_closed`, unpaid). Lock order: the item (held), its leases, then the HIT. A lease
    taken between our two locks is refused at its submit, which finds the item settled.
    Returns the leases closed."""
    leases = Assignment.objects.filter(hit__item=item, state=Assignment.State.LEASED)
    lease_ids = list(
        leases.select_for_update(no_key=True).order_by("pk").values_list("pk", flat=True)
    )
    hit_ids = list(HIT.objects.filter(item=item).values_list("pk", flat=True))
    lock_in_id_order(HIT, hit_ids)
    closed = Assignment.objects.filter(pk__in=lease_ids, state=Assignment.State.LEASED).update(
        state=Assignment.State.CLOSED, finished_at=now
    )
    HIT.objects.filter(pk__in=hit_ids, state=HIT.State.OPEN).update(
        state=HIT.State.DONE, updated_at=now
    )
    hit_slots_recount(hit_ids=hit_ids)
    return closed


# --- Back to people -----------------------------------------------------------------------------


@transaction.atomic
def item_send_back(*, item_id: int, more: int, by: User) -> Item:
    """Reopen the item's HIT for `more` answers beyond those submitted, letting it exceed the
    project's max_overlap by as much (HIT.extra_answers, which consensus honours). Refused
    (NoWorkerLeft, 400) when fewer than `more` workers are left who may answer it: it would
    wait forever."""
    if not isinstance(more, int) or isinstance(more, bool) or not 1 <= more <= MAX_MORE_ANSWERS:
        message = f"Ask for 1 to {MAX_MORE_ANSWERS} more answers."
        raise InvalidInput(message, errors={"more": [message]})
    item = _lock_review_item(item_id)
    project = item.project
    hit = HIT.objects.filter(item=item, is_gold=False).first()
    if hit is None:
        raise ResolveRefused("This item has no HIT to send back.", "item")
    _check_workers_left(project, item, hit, more)
    priority = _reopen_priorities(project, [item.pk])[item.pk]
    lock_in_id_order(HIT, [hit.pk])
    counted = Assignment.objects.filter(hit=hit, superseded_by__isnull=True)
    submitted = counted.filter(state=Assignment.State.SUBMITTED).count()
    wanted_before = hit.answers_wanted
    HIT.objects.filter(pk=hit.pk).update(
        answers_wanted=submitted + more,
        extra_answers=max(submitted + more - project.max_overlap, hit.extra_answers),
        state=HIT.State.OPEN,
        held=False,
        priority=priority,
        updated_at=timezone.now(),
    )
    hit_slots_recount(hit_ids=[hit.pk])
    item.state = Item.State.WAITING
    changes = {
        "state": [Item.State.NEEDS_REVIEW, item.state],
        "answers_wanted": [wanted_before, submitted + more],
        "priority": priority,
    }
    action, event = Item.ReviewAction.MORE_ANSWERS, AuditEvent.Action.ITEM_SEND_BACK
    _record_review(item, action, by, event, changes)
    return item


def _check_workers_left(project: Project, item: Item, hit: HIT, more: int) -> None:
    """Enough answers can still come: from workers who may answer it, or leases live now."""
    left = eligible_worker_count(project=project, item_ids=[item.pk])[item.pk]
    live = Assignment.objects.filter(
        hit=hit, state=Assignment.State.LEASED, lease_expires_at__gt=timezone.now()
    ).count()
    if left + live == 0:
        raise NoWorkerLeft(
            "No worker is left who may answer this item: every worker who may work on this "
            "project has answered it or is blocked. Resolve it or mark it ambiguous instead."
        )
    if left + live < more:
        raise NoWorkerLeft(
            f"Only {left + live} more answer(s) can come for this item (the other workers "
            f"have answered it or are blocked); ask for at most {left + live}."
        )


def items_requeue(*, project: Project, version: GuidelineVersion, item_ids: Iterable[int]) -> int:
    """A guideline publish re-queues these items (services/guidelines.py): their answers and
    assignments are superseded by `version` (they leave the consensus and the "never the same
    HIT twice" rule), live leases end, and each HIT reopens for `min_overlap` new answers at
    the place in the queue a new HIT gets. Call inside the publish's transaction."""
    ids = sorted(set(item_ids))
    if not ids:
        return 0
    # Scored before any lock is taken: the model's predictions are the slow part.
    priority = _reopen_priorities(project, ids)
    now = timezone.now()
    counting = Assignment.objects.filter(
        hit__item_id__in=ids,
        superseded_by__isnull=True,
        state__in=[Assignment.State.LEASED, Assignment.State.SUBMITTED],
    )
    # Lock order of every writer (hitlcrowd.locking): items, assignments, then HITs.
    lock_in_id_order(Item, ids)
    list(counting.select_for_update().order_by("pk").values_list("pk"))
    hits = HIT.objects.filter(item_id__in=ids, is_gold=False)
    hit_rows = list(hits.select_for_update().order_by("pk").values_list("pk", "item_id"))
    Answer.objects.filter(item_id__in=ids, superseded_by__isnull=True).update(superseded_by=version)
    # A lease taken under the old version would answer under it: it ends here.
    counting.filter(state=Assignment.State.LEASED).update(
        state=Assignment.State.EXPIRED, finished_at=now, superseded_by=version
    )
    counting.update(superseded_by=version)
    Item.objects.filter(pk__in=ids).update(
        state=Item.State.WAITING,
        final_label="",
        label_source="",
        posterior=None,
        final_confidence=None,
        consensus_method="",
        aggregation_run=None,
        updated_at=now,
    )
    hit_ids = [pk for pk, _ in hit_rows]
    HIT.objects.filter(pk__in=hit_ids).update(
        answers_wanted=project.min_overlap, state=HIT.State.OPEN, updated_at=now
    )
    _write_locked_priorities({pk: priority[item_id] for pk, item_id in hit_rows})
    hit_slots_recount(hit_ids=hit_ids)
    return len(ids)


def _write_locked_priorities(priorities: dict[int, float]) -> None:
    """Give HITs the caller holds locked their priorities in one statement (one per row made
    a re-queue of 13k items 5x slower: bench/guidelines.py)."""
    if not priorities:
        return
    values = set(priorities.values())
    if len(values) == 1:  # no model: every re-opened HIT gets the import's priority
        HIT.objects.filter(pk__in=list(priorities)).update(priority=values.pop())
    else:
        update_rows([HIT(pk=pk, priority=p) for pk, p in priorities.items()], "priority")


@transaction.atomic
def items_auto_labels_reopen(*, project: Project, item_ids: Iterable[int]) -> int:
    """Auto-labels sent back to people: the requester raised the accuracy wanted or the
    threshold, and the models app chose the items below it (auto_labels_recheck). Each waits
    for people again, its model label cleared (the prediction stays), its HIT reopened (or
    made) for min_overlap answers at the queue place new HITs get. An item no longer
    auto-labeled meanwhile is left alone. Returns the items sent back."""
    ids = sorted(set(item_ids))
    if not ids:
        return 0
    # Scored before any lock is taken: the model's predictions are the slow part.
    priority = _reopen_priorities(project, ids)
    lock_in_id_order(Item, ids)
    reopened = list(_model_labeled(project, ids).values_list("pk", flat=True))
    if not reopened:
        return 0
    now = timezone.now()
    hits = dict(
        HIT.objects.filter(item_id__in=reopened)
        .select_for_update(no_key=True)
        .order_by("pk")
        .values_list("item_id", "pk")
    )
    Item.objects.filter(pk__in=reopened).update(
        state=Item.State.WAITING,
        final_label="",
        final_confidence=None,
        label_source="",
        updated_at=now,
    )
    wanted = project.min_overlap
    # Re-opened like a new HIT: open to people (the pacing holds it if its window is full).
    HIT.objects.filter(pk__in=list(hits.values())).update(
        state=HIT.State.OPEN, held=False, updated_at=now
    )
    _write_locked_priorities({hit_id: priority[item_id] for item_id, hit_id in hits.items()})
    # An audit HIT may already want more; a cancelled one wants at least min_overlap again.
    HIT.objects.filter(pk__in=list(hits.values()), answers_wanted__lt=wanted).update(
        answers_wanted=wanted
    )
    HIT.objects.bulk_create(
        [
            HIT(item_id=pk, project=project, answers_wanted=wanted, priority=priority[pk])
            for pk in reopened
            if pk not in hits
        ]
    )
    hit_slots_recount(hit_ids=hits.values())
    if Answer.objects.counted().filter(item_id__in=reopened).exists():
        # An audited item people answered: its HIT may be full, and only a consensus run
        # decides whether it is done or wants more (until then nobody may be served it).
        transaction.on_commit(lambda: aggregation_enqueue(project_id=project.pk))
    return len(reopened)


@dataclass
class AutoLabelsRescored:
    """What `items_auto_labels_rescore` did, by item id."""

    kept: list[int] = field(default_factory=list)  # still auto-labeled, new score (and label)
    relabeled: list[int] = field(default_factory=list)  # of `kept`, those whose label changed
    reopened: list[int] = field(default_factory=list)  # back to people


def items_auto_labels_rescore(
    *, project: Project, model_version: str, rows: Sequence[ScoredRow]
) -> AutoLabelsRescored:
    """A newer model's scores for items a model auto-labeled: an auto-label is a model's
    label, not a person's, so a better model may replace it. Route AUTO keeps the item
    auto-labeled with the new label and confidence; route PEOPLE sends it back to people
    (`items_auto_labels_reopen`). Items no longer auto-labeled by a model are left alone.
    APPLY_BATCH rows per transaction."""
    unknown = {row.route for row in rows} - {AUTO, PEOPLE}
    if unknown:
        raise ValueError(f"auto-labels are routed {AUTO} or {PEOPLE}, not {sorted(unknown)}")
    ordered = sorted(rows, key=lambda row: row.item_id)
    done = AutoLabelsRescored()
    for start in range(0, len(ordered), APPLY_BATCH):
        batch = ordered[start : start + APPLY_BATCH]
        kept, relabeled = retry_on_lock_conflict(
            lambda batch=batch: _auto_labels_rescore_batch(project, model_version, batch)
        )
        done.kept += kept
        done.relabeled += relabeled
    back = [row.item_id for row in ordered if row.route == PEOPLE]
    if back:
        reopened = set(_auto_labels_reopen_ids(project, back, model_version, ordered))
        done.reopened = [pk for pk in back if pk in reopened]
    return done


@transaction.atomic
def _auto_labels_rescore_batch(
    project: Project, version: str, rows: Sequence[ScoredRow]
) -> tuple[list[int], list[int]]:
    keep = {row.item_id: row for row in rows if row.route == AUTO}
    lock_in_id_order(Item, list(keep))
    current = dict(_model_labeled(project, list(keep)).values_list("pk", "final_label"))
    now = timezone.now()
    kept = [keep[pk] for pk in sorted(current)]
    _write_predictions(kept, version, now)
    _write_auto_labels(kept, now)
    relabeled = [row.item_id for row in kept if row.label != current[row.item_id]]
    if relabeled:
        labels_changed(project_id=project.pk, item_ids=relabeled)  # callbacks owed, if any
    return [row.item_id for row in kept], relabeled


def _model_labeled(project: Project, item_ids: Sequence[int]) -> QuerySet[Item]:
    """Those of `item_ids` a model still labels (auto-labeled, not since taken by people)."""
    return Item.objects.filter(
        pk__in=item_ids,
        project=project,
        state=Item.State.AUTO_LABELED,
        label_source=Item.Source.MODEL,
    )


def _auto_labels_reopen_ids(
    project: Project, item_ids: list[int], version: str, rows: Sequence[ScoredRow]
) -> list[int]:
    """Send back the items of `item_ids` still auto-labeled by a model, with the newer
    model's prediction stored. Returns the ids sent back."""
    still = list(_model_labeled(project, item_ids).values_list("pk", flat=True))
    if not still:
        return []
    by_id = {row.item_id: row for row in rows}
    _write_predictions([by_id[pk] for pk in sorted(still)], version, timezone.now())
    items_auto_labels_reopen(project=project, item_ids=still)
    # items_auto_labels_reopen skips items that changed meanwhile: report what it moved.
    return list(
        Item.objects.filter(pk__in=still, state=Item.State.WAITING).values_list("pk", flat=True)
    )


def _reopen_priorities(project: Project, item_ids: list[int]) -> dict[int, float]:
    """The place in the queue a re-opened item gets: the rule new HITs get (finding 14 of
    issue 13: re-queued HITs kept priority 0, below every HIT the model had ranked)."""
    return item_queue_priorities(project=project, item_ids=item_ids)


@transaction.atomic
def items_review_suspected(*, project: Project, item_ids: Iterable[int]) -> list[int]:
    """Crowd labels a model confidently contradicts (out of fold) go to the admins' review
    queue with `review_reason` suspected_error; the label stays until an admin decides. Only
    items still settled by the crowd move (their HIT is done already). Returns those moved."""
    ids = sorted(set(item_ids))
    lock_in_id_order(Item, ids)
    moved = list(
        Item.objects.filter(
            pk__in=ids,
            project=project,
            state=Item.State.CONSENSUS,
            label_source=Item.Source.CROWD,
        ).values_list("pk", flat=True)
    )
    Item.objects.filter(pk__in=moved).update(
        state=Item.State.NEEDS_REVIEW,
        review_reason=Item.ReviewReason.SUSPECTED_ERROR,
        updated_at=timezone.now(),
    )
    return moved


# --- Review bookkeeping -------------------------------------------------------------------------


def _lock_review_item(item_id: int) -> Item:
    item = Item.objects.select_for_update().select_related("project").get(pk=item_id)
    if item.state != Item.State.NEEDS_REVIEW:
        raise ResolveRefused(f"Only items needing review; this one is {item.state}.")
    return item


def _record_review(item: Item, action: str, by: User, event: str, changes: dict) -> None:
    item.review_action = action
    item.resolved_by = by
    item.resolved_at = timezone.now()
    item.save(update_fields=["state", "review_action", "resolved_by", "resolved_at", "updated_at"])
    audit_record(project_id=item.project_id, actor=by, action=event, obj=item, changes=changes)


# --- Pacing (apps/models/services/pacing.py decides when; this writes) ------------------------


def hits_pace(*, project: Project, cap: int, release: bool) -> int:
    """Keep at most `cap` of the project's real HITs open to people; the others are `held`
    (open, never served). With `release` (the model has caught up with people's labels), the
    window is re-ranked: untouched HITs compete with the held ones under their latest
    priorities and the best open until `cap` are open; without it, only the excess beyond
    `cap` is held, the least informative first. `cap` 0 turns pacing off: every held HIT
    opens. A HIT with a slot taken is never held (a worker holds a lease on it or answered
    it). HITs are picked with SKIP LOCKED: one a claim is taking right now stays as it is.
    Returns the HITs opened to people."""
    now = timezone.now()
    people = HIT.objects.filter(project=project, is_gold=False, state=HIT.State.OPEN)
    if cap == 0:  # index hit_held_by_priority: no scan of the project's HITs
        return people.filter(held=True).update(held=False, updated_at=now)
    with transaction.atomic():
        untouched = people.filter(held=False, slots_taken=0)
        if release:
            _set_held(untouched, True, now)
        in_hand = people.filter(held=False).count()
        if not release:
            excess = in_hand - cap
            if excess > 0:
                _set_held(untouched.order_by("priority", "-id")[:excess], True, now)
            return 0
        best = people.filter(held=True).order_by("-priority", "id")[: max(cap - in_hand, 0)]
        return _set_held(best, False, now)


def _set_held(hits: QuerySet[HIT], held: bool, now: datetime) -> int:
    ids = list(hits.select_for_update(skip_locked=True, no_key=True).values_list("pk", flat=True))
    changed = HIT.objects.filter(pk__in=ids, held=not held)
    if held:
        changed = changed.filter(slots_taken=0)
    return changed.update(held=held, updated_at=now)


# --- Expiry and the answers wanted, for HITs that expire (apps/mturk) -------------------------


def hits_expire_due(*, now: datetime | None = None) -> int:
    """Close open HITs past their `expires_at` (state `expired`): they leave the claim's index,
    so expired HITs never pile up in front of live ones. The claim refuses them from the
    moment they expire anyway (apps.tasks.sql); this keeps it constant-time. APPLY_BATCH per
    transaction, HITs a claim holds skipped (the next sweep takes them). Their projects'
    consensus is queued: no answer can come to an expired HIT, so its item is decided on the
    answers it has (consensus/overlap.py) instead of waiting for a run only another answer
    would start. Returns how many."""
    now = now or timezone.now()
    due = HIT.objects.filter(state=HIT.State.OPEN, expires_at__lte=now)  # index hit_expiry
    total, projects = 0, set()
    while True:
        with transaction.atomic():
            ids = list(
                due.select_for_update(skip_locked=True, no_key=True)
                .order_by("pk")
                .values_list("pk", flat=True)[:APPLY_BATCH]
            )
            expired = HIT.objects.filter(pk__in=ids, state=HIT.State.OPEN)
            projects.update(expired.values_list("project_id", flat=True).distinct())
            total += expired.update(state=HIT.State.EXPIRED, updated_at=now)
        if len(ids) < APPLY_BATCH:
            break
    consensus_after_expiry(projects)
    return total


def consensus_after_expiry(project_ids: Iterable[int]) -> None:
    """Queue the consensus of projects where an expired HIT can take no more answers."""
    for project_id in sorted(project_ids):
        aggregation_enqueue(project_id=project_id)


@transaction.atomic
def hit_expiry_set(*, hit_id: int, expires_at: datetime) -> HIT:
    """Serve the HIT until `expires_at`: a past time ends it now (live leases may still be
    answered until their own deadline), a later one opens it again if it wants answers."""
    hit = HIT.objects.select_for_update().get(pk=hit_id)
    hit.expires_at = expires_at
    hit = _settle_expiring(hit)
    if hit.state == HIT.State.EXPIRED:
        transaction.on_commit(lambda: consensus_after_expiry([hit.project_id]))
    return hit


@transaction.atomic
def hit_answers_add(*, hit_id: int, more: int) -> HIT:
    """The HIT wants `more` answers (from distinct workers) than it did; a full one opens
    again unless it expired."""
    if more < 1:
        raise ValueError("a HIT wants at least one more answer")
    hit = HIT.objects.select_for_update().get(pk=hit_id)
    hit.answers_wanted += more
    return _settle_expiring(hit)


def _settle_expiring(hit: HIT) -> HIT:
    """State of a HIT with an expiry, from its rows: done when its submitted answers fill it,
    else expired past its time, else open. A cancelled HIT stays cancelled."""
    if hit.state != HIT.State.CANCELLED:
        if hit_submitted_count(hit.pk) >= hit.answers_wanted:
            hit.state = HIT.State.DONE
        elif hit.expires_at is not None and hit.expires_at <= timezone.now():
            hit.state = HIT.State.EXPIRED
        else:
            hit.state = HIT.State.OPEN
    hit.save(update_fields=["expires_at", "answers_wanted", "state", "updated_at"])
    return hit
