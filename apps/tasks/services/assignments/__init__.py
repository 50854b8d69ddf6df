"""Workers take tasks: claim a lease on a HIT, submit an answer, skip, let leases expire.

The contract, as Mechanical Turk kept it:
- a worker never gets the same HIT twice (unique (hit, worker); skipped and expired count);
- a HIT never has more live plus submitted assignments than `answers_wanted` (gold excepted);
- an expired lease gives its slot back;
- a worker holds at most one live lease per project (asking again returns the same one).
- gold is mixed into a worker's real work, never served alone (the qualification test aside).

`HIT.slots_taken` is bumped by the claim statement itself and recomputed from the assignment
rows whenever a slot comes back, so it cannot drift the way signal-kept counters do.

Lock order everywhere: assignment row, then HIT row. The claim SKIP LOCKs HITs, so it never
waits on a submit, skip or expiry; only when that found nothing does its last attempt wait
(CLAIM_LOCK_WAIT at most) for HITs held by others, so that locked never reads as empty.

The package, by seam (callers import from the module that owns a name; nothing is
re-exported here):
- `claim.py`: a new or the live lease (`assignment_claim`), the claim's retries and lock wait;
- `gold.py`: gold and the qualification test: which pools a claim tries (`gold_plan`), the
  test's score, an item made gold (`item_mark_gold`);
- `leases.py`: a worker's own assignment: its live lease, loaded, locked and checked, and the
  refusal of a worker blocked meanwhile;
- `submit.py`: an answer recorded and paid (`assignment_submit`);
- `skip.py`: a slot given back by the worker (`assignment_skip`);
- `slots.py`: `slots_taken` recomputed (`hit_slots_recount`) and leases expired
  (`assignment_expire_due`; a deactivated account's at once, `assignment_release_for_worker`).
"""
