"""`manage.py check --deploy` is clean under the production environment README.md gives."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def deploy_check(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    # Not the test run's own: its database, and the e2e tests' DJANGO_ALLOW_ASYNC_UNSAFE.
    inherited = {"DATABASE_URL", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE", "REDIS_URL"}
    clean = {k: v for k, v in os.environ.items() if k not in inherited}
    clean.update(
        {
            # README.md, "Production"
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
            "ALLOWED_HOSTS": "labels.example.org",
            "HITLCROWD_DATA_DIR": str(tmp_path),
            "ENCRYPTION_KEY": secrets.token_urlsafe(32),
            **env,
        }
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = deploy_check(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_is_clean_behind_a_tls_proxy(tmp_path):
    result = deploy_check(tmp_path, TRUST_X_FORWARDED_PROTO="true", PROXY_COUNT="1")
    assert result.returncode == 0, result.stdout + result.stderr


def test_turning_https_off_is_reported(tmp_path):
    result = deploy_check(tmp_path, SECURE_SSL_REDIRECT="false", SECURE_HSTS_SECONDS="0")
    assert result.returncode != 0
    assert "security.W008" in result.stderr + result.stdout
    assert "security.W004" in result.stderr + result.stdout


def test_a_missing_encryption_key_is_reported_naming_it(tmp_path):
    result = deploy_check(tmp_path, ENCRYPTION_KEY="")
    assert result.returncode != 0
    output = result.stderr + result.stdout
    assert "mturk.E001" in output and "ENCRYPTION_KEY is not set" in output
