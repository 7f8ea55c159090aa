"""Accounts: sign-up, log-in and log-out, passwords and their reset."""
