import pytest

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_it_issues_a_token_for_valid_credentials_and_the_token_works(api_client_for, worker):
    client = api_client_for()
    response = client.post(
        "/api/v1/auth/token/", {"username": "worker", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["user"]["role"] == "worker"
    assert body["expiry"]

    client.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    me = client.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["username"] == "worker"


def test_it_rejects_a_wrong_password_with_401(api_client_for, worker):
    response = api_client_for().post(
        "/api/v1/auth/token/", {"username": "worker", "password": "nope"}, format="json"
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


def test_it_names_missing_fields(api_client_for):
    response = api_client_for().post("/api/v1/auth/token/", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"username", "password"}


def test_a_logged_out_token_stops_working(api_client_for, worker):
    client = api_client_for(worker)
    assert client.post("/api/v1/auth/logout/").status_code == 204
    assert client.get("/api/v1/me/").status_code == 401


def test_anonymous_requests_are_refused(api_client_for):
    assert api_client_for().get("/api/v1/me/").status_code == 401
