"""Zone names: one current name per place in every zone list, legacy names taken as current."""

import re
from html import unescape

import pytest
from sqlalchemy import select

from mentor_match.extensions import db
from mentor_match.models import Person
from mentor_match.zones import canonical_zone, is_valid_timezone, legacy_names, timezone_names

from .factories import make_master


@pytest.mark.database_independent
@pytest.mark.parametrize(
    "legacy, current",
    [
        ("Asia/Calcutta", "Asia/Kolkata"),
        ("Europe/Kiev", "Europe/Kyiv"),
        ("Asia/Saigon", "Asia/Ho_Chi_Minh"),
        ("Asia/Katmandu", "Asia/Kathmandu"),
        ("America/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ("US/Eastern", "America/New_York"),
        ("Etc/UTC", "UTC"),
        ("Zulu", "UTC"),
    ],
)
def test_a_legacy_name_is_taken_as_the_current_one(legacy, current):
    assert canonical_zone(legacy) == current
    assert is_valid_timezone(legacy)
    assert legacy in legacy_names()[current]


@pytest.mark.database_independent
@pytest.mark.parametrize("name", ["Asia/Kolkata", "Europe/Amsterdam", "Europe/Oslo", "UTC"])
def test_a_current_name_stays_itself(name):
    # Amsterdam and Oslo are tzdata links in its default build (to Brussels and Berlin), but
    # they are places of their own in zone.tab: a person there sees their own city.
    assert canonical_zone(name) == name
    assert name in timezone_names()


@pytest.mark.database_independent
def test_the_zone_list_offers_each_place_once_under_its_current_name():
    names = timezone_names()
    assert names[0] == "UTC" and list(names[1:]) == sorted(names[1:])
    assert [name for name in names if canonical_zone(name) != name] == []
    for legacy in ("Asia/Calcutta", "Europe/Kiev", "Asia/Saigon", "US/Eastern", "Etc/UTC"):
        assert legacy not in names
    assert canonical_zone("Mars/Olympus_Mons") == "Mars/Olympus_Mons"
    assert not is_valid_timezone("Mars/Olympus_Mons")


def _option(page: str, value: str) -> str:
    match = re.search(rf'<option [^>]*value="{re.escape(value)}"[^>]*>', page)
    assert match, value
    return match.group(0)


def test_the_sign_up_zone_list_names_each_option_s_legacy_names_for_the_script(client):
    page = client.get("/signup").get_data(as_text=True)
    assert 'value="Asia/Calcutta"' not in page
    assert 'data-aliases="Asia/Calcutta"' in _option(page, "Asia/Kolkata")
    # Kyiv stands for the zones tzdata merged into it, too.
    assert 'data-aliases="Europe/Kiev Europe/Uzhgorod Europe/Zaporozhye"' in _option(
        page, "Europe/Kyiv"
    )


def test_a_profile_saved_under_a_legacy_zone_shows_and_stores_the_current_name(client, login):
    person = make_master("Ravi Menon", timezone="Asia/Calcutta")
    login(person)
    page = unescape(client.get("/profile").get_data(as_text=True))
    assert "selected" in _option(page, "Asia/Kolkata")

    response = client.post(
        "/profile",
        data={"name": "Ravi Menon", "is_master": "y", "site": "0", "timezone": "Asia/Calcutta"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(Person.timezone).where(Person.id == person.id)) == (
        "Asia/Kolkata"
    )
