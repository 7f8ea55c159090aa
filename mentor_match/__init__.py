"""Mentor Match: learn a craft by watching a master do it."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .config import PROJECT_ROOT, Config

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: type[Config] | dict | None = None) -> Flask:
    """Build the Flask application; `config` is a Config class or a dict of overrides."""
    # Imported here, not at the top, so `mentor_match.optimizer` stays free of Flask.
    from flask import Flask

    from .extensions import (
        csrf,
        db,
        init_connection_checks,
        init_read_only_commits,
        init_reads,
        login_manager,
        migrate,
    )

    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    if isinstance(config, dict):
        app.config.from_object(Config)
        app.config.update(config)
    else:
        app.config.from_object(config or Config)
    _require_settings(app)

    from .inputs import init_inputs
    from .logs import init_logging

    # Its hooks come before every other, so each line logged while a request runs, a refusal
    # by another hook included, carries the request's id.
    init_logging(app)

    # First: its id converter must be in place before any route is added, and its body
    # limits before any hook reads a form.
    init_inputs(app)

    db.init_app(app)
    init_connection_checks(app)
    init_read_only_commits(app)
    init_reads(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)

    from . import models  # noqa: F401  (register every table with the metadata)
    from .limits import init_limits
    from .security import init_security

    init_security(app)
    init_limits(app)
    if app.config["PROXY_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Never X-Forwarded-Host: links come from SITE_URL and the Host is checked as sent.
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops
        )

    from .accounts.views import bp as accounts_bp
    from .admin.views import bp as admin_bp
    from .allowances.team_views import bp as team_bp
    from .allowances.views import bp as allowances_bp
    from .api.pages import bp as api_tokens_bp
    from .api.views import bp as api_bp
    from .availability.views import bp as availability_bp
    from .booking.views import bp as booking_bp
    from .busy.views import bp as busy_bp
    from .calendars.views import bp as calendars_bp
    from .home.views import bp as home_bp
    from .imports.views import bp as imports_bp
    from .organisation.views import bp as organisation_bp
    from .profiles.views import bp as profiles_bp
    from .progress.views import bp as progress_bp
    from .records.views import bp as records_bp
    from .reports.views import bp as reports_bp
    from .rounds.views import bp as rounds_bp
    from .sso.views import bp as sso_bp
    from .stages.views import bp as stages_bp
    from .tracking.views import bp as tracking_bp
    from .webhooks.views import bp as webhooks_bp

    for blueprint in (
        home_bp,
        accounts_bp,
        profiles_bp,
        availability_bp,
        busy_bp,
        admin_bp,
        rounds_bp,
        booking_bp,
        calendars_bp,
        tracking_bp,
        records_bp,
        reports_bp,
        progress_bp,
        team_bp,
        api_bp,
        api_tokens_bp,
        imports_bp,
        organisation_bp,
        stages_bp,
        webhooks_bp,
        sso_bp,
        allowances_bp,
    ):
        app.register_blueprint(blueprint)

    from .health import init_health

    init_health(app)

    from .cli import register_commands
    from .templating import init_templating

    register_commands(app)
    init_templating(app)
    return app


# Where a debug server or the test suite is reached when SITE_URL is not set.
LOCAL_SITE_URL = "http://127.0.0.1:5000"


class MissingSetting(RuntimeError):
    """A setting the site cannot run safely without, named so the operator can set it."""


def _require_settings(app: Flask) -> None:
    """Refuse to start without SITE_URL and SECRET_KEY, except in debug and tests.

    A guessed SITE_URL would put a wrong host in every mailed link; a made-up SECRET_KEY
    would differ between web processes and workers, so sessions and links signed by one
    would fail in another. Locally (debug, tests) both get safe stand-ins.
    """
    local = app.debug or app.testing
    if not app.config.get("SITE_URL"):
        if not local:
            raise MissingSetting(
                "SITE_URL is not set. Set it to the address people use to reach the site, "
                "e.g. SITE_URL=https://mentor.example.org: every link in mail is built on it."
            )
        app.config["SITE_URL"] = LOCAL_SITE_URL
    site = urlsplit(app.config["SITE_URL"])
    if site.scheme not in {"http", "https"} or not site.hostname:
        raise MissingSetting(
            f"SITE_URL={app.config['SITE_URL']!r} is not an http(s) address with a host name, "
            "e.g. https://mentor.example.org."
        )
    if not app.config.get("TRUSTED_HOSTS"):
        app.config["TRUSTED_HOSTS"] = [site.hostname]
    if not app.config.get("SECRET_KEY"):
        if not local:
            raise MissingSetting(
                "SECRET_KEY is not set. Set it to a long random value, the same in every web "
                "process and worker, e.g. from: python -c 'import secrets; "
                "print(secrets.token_hex(32))'."
            )
        _local_secret_key(app)


def _local_secret_key(app: Flask) -> None:
    """A random key kept under instance/, so a local server keeps its sessions across restarts."""
    key_file = Path(app.instance_path) / "secret_key"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    app.config["SECRET_KEY"] = key_file.read_text().strip()
