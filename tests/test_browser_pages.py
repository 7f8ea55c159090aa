"""Signed-in pages in a real browser: no serious accessibility faults, and no sideways scroll
on a phone."""

import pytest

from mentor_match.extensions import db
from mentor_match.mail.services import send_mail

from .browser import DESKTOP, PHONE, page_problems
from .factories import give_skill, make_admin, make_area, make_master, make_site

pytestmark = pytest.mark.browser


def _world():
    site = make_site("London", "Europe/London")
    area = make_area("Negotiation", skills=("Anchoring", "Closing"))
    admin = make_admin("Morgan Admin", site=site, is_master=True)
    master = make_master("Amara Master", site=site, bio="Commercial director.")
    give_skill(master, area.micro_skills[0], "master", hosts=True)
    give_skill(admin, area.micro_skills[1], "journeyman", hosts=True)
    send_mail("someone@example.org", "Reset your password", "A link.")
    db.session.commit()
    return admin, master, area, site


def _pages(admin, master, area, site):
    return [
        "/dashboard",
        f"/people/{master.id}",
        "/people",
        f"/people?what=area-{area.id}&min_stage=master",
        "/profile",
        "/profile/skills",
        "/account/password",
        "/admin/",
        "/admin/people",
        "/admin/areas",
        f"/admin/areas/{area.id}",
        f"/admin/skills/{area.micro_skills[0].id}",
        "/admin/sites",
        f"/admin/sites/{site.id}",
        "/admin/outbox",
    ]


def test_signed_in_pages_are_accessible_and_fit_a_phone(chromium, live_server):
    admin, master, area, site = _world()
    paths = _pages(admin, master, area, site)
    problems = []
    for viewport in (DESKTOP, PHONE):
        problems += page_problems(chromium, live_server, admin, paths, viewport)
    assert problems == []
