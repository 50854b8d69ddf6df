"""Production's HTTPS handling and Content-Security-Policy, and who may read the API docs.

The settings module reads the environment once, so what an environment variable switches is
checked in a subprocess; what the settings then do to a request, in process."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_DIRS = [ROOT / "hitlcrowd" / "templates", *ROOT.glob("apps/*/templates")]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)

pytestmark = pytest.mark.django_db


def settings_under(**env: str) -> dict:
    """Selected settings as a production process with this environment computes them."""
    # Not the test run's own: its database, and the e2e tests' DJANGO_ALLOW_ASYNC_UNSAFE.
    inherited = {"DATABASE_URL", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE", "REDIS_URL"}
    clean = {k: v for k, v in os.environ.items() if k not in inherited}
    clean.update({"SECRET_KEY": "x" * 50, **env})
    code = (
        "import json, hitlcrowd.settings as s; print(json.dumps({n: getattr(s, n, None) for n in"
        " ('SECURE_PROXY_SSL_HEADER', 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'DEBUG')}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_x_forwarded_proto_is_trusted_only_when_configured():
    assert settings_under(DEBUG="false")["SECURE_PROXY_SSL_HEADER"] is None
    trusted = settings_under(DEBUG="false", TRUST_X_FORWARDED_PROTO="true")
    assert trusted["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_production_redirects_to_https_and_sends_hsts_by_default():
    production = settings_under(DEBUG="false")
    assert production["SECURE_SSL_REDIRECT"] is True
    assert production["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    development = settings_under(DEBUG="true")
    assert development["SECURE_SSL_REDIRECT"] is False


@pytest.fixture
def production_https(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_PROXY_SSL_HEADER = None


def test_a_forged_forwarded_proto_does_not_pass_as_https(production_https):
    response = Client().get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def test_behind_a_trusted_proxy_its_https_is_believed(production_https, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = Client().get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=3600")


def test_health_checks_answer_over_plain_http(production_https):
    assert Client().get("/healthz").status_code == 200


def test_every_page_carries_a_content_security_policy(client, worker):
    client.force_login(worker)
    for path in ("/accounts/login/", "/work/", "/admin/login/"):
        policy = client.get(path)["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
        assert directives["script-src"] == "'self'", path
        assert directives["object-src"] == "'none'"
        assert directives["frame-ancestors"] == "'none'"
        assert directives["base-uri"] == "'self'"


def test_templates_hold_no_inline_script():
    """script-src 'self' blocks inline scripts and on* handlers: the page would break."""
    found = []
    for directory in TEMPLATE_DIRS:
        for template in directory.rglob("*.html"):
            text = template.read_text()
            if INLINE_SCRIPT.search(text) or EVENT_HANDLER.search(text) or "javascript:" in text:
                found.append(str(template.relative_to(ROOT)))
    assert found == []


# --- The API's schema and Swagger UI --------------------------------------------------------


def test_the_schema_needs_an_account(api_client_for, worker):
    assert api_client_for().get("/api/schema/").status_code == 401
    assert api_client_for(worker).get("/api/schema/").status_code == 200


def test_the_docs_page_sends_anonymous_visitors_to_the_login(client, worker):
    response = client.get("/api/docs/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/api/docs/")
    client.force_login(worker)
    page = client.get("/api/docs/")
    assert page.status_code == 200
    # Swagger UI from our static files (the sidecar package), its start-up script not inline.
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page.content
    assert INLINE_SCRIPT.search(page.content.decode()) is None
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert b"SwaggerUIBundle" in script.content


def test_the_docs_can_be_made_public(client, settings):
    settings.API_DOCS_PUBLIC = True
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
