"""The main pages on the demo organisation, in a real browser, at desktop and phone width.

The other browser tests each check their feature's pages on a few rows of their own; this
one checks, with a site's worth of data (the demo: hours to confirm, practice to rate, three
months of history, an open round), the pages they leave out at 375 px: the admin's import,
reports, verification, disputes, organisation and single sign-on pages, a master's
attendance, practice and hosting pages, an apprentice's practice and progress, availability,
records and API tokens. On each: axe finds no serious fault, nothing scrolls sideways on a
phone, and the phone menu is one line behind its button.
"""

import pytest
from sqlalchemy import select

from mentor_match.demo.seed import seed_demo_organisation
from mentor_match.extensions import db
from mentor_match.models import Person

from .browser import DESKTOP, PHONE, page_problems
from .factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser

ADMIN_PAGES = [
    "/admin/import",
    "/admin/reports",
    "/admin/verification",
    "/admin/stages",
    "/admin/disputes",
    "/admin/organisation",
    "/admin/sso",
    "/admin/webhooks/",
]
MASTER_PAGES = [
    "/dashboard",
    "/sessions/to-confirm",
    "/practice/to-rate",
    "/progress/hosting",
    "/availability",
    "/availability/plan",
    "/availability/weekly",
    "/availability/changes",
    "/records",
    "/account/tokens",
]
APPRENTICE_PAGES = ["/dashboard", "/practice", "/progress", "/records"]


def _demo_person(email: str) -> Person:
    return db.session.scalars(select(Person).where(Person.email == email)).one()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_demo_s_main_pages_are_accessible_and_fit_a_phone(chromium, live_server, viewport):
    seed_demo_organisation(password=DEFAULT_PASSWORD)
    walks = [
        ("morgan.ellis@example.com", ADMIN_PAGES),
        ("amara.okafor@example.com", MASTER_PAGES),
        ("tom.gallagher@example.com", APPRENTICE_PAGES),
    ]
    problems = []
    for email, paths in walks:
        problems += page_problems(chromium, live_server, _demo_person(email), paths, viewport)
    assert problems == []
