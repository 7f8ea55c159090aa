"""The record and its credential say where each stage comes from, in a real browser.

Tom's records page and his public record show his endorsed stage with who and when, and his
self-declared one apart; the credential he downloads verifies with PyJWT against the keys
the site publishes, and leaves his own word out.
"""

import json
import re

import jwt
import pytest
from playwright.sync_api import expect

from .browser import PHONE, log_in, new_page, overflows_sideways, serious_accessibility_faults
from .test_credentials import earned  # noqa: F401  (the fixture: Tom's stages, hours, record)

pytestmark = pytest.mark.browser


def _faults(page, where: str) -> list[str]:
    problems = [f"{where}: {fault}" for fault in serious_accessibility_faults(page)]
    desktop = page.viewport_size
    page.set_viewport_size(PHONE)
    if overflows_sideways(page):
        problems.append(f"{where}: scrolls sideways at phone width")
    page.set_viewport_size(desktop)
    return problems


def test_the_record_and_credential_show_where_stages_come_from(chromium, live_server, earned):  # noqa: F811  (earned is the imported fixture)
    base, record, problems = live_server, earned["record"], []
    declared_closing = "Negotiation: Closing: Master (self-declared)"
    context, tom = new_page(chromium)
    log_in(tom, base, earned["tom"])
    tom.goto(base + "/records")
    stages = tom.locator(
        "section.card", has=tom.get_by_role("heading", name="Your stages on a record")
    )
    expect(stages.locator("li").first).to_have_text(
        "Negotiation: Anchoring: Journeyman, endorsed by Amara Master on 2026-03-20"
    )
    declared = stages.locator(".self-declared")
    expect(declared).to_contain_text("Self-declared, not verified by the site.")
    expect(declared.locator("li")).to_have_text([declared_closing])
    problems += _faults(tom, "/records")

    with tom.expect_download() as download_info:
        tom.get_by_role("link", name="Open Badges credential").click()
    download = download_info.value
    assert download.suggested_filename == f"mastery-record-{record.code}.jwt"
    with open(download.path(), encoding="utf-8") as handle:
        token = handle.read().strip()
    key_set = jwt.PyJWKSet.from_dict(tom.request.get(base + "/.well-known/jwks.json").json())
    key = key_set[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, key, algorithms=["ES256"], issuer=f"{base}/issuer")
    assert claims["jti"] == f"{base}/r/{record.code}"
    narrative = claims["credentialSubject"]["achievement"]["criteria"]["narrative"]
    assert (
        "Negotiation: Anchoring: journeyman (endorsed by Amara Master on 2026-03-20)" in narrative
    )
    assert "Closing" not in json.dumps(claims)
    context.close()

    stranger_context, stranger = new_page(chromium)
    stranger.goto(f"{base}/r/{record.code}")
    banner = stranger.locator(".record-banner")
    expect(banner).to_contain_text("Verified by Mentor Match: authentic")
    table = stranger.locator("table.record-table")
    row = table.get_by_role("row", name=re.compile("Anchoring"))
    expect(row.get_by_role("cell").first).to_have_text(
        re.compile(r"Journeyman\s+endorsed by Amara Master on 2026-03-20")
    )
    expect(table).not_to_contain_text("Closing")
    declared = stranger.locator("section.self-declared")
    expect(declared.get_by_role("heading")).to_have_text("Self-declared, not verified by the site")
    expect(declared.locator("li")).to_have_text([declared_closing])
    problems += _faults(stranger, "the public record page")
    stranger_context.close()
    assert problems == []
