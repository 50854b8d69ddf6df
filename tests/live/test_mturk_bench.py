"""bench/mturk.py at CI size: boto3 against gunicorn on the test database, every phase run
and its counts right (the figures themselves are the benchmark's, docs/benchmarks-mturk.md)."""

from __future__ import annotations

import mturk
import pytest


@pytest.mark.postgres
def test_a_tiny_mturk_bench_runs_every_phase(live_dsn):
    config = mturk.BenchConfig(
        create=12,
        concurrency=(1, 3),
        sizes=(40, 90),
        workers=15,
        page=10,
        repeats=3,
        gunicorn_workers=1,
        gunicorn_threads=3,
        quiet=True,
    )

    report = mturk.run_bench(config, live_dsn)

    print(report.summary())
    assert [r["count"] for r in report.create] == [12, 12]
    assert all(r["per_s"] > 0 for r in report.create)
    assert [s["hits"] for s in report.sizes] == [40, 90]
    for size in report.sizes:
        assert size["GetHIT"]["n"] == 3
        hits = size["walks"]["ListHITs"]
        assert (hits["rows"], hits["pages"]) == (size["hits"], -(-size["hits"] // 10))
        assert hits["end"]["p50"] > 0
        assignments = size["walks"]["ListAssignmentsForHIT"]
        if assignments is not None:  # None while the server lacks the operation
            assert (assignments["rows"], assignments["pages"]) == (15, 2)
