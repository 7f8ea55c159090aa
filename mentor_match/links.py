"""Absolute links for mail: from the request's host when there is one, else SITE_URL."""
from flask import current_app, has_request_context, url_for


def absolute_url(endpoint: str, **values) -> str:
    """A full URL to an endpoint, also from background jobs and commands (no request)."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    base = current_app.config["SITE_URL"].rstrip("/")
    with current_app.test_request_context(base_url=base):
        return url_for(endpoint, _external=True, **values)
