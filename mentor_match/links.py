"""Absolute links (mail, calendar feeds, records): always on SITE_URL, never the request's host.

A link built from the Host header of the request that caused it would let anyone who can
send a request choose where a victim's reset link points (Host header poisoning).
"""

from urllib.parse import urlsplit

from flask import current_app


def absolute_url(endpoint: str, **values) -> str:
    """A full URL to an endpoint on SITE_URL, the same from a request, a job or a command."""
    site = urlsplit(current_app.config["SITE_URL"])
    adapter = current_app.url_map.bind(
        site.netloc, script_name=site.path.rstrip("/") or "/", url_scheme=site.scheme
    )
    return adapter.build(endpoint, values, force_external=True)
