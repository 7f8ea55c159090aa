"""SCAFFOLD — to be replaced by the demo helper."""
import click


@click.command("seed-demo")
def seed_demo_command():
    """Seed the demo organisation."""
