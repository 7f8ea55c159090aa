"""Flask CLI commands; each is a thin wrapper over a service."""
import click
from flask import Flask


def register_commands(app: Flask) -> None:
    """Attach the project's commands to `flask`."""
    from .demo.seed import seed_demo_command

    app.cli.add_command(seed_demo_command)
