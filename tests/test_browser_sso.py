"""In a browser: an admin connects the organisation's OpenID Connect provider, and a person
logs in through the provider's page and lands on their dashboard."""

import pytest
from playwright.sync_api import expect

from mentor_match.extensions import db
from mentor_match.models import SingleSignOnSettings

from .browser import expect_flash, log_in, new_page, serious_accessibility_faults
from .factories import make_admin, make_apprentice
from .oidc_provider import OidcProvider

pytestmark = pytest.mark.browser


@pytest.fixture
def provider():
    running = OidcProvider().start()
    yield running
    running.stop()


def test_a_person_logs_in_through_the_organisation_provider(chromium, live_server, provider):
    from mentor_match.sso.provider import forget_discoveries

    forget_discoveries()
    provider.redirect_uris.add(live_server + "/login/sso/callback")
    provider.user = {
        "sub": "acme-rosa",
        "email": "rosa@example.org",
        "email_verified": True,
        "name": "Rosa Acme",
    }
    provider.interactive = True
    make_apprentice("Rosa Apprentice", email="rosa@example.org")

    context, page = new_page(chromium)
    try:
        log_in(page, live_server, make_admin("Morgan Admin"))
        page.goto(live_server + "/admin/")
        page.get_by_role("navigation", name="Admin").get_by_role(
            "link", name="Single sign-on"
        ).click()
        expect(page.get_by_role("heading", name="Single sign-on")).to_be_visible()
        expect(page.get_by_text(live_server + "/login/sso/callback")).to_be_visible()
        assert serious_accessibility_faults(page) == []
        page.get_by_label("Offer single sign-on").check()
        page.get_by_label("Issuer URL").fill(provider.issuer)
        page.get_by_label("Client ID").fill(provider.client_id)
        page.get_by_label("Client secret").fill(provider.client_secret)
        page.get_by_label("Organisation name on the button").fill("Acme")
        page.get_by_role("button", name="Save single sign-on").click()
        expect_flash(page, "Single sign-on saved.")
    finally:
        context.close()

    context, page = new_page(chromium)
    try:
        page.goto(live_server + "/login")
        assert serious_accessibility_faults(page) == []
        page.get_by_role("link", name="Sign in with Acme").click()
        page.wait_for_url(provider.issuer + "/authorize**")
        page.get_by_role("button", name="Continue as Rosa Acme").click()
        page.wait_for_url(live_server + "/dashboard")
        expect_flash(page, "Your account is now linked to Acme: sign in with it from now on.")
        expect(page.get_by_text("Rosa Apprentice").first).to_be_visible()
    finally:
        context.close()

    # The only way in: the password form folds away, for admins.
    settings = db.session.get(SingleSignOnSettings, 1)
    settings.sso_only = True
    db.session.commit()
    context, page = new_page(chromium)
    try:
        page.goto(live_server + "/login")
        expect(page.get_by_role("link", name="Sign in with Acme")).to_be_visible()
        expect(page.get_by_label("Password")).to_be_hidden()
        page.get_by_text("Admins: log in with a password").click()
        expect(page.get_by_label("Password")).to_be_visible()
        assert serious_accessibility_faults(page) == []
    finally:
        context.close()
