"""The tasks app's raw SQL, in one place: the hot paths where compiling the ORM query cost
more CPU than running it (next task, submit), and the claim, which the ORM cannot say in one
statement. Each statement's comment says why it is raw and which index it relies on.

Table names come from the models' `_meta` (formatted in once, at import); the column lists
the rows are read with come from `hitlcrowd.rawrows.RowReader`. Statements run through
`hot_cursor()` (prepared on PostgreSQL: each text is planned once per connection).

The claim is one rule written twice, and both are here side by side: the PostgreSQL statement
(`claim_take`: SKIP LOCKED, one round trip) and the portable ORM version SQLite runs
(`claim_take_portable`: IMMEDIATE transactions serialize writers). tests/tasks/test_claim_rules.py
runs the same rules against both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Now

from apps.crowds.models import Membership
from apps.models.models import LearningSettings
from apps.mturk.models import HITType
from apps.panels.models import PanelLink, PanelParticipant
from apps.tasks.models import (
    HIT,
    AggregationState,
    Assignment,
    GuidelineAcknowledgement,
    GuidelineVersion,
    Item,
    Project,
)
from apps.workers.models import Block, User, WorkerStats
from hitlcrowd.rawrows import RowReader, hot_cursor, read_row

# What a task shows of its item (selectors.assignments.task_for_worker, suggestion_of).
TASK_ITEM_FIELDS = ("id", "project_id", "payload", "prediction", "confidence", "state")
GUIDELINE_FIELDS = ("id", "project_id", "number", "text")

TABLES = {
    "assignment": Assignment._meta.db_table,
    "hit": HIT._meta.db_table,
    "item": Item._meta.db_table,
    "project": Project._meta.db_table,
    "guideline": GuidelineVersion._meta.db_table,
    "ack": GuidelineAcknowledgement._meta.db_table,
    "aggregation_state": AggregationState._meta.db_table,
    "settings": LearningSettings._meta.db_table,
    "block": Block._meta.db_table,
    "panel_link": PanelLink._meta.db_table,
    "panel_participant": PanelParticipant._meta.db_table,
    "stats": WorkerStats._meta.db_table,
    "project_groups": Project.groups.through._meta.db_table,
    "membership": Membership._meta.db_table,
    "hit_type": HITType._meta.db_table,
}
_GROUP_COLUMN = Project.groups.through._meta.get_field("workergroup").column
_PROJECT_COLUMN = Project.groups.through._meta.get_field("project").column

# --- Visibility --------------------------------------------------------------------------------

# THE visibility rule in SQL, for the raw statements of the hot path; its ORM twin and the
# rule in words are in apps/tasks/selectors/visibility.py (change both, and nothing else). On
# the project aliased `p`, for the worker of one %s parameter (bound once, as `w.id`). A panel
# identity (a participant record: the unique index on its user) sees its link's project and
# nothing else; any other worker sees a public project by its own column (OR short-circuits)
# and a private one through a probe of its groups (the M2M's unique (project_id,
# workergroup_id) index) and, per group, membership_unique (group_id, worker_id).
VISIBLE_SQL = """EXISTS (
    SELECT 1 FROM (SELECT CAST(%s AS bigint) AS id) w
    LEFT JOIN {panel_participant} vpp ON vpp.user_id = w.id
    LEFT JOIN {panel_link} vpl ON vpl.id = vpp.link_id
    WHERE CASE WHEN vpp.id IS NOT NULL THEN vpl.project_id = p.id
          ELSE (p.visibility = 'public' OR EXISTS (
              SELECT 1 FROM {project_groups} pg
              JOIN {membership} m ON m.group_id = pg.{group_column}
              WHERE pg.{project_column} = p.id AND m.worker_id = w.id
          )) END
)""".format(group_column=_GROUP_COLUMN, project_column=_PROJECT_COLUMN, **TABLES)


def _for_update(alias: str) -> str:
    # SQLite has no row locks: its IMMEDIATE transactions serialize the writers instead.
    return f" FOR UPDATE OF {alias}" if connection.vendor == "postgresql" else ""


# --- Claim -----------------------------------------------------------------------------------

# One statement: unless the worker already holds a lease here, pick the best free HIT they
# never had, lock it (skipping HITs other claims hold), take a slot and insert the lease.
# Index hit_next_task serves the ORDER BY; the first NOT EXISTS probes the assignments of
# that HIT (index on hit_id) once per candidate. Its OFFSET 0 stops the planner from turning
# it into an anti-join, which at 1M assignments became a merge anti-join over the whole index
# (~50 claims/s instead of ~1,000/s). The second NOT EXISTS probes assignment_one_live_lease.
# A HIT past its expires_at (an MTurk HIT's lifetime; NULL on native HITs) is never taken: the
# check is on the row the index scan already fetched, and the expiry sweep
# (services/items.py, hits_expire_due) takes expired HITs out of the index every minute, so
# they cannot pile up in front of live ones.
# The statement returns the new assignment with what the task shows (item, guideline), so the
# response needs no second query. {real_left} is empty, or, for a gold claim outside the
# qualification test, _REAL_LEFT_SQL. {one_hit} is empty, or _ONE_HIT_SQL for the accept of
# one HIT (an MTurk worker accepts the HIT they previewed): the same rules on that row alone,
# found by its primary key, so the slot accounting, the lock and the lease are the claim's.
_CLAIM_SQL = """
WITH candidate AS (
    SELECT h.id, h.is_gold FROM {hit} h
    WHERE h.project_id = %(project)s AND h.is_gold = %(gold)s AND h.state = 'open'
      AND NOT h.held AND h.slots_taken < h.answers_wanted
      AND (h.expires_at IS NULL OR h.expires_at > %(now)s){one_hit}
      AND NOT EXISTS (
          SELECT 1 FROM {assignment} a
          WHERE a.hit_id = h.id AND a.worker_id = %(worker)s AND a.superseded_by_id IS NULL
          OFFSET 0
      )
      AND NOT EXISTS (
          SELECT 1 FROM {assignment} l
          WHERE l.worker_id = %(worker)s AND l.project_id = %(project)s AND l.state = 'leased'
      ){real_left}
    ORDER BY h.priority DESC, h.answers_wanted - h.slots_taken, h.id
    LIMIT 1
    FOR UPDATE OF h {skip_locked}
), taken AS (
    UPDATE {hit} SET slots_taken = {hit}.slots_taken + 1, updated_at = %(now)s
    FROM candidate WHERE {hit}.id = candidate.id AND NOT candidate.is_gold
), inserted AS (
    INSERT INTO {assignment} (hit_id, project_id, worker_id, state, guideline_version_id,
                              leased_at, lease_expires_at, skip_reason)
    SELECT id, %(project)s, %(worker)s, 'leased', (
        SELECT g.id FROM {guideline} g
        WHERE g.project_id = %(project)s AND g.published_at IS NOT NULL
        ORDER BY g.number DESC LIMIT 1
    ), %(now)s, %(expires)s, ''
    FROM candidate
    RETURNING *
)
SELECT {columns}
FROM inserted a
JOIN {hit} h ON h.id = a.hit_id
JOIN {item} i ON i.id = h.item_id
LEFT JOIN {guideline} g ON g.id = a.guideline_version_id
"""

# Gold is served only while the worker has real work left: the first real HIT the real claim
# would consider (same index, same probe of the worker's assignments). It does not depend on
# the candidate, so PostgreSQL runs it once per statement (an InitPlan), as cheap as a real
# claim's own scan. Without it an idle worker was fed gold until none was left (issue 13:
# ~540 of 664 gold answers in a digits run came after the real work was done).
_REAL_LEFT_SQL = """
      AND EXISTS (
          SELECT 1 FROM {hit} r
          WHERE r.project_id = %(project)s AND r.is_gold = false AND r.state = 'open'
            AND NOT r.held AND r.slots_taken < r.answers_wanted
            AND (r.expires_at IS NULL OR r.expires_at > %(now)s)
            AND NOT EXISTS (
                SELECT 1 FROM {assignment} m
                WHERE m.hit_id = r.id AND m.worker_id = %(worker)s AND m.superseded_by_id IS NULL
                OFFSET 0
            )
      )""".format(**TABLES)


_ONE_HIT_SQL = "\n      AND h.id = %(hit)s"


def claim_sql(*, real_left: bool = False, wait: bool = False, one_hit: bool = False) -> str:
    """The PostgreSQL claim statement (params: project, gold, worker, now, expires, and hit
    with `one_hit`); its row is the new assignment, its HIT, item and guideline, as
    `claim_take` reads them. With `real_left`, a gold HIT is taken only while real work is
    left for the worker; with `one_hit`, only the HIT `hit` (our HIT's id). It skips HITs
    other transactions hold; with `wait`, it waits for them (the claim's last attempt)."""
    return _CLAIM_SQL.format(
        columns=", ".join(reader.columns for reader in _claim_readers()),
        real_left=_REAL_LEFT_SQL if real_left else "",
        one_hit=_ONE_HIT_SQL if one_hit else "",
        skip_locked="" if wait else "SKIP LOCKED",
        **TABLES,
    )


def _claim_readers() -> tuple[RowReader, RowReader, RowReader, RowReader]:
    return (
        RowReader.of(Assignment, "a"),
        RowReader.of(HIT, "h", ["id", "item_id", "project_id"]),
        RowReader.of(Item, "i", TASK_ITEM_FIELDS),
        RowReader.of(GuidelineVersion, "g", GUIDELINE_FIELDS),
    )


def claim_take(
    *,
    worker: User,
    project: Project,
    gold: bool,
    real_left: bool,
    now: datetime,
    expires: datetime,
    wait: bool = False,
    lock_wait: str,
    hit_id: int | None = None,
) -> Assignment | None:
    """The claim on PostgreSQL: the new lease with its HIT, item, guideline and `project`
    attached (as a select_related load would give it, without its three look-ups), or None.
    With `wait`, it waits up to `lock_wait` for HITs other transactions hold; with `hit_id`,
    it takes that HIT or nothing."""
    params = {"project": project.pk, "gold": gold, "worker": worker.pk}
    params |= {"now": now, "expires": expires}
    if hit_id is not None:
        params["hit"] = hit_id
    readers = _claim_readers()
    if wait:
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{lock_wait}'")
    with hot_cursor() as cursor:
        statement = claim_sql(real_left=real_left, wait=wait, one_hit=hit_id is not None)
        cursor.execute(statement, params)
        row = cursor.fetchone()
    if row is None:
        return None
    (assignment, hit, item, guideline), _ = read_row(row, *readers)
    hit.item = item
    assignment.hit = hit
    assignment.project = project
    assignment.guideline_version = guideline if assignment.guideline_version_id else None
    return assignment


def claim_take_portable(
    *,
    worker: User,
    project: Project,
    gold: bool,
    real_left: bool,
    now: datetime,
    expires: datetime,
    hit_id: int | None = None,
) -> int | None:
    """The same claim for SQLite, where IMMEDIATE transactions serialize writers: the new
    assignment's id, or None. With `hit_id`, that HIT or nothing."""
    live = Assignment.objects.filter(worker=worker, project=project, state=Assignment.State.LEASED)
    if live.exists():
        return None
    if real_left and not free_hits(worker_id=worker.pk, project=project, gold=False).exists():
        return None  # no real work left for the worker: no gold either (_REAL_LEFT_SQL)
    guideline = (
        GuidelineVersion.objects.filter(project=project, published_at__isnull=False)
        .order_by("-number")
        .first()
    )
    free = free_hits(worker_id=worker.pk, project=project, gold=gold)
    if hit_id is not None:
        free = free.filter(pk=hit_id)
    hit = free.order_by("-priority", F("answers_wanted") - F("slots_taken"), "id").first()
    if hit is None:
        return None
    if not gold:
        HIT.objects.filter(pk=hit.pk).update(slots_taken=F("slots_taken") + 1, updated_at=now)
    assignment = Assignment.objects.create(
        hit=hit,
        project=project,
        worker=worker,
        guideline_version=guideline,
        lease_expires_at=expires,
    )
    return assignment.pk


def free_hits(*, worker_id: int, project: Project, gold: bool) -> QuerySet[HIT]:
    """Open HITs of the pool with a free slot that the worker never had (the portable claim,
    and whether gold is left for a gold check: index hit_next_task)."""
    mine = Assignment.objects.filter(
        hit=OuterRef("pk"), worker_id=worker_id, superseded_by__isnull=True
    )
    live = Q(expires_at__isnull=True) | Q(expires_at__gt=Now())
    return HIT.objects.filter(
        live,
        project=project,
        is_gold=gold,
        state=HIT.State.OPEN,
        held=False,
        slots_taken__lt=F("answers_wanted"),
    ).exclude(Exists(mine))


# --- The project for a next-task request (selectors.assignments) ------------------------------

# Raw SQL read by RowReader: the ORM spent ~2 ms of CPU compiling this (wide model,
# subqueries) on every next-task request. Indexes: block_one_active(_everywhere,
# _for_requester: the project owner's block on all their projects), the learning
# settings' project key, guideline_number_unique, guideline_ack_unique, and the panel
# participant's unique user (its quota: NULL for a worker who is no panel identity here, 0
# once the participant is done), workerstats_unique; an MTurk project's HIT type by its unique
# project (its QualificationRequirements; a native project's CASE never runs the subquery); a
# project the worker may not see is no row (VISIBLE_SQL).
_PROJECT_FOR_CLAIM_SQL = """
SELECT {columns},
    (SELECT b.automatic FROM {block} b
     WHERE b.project_id = p.id AND b.worker_id = %s AND b.lifted_at IS NULL
     LIMIT 1) AS active_block_automatic,
    (SELECT b.reason FROM {block} b
     WHERE b.project_id = p.id AND b.worker_id = %s AND b.lifted_at IS NULL
     LIMIT 1) AS active_block_reason,
    (SELECT b.reason FROM {block} b
     WHERE b.project_id IS NULL AND b.requester_id IS NULL AND b.worker_id = %s
     AND b.lifted_at IS NULL LIMIT 1) AS everywhere_block_reason,
    EXISTS (SELECT 1 FROM {block} b WHERE b.requester_id = p.owner_id AND b.worker_id = %s
            AND b.lifted_at IS NULL) AS requester_blocked,
    EXISTS (SELECT 1 FROM {settings} s WHERE s.project_id = p.id AND s.pre_annotation)
        AS pre_annotation,
    g.number AS current_guideline_number,
    EXISTS (SELECT 1 FROM {ack} a WHERE a.guideline_id = g.id AND a.worker_id = %s)
        AS current_guideline_acknowledged,
    (SELECT CASE WHEN pp.completed_at IS NULL THEN l.quota ELSE 0 END
     FROM {panel_participant} pp JOIN {panel_link} l ON l.id = pp.link_id
     WHERE pp.user_id = %s AND l.project_id = p.id) AS panel_quota,
    (SELECT COALESCE(ws.gold_check_gold, 0) FROM {stats} ws
     WHERE ws.project_id = p.id AND ws.worker_id = %s AND ws.gold_check_at IS NOT NULL)
        AS gold_check_gold,
    CASE WHEN p.kind = '{mturk}' THEN (
        SELECT ht.qualification_requirements FROM {hit_type} ht WHERE ht.project_id = p.id
    ) END AS mturk_requirements
FROM {project} p
LEFT JOIN {guideline} g ON g.id = (
    SELECT g2.id FROM {guideline} g2
    WHERE g2.project_id = p.id AND g2.published_at IS NOT NULL
    ORDER BY g2.number DESC LIMIT 1
)
WHERE p.id = %s AND {visible}{open}
"""


def project_for_claim_row(
    *, worker_id: int, project_id: int, open_only: bool = True, fields: Sequence[str] | None = None
) -> tuple[Project, Sequence] | None:
    """The project (`fields` of it, default all; with `open_only`, only while open) with
    (block automatic, block reason, everywhere block reason, blocked by the owner,
    pre-annotation, current guideline number, acknowledged, panel quota, the worker's gold
    answers when their gold check began (None: not on one), an MTurk project's
    QualificationRequirements) for the worker, or None (also when the worker
    may not see it)."""
    reader = RowReader.of(Project, "p", fields)
    open_ = " AND p.is_open" if open_only else ""
    sql = _PROJECT_FOR_CLAIM_SQL.format(
        columns=reader.columns,
        open=open_,
        visible=VISIBLE_SQL,
        mturk=Project.Kind.MTURK,
        **TABLES,
    )
    with hot_cursor() as cursor:
        cursor.execute(sql, [worker_id] * 7 + [project_id, worker_id])
        row = cursor.fetchone()
    if row is None:
        return None
    (project,), extra = read_row(row, reader)
    return project, extra


# --- Submit ------------------------------------------------------------------------------------

# The worker's assignment, locked, with its project and guideline version, and the worker's
# block on the project: one raw query, the ORM's select_related compiled ~1 ms of CPU on every
# submit. The block probes are indexes block_one_active (project, worker WHERE lifted_at IS
# NULL), block_one_active_for_requester (the project owner's block, requester and worker) and
# block_one_active_everywhere (worker WHERE project_id IS NULL AND requester_id IS NULL AND
# lifted_at IS NULL): one row at most each, so the submit stays constant-time. `visible`:
# whether the worker may still see the project (VISIBLE_SQL): removed from its group, the
# assignment is theirs no more than another worker's.
_LOCK_OWN_SQL = """
SELECT {columns}, {visible} AS visible,
    (SELECT b.automatic FROM {block} b WHERE b.project_id = a.project_id
     AND b.worker_id = a.worker_id AND b.lifted_at IS NULL) AS blocked_automatic,
    (SELECT b.reason FROM {block} b WHERE b.project_id = a.project_id
     AND b.worker_id = a.worker_id AND b.lifted_at IS NULL) AS blocked_reason,
    (SELECT b.reason FROM {block} b WHERE b.project_id IS NULL AND b.requester_id IS NULL
     AND b.worker_id = a.worker_id AND b.lifted_at IS NULL) AS everywhere_reason,
    EXISTS (SELECT 1 FROM {block} b WHERE b.requester_id = p.owner_id
            AND b.worker_id = a.worker_id AND b.lifted_at IS NULL) AS requester_blocked
FROM {assignment} a
JOIN {project} p ON p.id = a.project_id
LEFT JOIN {guideline} g ON g.id = a.guideline_version_id
WHERE a.id = %s AND a.worker_id = %s{lock}
"""


def assignment_locked_row(
    *, assignment_id: int, worker_id: int
) -> tuple[Assignment, Project, GuidelineVersion, Sequence] | None:
    """The worker's assignment (locked), its project and guideline version, and (visible,
    block automatic, block reason, everywhere block reason, blocked by the project's owner);
    None when not the worker's."""
    readers = (
        RowReader.of(Assignment, "a"),
        RowReader.of(Project, "p"),
        RowReader.of(GuidelineVersion, "g", GUIDELINE_FIELDS),
    )
    sql = _LOCK_OWN_SQL.format(
        columns=", ".join(reader.columns for reader in readers),
        visible=VISIBLE_SQL,
        lock=_for_update("a"),
        **TABLES,
    )
    with hot_cursor() as cursor:
        cursor.execute(sql, [worker_id, assignment_id, worker_id])
        row = cursor.fetchone()
    if row is None:
        return None
    (assignment, project, guideline), extra = read_row(row, *readers)
    return assignment, project, guideline, extra


def hit_locked(hit_id: int) -> HIT:
    """The HIT, locked, with the item fields a task shows (the item is not locked):
    raw for the same reason as the rest of the submit."""
    hit_reader, item_reader = RowReader.of(HIT, "h"), RowReader.of(Item, "i", TASK_ITEM_FIELDS)
    sql = (
        f"SELECT {hit_reader.columns}, {item_reader.columns} FROM {TABLES['hit']} h "
        f"JOIN {TABLES['item']} i ON i.id = h.item_id WHERE h.id = %s{_for_update('h')}"
    )
    with hot_cursor() as cursor:
        cursor.execute(sql, [hit_id])
        row = cursor.fetchone()
    (hit, hit.item), _ = read_row(row, hit_reader, item_reader)
    return hit


# Raw and prepared, as the rest of the submit: the ORM compiled this count on every submit
# that fills a HIT (~7% of the submit's CPU).
_SUBMITTED_SQL = """
SELECT count(*) FROM {assignment}
WHERE hit_id = %s AND state = %s AND superseded_by_id IS NULL
""".format(**TABLES)


def hit_submitted_count(hit_id: int) -> int:
    """The HIT's submitted assignments that count (not superseded)."""
    with hot_cursor() as cursor:
        cursor.execute(_SUBMITTED_SQL, [hit_id, Assignment.State.SUBMITTED])
        return cursor.fetchone()[0]


# --- Consensus requests ----------------------------------------------------------------------

# Raw and prepared: this runs after every submit (the ORM compiled it each time).
_PENDING_SQL = """
SELECT 1 FROM {aggregation_state}
WHERE project_id = %s AND pending AND requested_at >= %s
""".format(**TABLES)


def aggregation_pending_since(*, project_id: int, fresh: datetime) -> bool:
    """Whether the project's run is requested, the request made at `fresh` or later."""
    with hot_cursor() as cursor:
        cursor.execute(_PENDING_SQL, [project_id, connection.ops.adapt_datetimefield_value(fresh)])
        return cursor.fetchone() is not None
