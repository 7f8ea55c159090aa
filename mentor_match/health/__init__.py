"""Health checks for load balancers and monitors: /healthz and /readyz (see views, checks).

A load balancer often probes a backend by its address (Host: 10.0.0.7:8000), not by the
site's name, and the site refuses every Host but its own (TRUSTED_HOSTS). These two paths
build no link from the Host and say nothing that depends on it, so any Host may ask them.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.sansio.utils import host_is_trusted

PROBE_PATHS = frozenset({"/healthz", "/readyz"})


class ProbesFromAnyHost:
    """WSGI middleware: a request for a probe path with a Host the site does not answer to
    is handed to the app under the site's own host, so the host check lets it through."""

    def __init__(self, wsgi_app, app: Flask) -> None:
        self.wsgi_app = wsgi_app
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") in PROBE_PATHS:
            trusted = self.app.config["TRUSTED_HOSTS"]
            host = environ.get("HTTP_HOST")
            if trusted and not host_is_trusted(host, trusted):
                environ["HTTP_HOST"] = trusted[0].lstrip(".")
        return self.wsgi_app(environ, start_response)


def init_health(app: Flask) -> None:
    """Register /healthz and /readyz, open to probes from any Host."""
    from .views import bp

    app.register_blueprint(bp)
    app.wsgi_app = ProbesFromAnyHost(app.wsgi_app, app)  # type: ignore[method-assign]
