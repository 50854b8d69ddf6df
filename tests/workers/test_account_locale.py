"""Where I am, on the worker's account page: a country from ISO 3166's list, optionally a
subdivision of it, and whether I agree to see adult content (what the MTurk API's
Worker_Locale and Worker_Adult qualifications read, issue 17 #2)."""

from __future__ import annotations

import pytest

from apps.workers.accounts import user_locale_set
from apps.workers.countries import COUNTRIES
from hitlcrowd.errors import InvalidInput
from tests.helpers.web import client_for

pytestmark = pytest.mark.django_db

PAGE = "/work/account/"


def test_the_page_offers_every_country_and_saves_mine(worker):
    client = client_for(worker)
    page = client.get(PAGE).content.decode()
    assert 'name="country"' in page and '<option value="NZ">New Zealand</option>' in page

    response = client.post(
        f"{PAGE}locale/", {"country": "US", "subdivision": "wa", "adult_content": "on"}
    )

    assert response.status_code == 302
    worker.refresh_from_db()
    assert (worker.country, worker.subdivision, worker.adult_content) == ("US", "WA", True)
    assert '<option value="US" selected>' in client.get(PAGE).content.decode()


def test_a_country_not_in_the_list_is_a_400_naming_it(worker):
    response = client_for(worker).post(f"{PAGE}locale/", {"country": "XX"})
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content
    worker.refresh_from_db()
    assert worker.country == ""


@pytest.mark.parametrize(
    ("country", "subdivision", "named"),
    [("ZZ", "", "country"), ("US", "WA-1", "subdivision"), ("", "WA", "subdivision")],
)
def test_the_service_names_the_field_it_refuses(worker, country, subdivision, named):
    with pytest.raises(InvalidInput) as refused:
        user_locale_set(user=worker, country=country, subdivision=subdivision)
    assert list(refused.value.errors) == [named]


def test_no_country_clears_where_i_am(worker):
    user_locale_set(user=worker, country="de", subdivision="by", adult_content=True)
    assert (worker.country, worker.subdivision) == ("DE", "BY")
    user_locale_set(user=worker, country="", subdivision="")
    worker.refresh_from_db()
    assert (worker.country, worker.subdivision, worker.adult_content) == ("", "", False)


def test_the_list_is_iso_3166s_two_letter_codes():
    assert len(COUNTRIES) == 249
    assert all(len(code) == 2 and code.isupper() for code in COUNTRIES)
    assert COUNTRIES["GB"] == "Britain (UK)"


def test_requesters_cannot_post_it(requester):
    assert client_for(requester).post(f"{PAGE}locale/", {"country": "US"}).status_code == 403
