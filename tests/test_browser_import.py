"""The import preview in a real browser: the 'trust these stages' box, on a desktop and a phone."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from mentor_match.extensions import db
from mentor_match.models import Person, StageSource

from .browser import (
    PHONE,
    expect_flash,
    log_in,
    new_page,
    overflows_sideways,
    serious_accessibility_faults,
)
from .test_imports import GOOD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("imports_folder")]

TRUST = (
    "Trust these stages: the stages in this file were verified by the organisation; "
    "mark them as verified (imported)"
)


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_an_admin_previews_an_import_and_trusts_its_stages(
    chromium, live_server, world, tmp_path, viewport
):
    upload = tmp_path / "people.csv"
    upload.write_text(GOOD, encoding="utf-8")
    context, page = new_page(chromium, viewport)
    try:
        log_in(page, live_server, world["admin"])
        page.goto(live_server + "/admin/import")
        page.get_by_label("People file (CSV, UTF-8)").set_input_files(str(upload))
        page.get_by_role("button", name="Preview").click()

        expect(
            page.get_by_text("1 hosting stage(s) of masters will arrive self-declared")
        ).to_be_visible()
        box = page.get_by_label(TRUST)
        expect(box).not_to_be_checked()
        if viewport is PHONE:
            assert not overflows_sideways(page)
        assert serious_accessibility_faults(page) == []
        box.check()
        page.get_by_role("button", name="Import 2 new and 0 changed").click()

        expect_flash(page, "3 stage(s) marked verified (imported).")
    finally:
        context.close()
    ada = db.session.scalar(select(Person).where(Person.email == "ada@example.org"))
    assert {(held.stage_source, held.stage_set_by_id) for held in ada.skills} == {
        (StageSource.IMPORTED, world["admin"].id)
    }


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_a_preview_with_bad_rows_takes_the_corrected_file_at_once(
    chromium, live_server, world, tmp_path, viewport
):
    bad, fixed = tmp_path / "bad.csv", tmp_path / "fixed.csv"
    bad.write_text(GOOD.replace("Europe/London", "Mars/Olympus", 1), encoding="utf-8")
    fixed.write_text(GOOD, encoding="utf-8")
    context, page = new_page(chromium, viewport)
    try:
        log_in(page, live_server, world["admin"])
        page.goto(live_server + "/admin/import")
        expect(page.get_by_text("works for 7 days from when its mail is sent")).to_be_visible()
        page.get_by_label("People file (CSV, UTF-8)").set_input_files(str(bad))
        page.get_by_role("button", name="Preview").click()
        expect(page.get_by_role("heading", name="Bad rows")).to_be_visible()
        if viewport is PHONE:
            assert not overflows_sideways(page)
        assert serious_accessibility_faults(page) == []
        page.get_by_label("People file (CSV, UTF-8)").set_input_files(str(fixed))
        page.get_by_role("button", name="Preview").click()
        expect(page.get_by_role("button", name="Import 2 new and 0 changed")).to_be_visible()
    finally:
        context.close()
