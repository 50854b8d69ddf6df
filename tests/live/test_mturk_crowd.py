"""A live MTurk crowd (bench/mturk_crowd.py): a requester's boto3 script, a categorical answer
field and a simulated crowd through the worker side, on gunicorn + a qcluster on PostgreSQL.

One run (80 images of the dog data set, ../shared/data/dog; 8 of its most active real workers
replayed, each answering what they answered, and one random spammer; MaxAssignments 3); each
test checks one invariant of its report, read before pytest-django empties the database.
"""

from __future__ import annotations

from decimal import Decimal

import mturk_crowd
import pytest

from tests.helpers.live import run_once

# The crowd takes 50-105 s on the shared 2-core machine (load 4-7); the cap leaves room.
CONFIG = mturk_crowd.CrowdConfig(hits=80, real_workers=8, spammers=1, port=8650, seconds=240)
# The consensus of 3 answers a HIT from these workers (each 60-78% right on the whole set)
# against the images' true breeds: 72.5-78.8% in five runs (docs/mturk.md), the majority vote of
# the same answers 72.5-80.0%. Which worker takes which HIT depends on timing, and on 80 items
# one run's accuracy has a standard error of ~5 points: the bars sit ~2 of them below.
CONSENSUS_FLOOR = 0.65
MAJORITY_MARGIN = 0.075  # never worse than majority vote by more than this (seen: 2.5 points)
# The spam-score rule (upper end of its 95% interval below 0.5, checked at 10, 16, 20, 30...
# answers) blocked a real worker who was 47-65% right in some runs: on 4 breeds that is little
# better than chance, so such a block is the rule doing its job. One who is right this often
# should not be. Without gold, the consensus they are judged against is noisy, and a first
# failure used to block: CI blocked a worker 90% right on their first 10 answers at the 10th.
# A failure short of clear is now rechecked 10 answers later (reliability.py, "The recheck");
# bench/recheck.py still counts about one such block in 15-60 offline replays of this crowd.
GOOD_WORKER = 0.70

pytestmark = pytest.mark.postgres
_runs: dict[str, mturk_crowd.Report | Exception] = {}


@pytest.fixture
def report(live_dsn) -> mturk_crowd.Report:
    if not mturk_crowd.dataset_available(CONFIG):
        pytest.skip(f"the dog data set is not at {mturk_crowd.DATA / 'dog'} (../shared/data)")
    return run_once(_runs, lambda: mturk_crowd.run_crowd(CONFIG, live_dsn), "the crowd run")


def test_every_hit_gets_max_assignments_distinct_workers(report):
    assert report.stopped_by == "done", report.summary()
    assert report.short_hits == [], report.summary()
    assert report.duplicate_workers == []
    assert report.submissions == report.hits * CONFIG.max_assignments


def test_the_assignments_carry_the_answers_the_workers_posted(report):
    assert report.answers_mismatched == []
    assert report.get_assignment_ok


def test_the_consensus_through_the_rest_api_agrees_with_gold(report):
    assert report.consensus_items == report.hits, report.summary()
    assert report.consensus_accuracy >= CONSENSUS_FLOOR, report.summary()
    assert report.consensus_accuracy >= report.majority_accuracy - MAJORITY_MARGIN


def test_the_rules_catch_the_spammer_and_block_no_good_worker(report):
    spammers = [w for w in report.workers if w["kind"] == "spammer"]
    good = [w for w in report.workers if w["kind"] == "real" and w["accuracy"] >= GOOD_WORKER]
    # Blocked, or failed a check short of clear and waiting for the recheck 10 answers later,
    # which 80 HITs do not always leave them (bench/recheck.py: 5 of 60 replays at 80 images).
    caught = [w for w in spammers if w["blocked_in_db"] or w["recheck_at"]]
    assert spammers and caught == spammers, report.summary()
    # A blocked worker's task page said so (403).
    assert all(w["blocked"] for w in spammers if w["blocked_in_db"]), report.summary()
    assert good and not any(w["blocked_in_db"] for w in good), report.summary()


def test_approving_and_rejecting_move_the_ledger(report):
    assert report.approved + report.rejected == report.submissions
    reward = Decimal(mturk_crowd.REWARD)
    before, after = report.balance_before, report.balance_after
    assert Decimal(after["OnHoldBalance"]) == 0
    assert Decimal(before["OnHoldBalance"]) == reward * report.submissions
    assert Decimal(report.spend_after) - Decimal(report.spend_before) == reward * report.approved
    assert Decimal(before["AvailableBalance"]) - Decimal(after["AvailableBalance"]) == (
        -reward * report.rejected
    )


def test_the_server_never_answers_with_an_error(report):
    assert report.server_errors == []
    assert report.unexpected == []


def test_no_state_invariant_is_broken_at_rest(report):
    assert report.invariants == {}
