"""The short soak (bench/soak.py at CI size): the ledger's invariants, not its speed."""

from __future__ import annotations

import pytest
import soak


@pytest.mark.postgres
def test_a_short_soak_loses_doubles_and_overfills_nothing(live_dsn):
    config = soak.SoakConfig(
        workers=8,
        seconds=25,
        items=2000,
        lease_seconds=4,
        expirers=2,
        gunicorn_workers=2,
        gunicorn_threads=4,
        settle_seconds=60,
    )
    project, tokens = soak.seed_project(config)

    result = soak.run_soak(config, live_dsn, project, tokens)

    print(soak.report(config, result))
    assert result.broken == {}
    assert result.found["confirmed"] > 100
    actions = {intent.action for intent in result.ledger.intents.values()}
    assert {"submit", "retry", "drop", "skip", "expire"} <= actions
