"""Flask CLI commands; each is a thin wrapper over a service."""

import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .extensions import db

taxonomy_cli = AppGroup("taxonomy", help="Areas of mastery and their micro skills.")


@taxonomy_cli.command("seed-default")
def seed_default_taxonomy_command() -> None:
    """Add the default areas of mastery and micro skills that are missing (safe to repeat)."""
    from .demo.taxonomy import seed_default_taxonomy

    created = seed_default_taxonomy()
    db.session.commit()
    if created:
        click.echo(f"Added {created} areas and micro skills from the default taxonomy.")
    else:
        click.echo("The default taxonomy is already there; nothing added.")


@click.command("seed-demo")
@click.option(
    "--reset",
    is_flag=True,
    help="Delete every row in the database first, then seed the demo afresh.",
)
def seed_demo_command(*, reset: bool) -> None:
    """Seed the demo organisation: sites, people, skills, availability and next month's plans."""
    from .demo.seed import DemoAlreadySeeded, seed_demo_organisation

    started = time.perf_counter()
    try:
        summary = seed_demo_organisation(reset=reset)
    except DemoAlreadySeeded:
        click.echo(
            "The demo is already seeded: people exist in this database. "
            "Nothing changed; run `flask --app wsgi seed-demo --reset` to start again."
        )
        return
    seconds = time.perf_counter() - started

    click.echo(
        f"Seeded the demo organisation in {seconds:.1f} s: {summary.people} people "
        f"({summary.masters} masters, {summary.apprentices} apprentices, {summary.both} both, "
        f"{summary.remote} remote) at {summary.sites} sites."
    )
    click.echo(
        f"{summary.taxonomy_created} areas and micro skills, {summary.weekly_windows} weekly "
        f"windows, {summary.availability_changes} one-off changes and {summary.month_plans} "
        f"month plans for {summary.month}."
    )
    click.echo("Most wanted micro skills (apprentices wanting / masters hosting):")
    for skill in summary.scarce_skills:
        click.echo(f"  {skill.full_name}: {skill.wanted_by} / {skill.hosted_by}")
    if summary.waiting_for_verification:
        click.echo("Masters waiting for verification (Admin > Stages to verify):")
        for waiting in summary.waiting_for_verification:
            click.echo(f"  {waiting.name}: {waiting.stage.value} in {waiting.micro_skill}")
    site_url = current_app.config["SITE_URL"]
    click.echo(f"\nLog in at {site_url} as any of these; every demo password is {summary.password}")
    for login in summary.logins:
        click.echo(f"  {login.role:<22} {login.email:<30} {login.name} ({login.where})")


def register_commands(app: Flask) -> None:
    """Attach the project's commands to `flask`."""
    from .backup.cli import backup_cli
    from .calendars.cli import sessions_cli
    from .operations.cli import scheduler_command
    from .rounds.cli import rounds_cli

    app.cli.add_command(seed_demo_command)
    app.cli.add_command(taxonomy_cli)
    app.cli.add_command(rounds_cli)
    app.cli.add_command(sessions_cli)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(backup_cli)
