"""A callback URL must name a public http(s) address without credentials: checked at save by
one validator on Project.callback_url, so the API, the requester form and the admin refuse it
with the same message (audit finding 3: loopback, 169.254.169.254 and localhost:6379 were
accepted)."""

from __future__ import annotations

import socket

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.test import Client, RequestFactory
from django.urls import reverse

from apps.tasks.models import Project
from hitlcrowd.outbound import callback_url_validate
from tests.helpers.web import NEW_PROJECT
from tests.models.webhook_helpers import FakeDns

PUBLIC = "93.184.215.14"


@pytest.fixture
def dns(monkeypatch) -> FakeDns:
    fake = FakeDns()
    fake.table = {
        "hooks.example.com": [PUBLIC],
        "loopback.example.com": ["127.0.0.1"],
        "mixed.example.com": [PUBLIC, "10.0.0.7"],
        "metadata.example.com": ["::ffff:169.254.169.254"],
        "onprem.internal": ["192.168.1.5"],
    }
    monkeypatch.setattr(socket, "getaddrinfo", fake.getaddrinfo)
    return fake


REFUSED = [
    "http://127.0.0.1/hook",
    "http://127.0.0.1:6379/",
    "http://[::1]/",
    "http://0.0.0.0/",
    "http://[::]/",
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://240.0.0.1/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[ff02::1]/",
    "http://localhost/",
    "http://localhost:6379/",
    "http://LOCALHOST./",
    "http://api.localhost/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://017700000001/",
    "http://0x7f.1/",
    "http://127.1/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::127.0.0.1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[2002:7f00:1::]/",
    "http://loopback.example.com/",
    "http://mixed.example.com/",
    "http://metadata.example.com/",
    "http://onprem.internal/",
    "http://user:pass@hooks.example.com/",
    "https://token@hooks.example.com/",
    "ftp://hooks.example.com/",
    "file:///etc/passwd",
    "gopher://hooks.example.com:70/",
    "http://hooks.example.com:25/",
    "http://hooks.example.com:22/",
    "http://hooks.example.com:99999/",
    "http:///path-only",
]

ACCEPTED = [
    "",
    "https://hooks.example.com/labels?project=3",
    "http://hooks.example.com:8080/hook",
    f"http://{PUBLIC}/",
    "https://[2606:4700:4700::1111]/hook",
    "https://not-in-dns.example.org/hook",  # no answer now: the send-time check decides
]


@pytest.mark.parametrize("url", REFUSED)
def test_a_non_public_or_odd_url_is_refused(dns, url):
    with pytest.raises(ValidationError):
        callback_url_validate(url)


@pytest.mark.parametrize("url", ACCEPTED)
def test_a_public_http_url_is_accepted(dns, url):
    callback_url_validate(url)


def test_the_allow_list_admits_on_premise_hosts_and_networks_only(dns, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["onprem.internal", "10.0.0.0/8"]
    callback_url_validate("http://onprem.internal:8080/hook")
    callback_url_validate("http://10.20.30.40/hook")
    callback_url_validate("http://mixed.example.com/")  # public + 10.0.0.7
    for url in ("http://192.168.1.1/", "http://127.0.0.1/", "http://169.254.169.254/"):
        with pytest.raises(ValidationError):
            callback_url_validate(url)


def test_a_bad_allow_list_entry_stops_start_up():
    from django.core.exceptions import ImproperlyConfigured

    from hitlcrowd.outbound import allow_list_parse

    assert allow_list_parse(["hooks.internal", "10.0.0.0/8", "::1"], variable="X").hosts
    for bad in ("10.0.0.0/33", "http://hooks.internal", "a b", "/8"):
        with pytest.raises(ImproperlyConfigured, match="X"):
            allow_list_parse([bad], variable="X")


# --- Every way in -------------------------------------------------------------------------------

METADATA = "http://169.254.169.254/latest/meta-data/"


@pytest.mark.django_db
def test_the_api_refuses_it_with_a_400_naming_callback_url(dns, requester, api_client_for):
    client = api_client_for(requester)
    body = {"name": "P", "labels": ["a", "b"], "callback_url": METADATA}
    created = client.post("/api/v1/projects/", body, format="json")
    assert created.status_code == 400, created.json()
    assert created.json()["code"] == "invalid"
    assert "not a public address" in created.json()["errors"]["callback_url"][0]
    assert not Project.objects.exists()

    ok = client.post("/api/v1/projects/", {**body, "callback_url": ""}, format="json")
    project_id = ok.json()["id"]
    for url in ("http://localhost:6379/", "http://u:p@hooks.example.com/"):
        patched = client.patch(f"/api/v1/projects/{project_id}/", {"callback_url": url})
        assert patched.status_code == 400 and "callback_url" in patched.json()["errors"]
    assert Project.objects.get(pk=project_id).callback_url == ""


@pytest.mark.django_db
def test_the_requester_form_refuses_it(dns, requester):
    client = Client()
    client.force_login(requester)
    response = client.post(
        reverse("requester-project-create"), {**NEW_PROJECT, "callback_url": METADATA}
    )
    assert response.status_code == 200
    assert "callback_url" in response.context["form"].errors
    assert not Project.objects.exists()


@pytest.mark.django_db
def test_the_admin_form_refuses_it(dns, admin_user, project):
    request = RequestFactory().post("/admin/")
    request.user = admin_user
    form_class = admin.site._registry[Project].get_form(request, project)
    data = {
        field: getattr(project, field)
        for field in form_class.base_fields
        if field not in ("labels", "owner")
    }
    data |= {"labels": '["cat", "dog"]', "owner": project.owner_id, "callback_url": METADATA}
    form = form_class(data=data, instance=project)
    assert not form.is_valid()
    assert list(form.errors) == ["callback_url"]
