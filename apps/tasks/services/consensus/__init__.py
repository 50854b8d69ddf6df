"""Consensus: aggregate a project's answers, store labels and posteriors, steer overlap.

The core (Dawid-Skene and the simpler methods, the overlap rule) is pure and lives in
`apps/tasks/aggregation.py`; this package feeds it from the database and writes back what it
decides. Callers import from the module that owns a name; nothing is re-exported here.

The package, by seam, in the order a run goes:
- `scheduling.py`: when a run happens: a request flag per project, coalesced (`aggregation_request`,
  `aggregation_enqueue`), claimed and drained by the job (`consensus_drain`), recovered when its
  job died and settled cold when it rests on warm starts (`consensus_recover_due`,
  `consensus_settle_due`);
- `run.py`: one run (`consensus_run`): read, aggregate, store, record the run;
- `reading.py`: what a run reads: the answers as arrays (`project_answers`), the known labels,
  the crowd's items;
- `warm.py`: warm starts: the confusion matrices a run leaves for the next and when the next
  may start from them;
- `store.py`: one transaction writing a run's results in lock order (`consensus_store`);
- `labels.py`: which items' label or posterior changed (`stale_rows`);
- `overlap.py`: dynamic overlap: per undecided item one more answer, done, or review
  (`overlap_rows`);
- `worker_stats.py`: per worker counts, agreement, skill and the block checks' evidence.
"""
