"""`python -m mentor_match.optimizer`: the `mentor-match-solve` command (see `cli`)."""

from .cli import cli

if __name__ == "__main__":
    cli()
