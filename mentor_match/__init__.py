"""Mentor Match: learn a craft by watching a master do it."""
from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from .config import PROJECT_ROOT, Config

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: type[Config] | dict | None = None) -> Flask:
    """Build the Flask application; `config` is a Config class or a dict of overrides."""
    # Imported here, not at the top, so `mentor_match.optimizer` stays free of Flask.
    from flask import Flask

    from .extensions import (
        csrf, db, init_connection_checks, init_read_only_commits, init_reads, login_manager,
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
    _ensure_secret_key(app)
    logging.basicConfig(level=logging.INFO)

    from .inputs import init_inputs

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
    from .security import init_security

    init_security(app)

    from .accounts.views import bp as accounts_bp
    from .admin.views import bp as admin_bp
    from .api.pages import bp as api_tokens_bp
    from .api.views import bp as api_bp
    from .availability.views import bp as availability_bp
    from .booking.views import bp as booking_bp
    from .calendars.views import bp as calendars_bp
    from .home.views import bp as home_bp
    from .imports.views import bp as imports_bp
    from .profiles.views import bp as profiles_bp
    from .progress.views import bp as progress_bp
    from .records.views import bp as records_bp
    from .reports.views import bp as reports_bp
    from .rounds.views import bp as rounds_bp
    from .tracking.views import bp as tracking_bp

    for blueprint in (
        home_bp, accounts_bp, profiles_bp, availability_bp, admin_bp, rounds_bp, booking_bp,
        calendars_bp, tracking_bp, records_bp, reports_bp, progress_bp,
        api_bp, api_tokens_bp, imports_bp,
    ):
        app.register_blueprint(blueprint)

    from .cli import register_commands
    from .templating import init_templating

    register_commands(app)
    init_templating(app)
    return app


def _ensure_secret_key(app: Flask) -> None:
    """Use SECRET_KEY from the environment, or a random one kept under instance/ for local use."""
    if app.config.get("SECRET_KEY"):
        return
    key_file = Path(app.instance_path) / "secret_key"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    app.config["SECRET_KEY"] = key_file.read_text().strip()
