"""Mastery records: a signed, shareable snapshot of someone's verified mastery, and its check."""
