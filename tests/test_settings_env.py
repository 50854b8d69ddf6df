"""Settings fail at start-up with a message naming the bad variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY"}}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import hitlcrowd.settings"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "yes"}, "DEBUG must be 'true' or 'false'"),
        ({"DEBUG": "false"}, "SECRET_KEY is required when DEBUG is false"),
        ({"DEBUG": "true", "DATABASE_URL": "mysql://x/y"}, "DATABASE_URL must start with"),
        ({"DEBUG": "true", "UPLOAD_MAX_BYTES": "lots"}, "UPLOAD_MAX_BYTES must be a whole number"),
        ({"DEBUG": "true", "REDIS_URL": "localhost:6379"}, "REDIS_URL must start with"),
        ({"DEBUG": "true", "Q_WORKERS": "0"}, "Q_WORKERS must be at least 1"),
        ({"DEBUG": "true", "API_THROTTLE_WORKER": "lots"}, "API_THROTTLE_WORKER must be a rate"),
        ({"DEBUG": "true", "API_THROTTLE_ANON": "10/fortnight"}, "API_THROTTLE_ANON must be"),
        ({"DEBUG": "true", "LOGIN_FAILURE_LIMIT": "0"}, "LOGIN_FAILURE_LIMIT must be at least 1"),
        ({"DEBUG": "true", "PROXY_COUNT": "-1"}, "PROXY_COUNT must be at least 0"),
        ({"DEBUG": "true", "DB_STATEMENT_TIMEOUT_MS": "-1"}, "DB_STATEMENT_TIMEOUT_MS must be"),
        ({"DEBUG": "true", "UPLOAD_MAX_LINE_BYTES": "4MB"}, "UPLOAD_MAX_LINE_BYTES must be"),
        ({"DEBUG": "true", "Q_TIMEOUT": "60", "Q_RETRY": "60"}, "Q_RETRY (60) must be larger"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(env, message):
    result = load_settings(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_good_values_load(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    result = load_settings(
        DEBUG="false",
        SECRET_KEY_FILE=str(secret),
        REDIS_URL="redis://127.0.0.1:6379/0",
        HITLCROWD_DATA_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
