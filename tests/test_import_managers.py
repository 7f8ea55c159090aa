"""The people file's manager_email column: validated in the preview (unknown, self, cycle),
applied through set_manager, and written by the export; files without it change no manager."""

import pytest

from mentor_match.extensions import db
from mentor_match.models import Person

from .database import count
from .factories import make_apprentice, make_master
from .test_imports import _import, _page, _upload

HEADER = "name,email,site,timezone,roles,skills,observation_hours,hosting_hours,manager_email\n"
OLD_HEADER = "name,email,site,timezone,roles,skills,observation_hours,hosting_hours\n"

pytestmark = pytest.mark.usefixtures("imports_folder")


def _manager_of(person):
    db.session.expire_all()
    return db.session.get(Person, person.id).manager_id


def test_rows_set_managers_known_on_the_site_or_new_in_the_file(client, login, world):
    grace = make_master("Grace", email="grace@example.org")
    tom = make_apprentice("Tom", email="tom@example.org")
    login(world["admin"])
    text = HEADER + (
        "Tom,tom@example.org,,Europe/London,apprentice,,,,Grace@Example.org\n"
        "Nia New,nia@example.org,,Europe/London,apprentice,,,,leo@example.org\n"
        "Leo Lead,leo@example.org,,Europe/London,master,,,,\n"
    )
    preview = _page(_upload(client, text))
    assert "<td>manager</td> <td>(none)</td> <td>grace@example.org</td>" in preview
    assert "<td>manager</td> <td>leo@example.org</td>" in preview  # Nia, new
    assert "2 created, 1 changed" in preview
    page = _page(_import(client, text))
    assert "2 created, 1 changed" in page
    assert _manager_of(tom) == grace.id
    nia = db.session.scalar(db.select(Person).where(Person.email == "nia@example.org"))
    leo = db.session.scalar(db.select(Person).where(Person.email == "leo@example.org"))
    assert nia.manager_id == leo.id and leo.manager_id is None


def test_unknown_self_and_cycles_are_row_errors_and_nothing_is_saved(client, login, world):
    grace = make_master("Grace", email="grace@example.org")
    tom = make_apprentice("Tom", email="tom@example.org")
    tom.manager_id = grace.id
    db.session.commit()
    login(world["admin"])
    text = HEADER + (
        "Amy,amy@example.org,,UTC,apprentice,,,,nobody@example.org\n"  # line 2
        "Sam,sam@example.org,,UTC,apprentice,,,,SAM@example.org\n"  # 3
        "Grace,grace@example.org,,UTC,master,,,,tom@example.org\n"  # 4: Tom is managed by her
        "Ann,ann@example.org,,UTC,master,,,,bob@example.org\n"  # 5
        "Bob,bob@example.org,,UTC,master,,,,ann@example.org\n"  # 6: a cycle within the file
        "Bad,bad@example.org,,UTC,master,,,,not-an-address\n"  # 7
    )
    page = _page(_upload(client, text))
    for expected in (
        'line 2, manager_email: no one with the address "nobody@example.org" on the site or '
        "in the file",
        "line 3, manager_email: a person cannot be their own manager",
        "line 4, manager_email: tom@example.org would be managed by this person, directly or "
        "through others: a cycle",
        "line 5, manager_email: bob@example.org would be managed by this person",
        "line 6, manager_email: ann@example.org would be managed by this person",
        "line 7, manager_email: not an email address",
    ):
        assert expected in page, expected
    assert 'name="token"' not in page
    assert count(Person) == 3 and _manager_of(grace) is None


def test_a_file_that_swaps_a_manager_and_member_applies_in_any_order(client, login, world):
    """Tom managed by Grace becomes Grace managed by Tom: no step meets a cycle."""
    grace = make_master("Grace", email="grace@example.org")
    tom = make_master("Tom", email="tom@example.org")
    tom.manager_id = grace.id
    db.session.commit()
    login(world["admin"])
    text = HEADER + (
        "Grace,grace@example.org,,Europe/London,master,,,,tom@example.org\n"
        "Tom,tom@example.org,,Europe/London,master,,,,\n"
    )
    assert "0 created, 2 changed" in _page(_import(client, text))
    assert (_manager_of(grace), _manager_of(tom)) == (tom.id, None)


def test_a_file_without_the_column_changes_no_manager(client, login, world):
    grace = make_master("Grace", email="grace@example.org")
    tom = make_apprentice("Tom", email="tom@example.org")
    tom.manager_id = grace.id
    db.session.commit()
    login(world["admin"])
    text = OLD_HEADER + "Tommy,tom@example.org,,Europe/London,apprentice,,,\n"
    assert "0 created, 1 changed" in _page(_import(client, text))
    assert _manager_of(tom) == grace.id


def test_the_export_writes_the_manager_and_reads_back_unchanged(client, login, world):
    grace = make_master("Grace", email="grace@example.org")
    tom = make_apprentice("Tom", email="tom@example.org")
    tom.manager_id = grace.id
    db.session.commit()
    login(world["admin"])
    text = client.get("/admin/export.csv").get_data(as_text=True)
    lines = text.splitlines()
    assert lines[0] == HEADER.strip()
    assert lines[2].endswith(",grace@example.org") and lines[1].endswith(",")
    assert "0 created, 0 changed, 2 unchanged" in _page(_import(client, text))
