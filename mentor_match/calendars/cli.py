"""`flask sessions ...`: commands for a scheduler.

flask sessions send-reminders [--hours 24]   remind people of sessions starting soon, then mail
"""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import AppGroup

sessions_cli = AppGroup("sessions", help="Shadowing sessions: reminders for a scheduler.")


@sessions_cli.command("send-reminders")
@click.option(
    "--hours",
    type=click.FloatRange(min=0, min_open=True),
    default=24.0,
    show_default=True,
    help="Remind sessions starting within this many hours.",
)
def send_reminders_command(hours: float) -> None:
    """Remind the master and observers of every session starting soon, once, then send mail."""
    from ..rounds.notices import deliver_pending_mail
    from .reminders import send_reminders

    reminded = send_reminders(horizon=timedelta(hours=hours))
    click.echo(f"Reminded {reminded} session{'s' if reminded != 1 else ''}.")
    sent = deliver_pending_mail()
    click.echo(f"Sent {sent} mail{'s' if sent != 1 else ''}.")
