"""Outbound webhooks: events posted to Slack, Microsoft Teams or any system (signed JSON)."""

# An endpoint's address and signing secret are sealed at rest (mentor_match/sealing.py) with a
# key of their own, derived for this use.
SEALING_PURPOSE = b"mentor-match sealed settings v1"
