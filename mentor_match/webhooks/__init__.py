"""Outbound webhooks: events posted to Slack, Microsoft Teams or any system (signed JSON)."""
