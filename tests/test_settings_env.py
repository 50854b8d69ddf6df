"""Settings fail at start-up with a message naming the bad variable."""

import json
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
        ({"DEBUG": "true", "EMAIL_BACKEND": "sendmail"}, "EMAIL_BACKEND must be one of 'console'"),
        ({"DEBUG": "true", "EMAIL_BACKEND": "smtp"}, "EMAIL_HOST is required when EMAIL_BACKEND"),
        (
            {"DEBUG": "true", "EMAIL_BACKEND": "smtp", "EMAIL_HOST": "mail"},
            "DEFAULT_FROM_EMAIL is required when EMAIL_BACKEND is 'smtp'",
        ),
        ({"DEBUG": "true", "EMAIL_PORT": "smtp"}, "EMAIL_PORT must be a whole number"),
        ({"DEBUG": "true", "EMAIL_USE_TLS": "yes"}, "EMAIL_USE_TLS must be 'true' or 'false'"),
        (
            {"DEBUG": "true", "EMAIL_USE_SSL": "true", "EMAIL_USE_TLS": "true"},
            "EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true",
        ),
        ({"DEBUG": "true", "PASSWORD_RESET_RATE_PER_EMAIL": "3"}, "PASSWORD_RESET_RATE_PER_EMAIL"),
        ({"DEBUG": "true", "ENCRYPTION_KEY": "short"}, "ENCRYPTION_KEY must be at least 32"),
        (
            {"DEBUG": "false", "SECRET_KEY": "x" * 50, "ENCRYPTION_KEYS_PREVIOUS": "o" * 40},
            "ENCRYPTION_KEYS_PREVIOUS is set but ENCRYPTION_KEY is not",
        ),
        (
            {
                "DEBUG": "true",
                "ENCRYPTION_KEY": "n" * 40,
                "ENCRYPTION_KEYS_PREVIOUS": "o" * 40 + ",old",
            },
            "ENCRYPTION_KEYS_PREVIOUS: key 2 is shorter than 32 characters",
        ),
        (
            {"DEBUG": "true", "ENCRYPTION_KEY": "n" * 40, "ENCRYPTION_KEYS_PREVIOUS": "n" * 40},
            "ENCRYPTION_KEYS_PREVIOUS: key 1 is ENCRYPTION_KEY itself",
        ),
        (
            {
                "DEBUG": "true",
                "ENCRYPTION_KEY": "n" * 40,
                "ENCRYPTION_KEYS_PREVIOUS": f"{'o' * 40}, {'o' * 40}",
            },
            "ENCRYPTION_KEYS_PREVIOUS: a key is given twice",
        ),
        ({"DEBUG": "true", "MTURK_MAX_BODY_BYTES": "10"}, "MTURK_MAX_BODY_BYTES must be at least"),
        ({"DEBUG": "true", "MTURK_RATE_PER_REQUESTER": "100"}, "MTURK_RATE_PER_REQUESTER must"),
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


def email_settings(**env: str) -> dict[str, str]:
    """The email settings a process started with `env` ends up with."""
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY"}}
    clean.update(env)
    code = (
        "import json, hitlcrowd.settings as s; print(json.dumps({k: getattr(s, k) for k in "
        "['EMAIL_DELIVERY', 'EMAIL_BACKEND', 'EMAIL_HOST', 'EMAIL_PORT', 'EMAIL_HOST_USER', "
        "'EMAIL_HOST_PASSWORD', 'EMAIL_USE_TLS', 'EMAIL_USE_SSL', 'DEFAULT_FROM_EMAIL']}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_development_prints_email_and_production_sends_none_by_default(tmp_path):
    dev = email_settings(DEBUG="true", HITLCROWD_DATA_DIR=str(tmp_path))
    assert dev["EMAIL_DELIVERY"] == "console"
    assert dev["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    prod = email_settings(DEBUG="false", SECRET_KEY="x", HITLCROWD_DATA_DIR=str(tmp_path))
    assert prod["EMAIL_DELIVERY"] == "none"
    assert prod["EMAIL_BACKEND"] == "django.core.mail.backends.dummy.EmailBackend"


def test_smtp_settings_load_with_the_password_from_a_file(tmp_path):
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret\n")
    loaded = email_settings(
        DEBUG="false",
        SECRET_KEY="x",
        HITLCROWD_DATA_DIR=str(tmp_path),
        EMAIL_BACKEND="SMTP",
        EMAIL_HOST="mail.example.org",
        EMAIL_PORT="465",
        EMAIL_USE_SSL="true",
        EMAIL_HOST_USER="labels",
        EMAIL_HOST_PASSWORD_FILE=str(secret),
        DEFAULT_FROM_EMAIL="Labels <labels@example.org>",
    )
    assert loaded == {
        "EMAIL_DELIVERY": "smtp",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "mail.example.org",
        "EMAIL_PORT": 465,
        "EMAIL_HOST_USER": "labels",
        "EMAIL_HOST_PASSWORD": "s3cret",
        "EMAIL_USE_TLS": False,
        "EMAIL_USE_SSL": True,
        "DEFAULT_FROM_EMAIL": "Labels <labels@example.org>",
    }


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WORKER_SIGNUP": "anyone"}, "WORKER_SIGNUP must be one of 'open', 'invite', 'closed'"),
        ({"REQUESTER_SIGNUP": "invite"}, "REQUESTER_SIGNUP must be one of 'closed', 'open'"),
        ({"SIGNUP_RATE_PER_CLIENT": "10"}, "SIGNUP_RATE_PER_CLIENT must be a rate"),
    ],
)
def test_a_bad_sign_up_setting_stops_start_up(env, message):
    result = load_settings(DEBUG="true", **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_workers_sign_up_freely_in_development_and_by_invite_in_production(tmp_path):
    code = "import hitlcrowd.settings as s; print(s.WORKER_SIGNUP, s.REQUESTER_SIGNUP)"
    seen = {}
    for debug, extra in (("true", {}), ("false", {"SECRET_KEY": "k"})):
        clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY"}}
        clean |= {"DEBUG": debug, "HITLCROWD_DATA_DIR": str(tmp_path), **extra}
        clean.pop("WORKER_SIGNUP", None)
        clean.pop("REQUESTER_SIGNUP", None)
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        seen[debug] = result.stdout.split()[-2:]
    assert seen == {"true": ["open", "closed"], "false": ["invite", "closed"]}
