"""Monthly matching rounds: open, confirm, run, review, publish, accept."""
