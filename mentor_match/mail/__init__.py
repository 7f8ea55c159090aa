"""Outgoing mail: one service, SMTP when configured, otherwise an outbox on the site."""
