"""Connecting other systems: the event log they poll (and, later, push to)."""
