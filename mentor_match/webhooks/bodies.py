"""What each kind of endpoint receives for an event: a chat message in words, or the event.

Chat messages go to a channel (one message per event): an incoming webhook posts where it was
made, so the channel is chosen in Slack or Teams when the webhook is created. Times are given
in UTC and in CHAT_TIME_ZONE (the site's default zone, Europe/London unless set), since a
channel's readers are in more than one zone; links lead to the site at SITE_URL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app

from ..extensions import db
from ..integrations import events
from ..links import absolute_url
from ..models import EndpointKind, Event, Person


@dataclass(frozen=True)
class Message:
    """An event in words: a headline, its details, and a link to the page it concerns."""

    headline: str
    details: tuple[str, ...]
    link: str
    link_label: str


def body_for(kind: EndpointKind, event: Event) -> bytes:
    """The request body an endpoint of `kind` receives for `event`."""
    if kind is EndpointKind.SIGNED:
        document = event_document(event)
    elif kind is EndpointKind.SLACK:
        document = slack_message(message_for(event))
    else:
        document = teams_card(message_for(event))
    return json.dumps(document, sort_keys=True).encode()


def event_document(event: Event) -> dict:
    """The event as signed endpoints receive it; `id` is the same at every attempt and replay,
    so a receiver can tell it has seen it."""
    return {
        "id": f"evt_{event.id}",
        "type": event.kind,
        "created_at": event.created_at.isoformat(),
        "data": json.loads(event.payload_json),
    }


def slack_message(message: Message) -> dict:
    """A Slack incoming-webhook message: `text` for notifications, `blocks` for the channel."""
    return {
        "text": message.headline,
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*{_slack(message.headline)}*"},
            },
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "\n".join(_slack(line) for line in message.details),
                },
            },
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"<{message.link}|{_slack(message.link_label)}>"}
                ],
            },
        ],
    }


def teams_card(message: Message) -> dict:
    """An Adaptive Card in a message, as Teams' Workflows webhooks ("Send webhook alerts to a
    channel") take it; the Office 365 connectors that took MessageCards retired in 2026."""
    card = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": message.headline, "weight": "Bolder", "wrap": True},
            *({"type": "TextBlock", "text": line, "wrap": True} for line in message.details),
        ],
        "actions": [{"type": "Action.OpenUrl", "title": message.link_label, "url": message.link}],
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def _slack(text: str) -> str:
    """Text safe in Slack mrkdwn: &, < and > are its control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message_for(event: Event) -> Message:
    """The event in words people read."""
    data = json.loads(event.payload_json)
    if event.kind == events.ROUND_PUBLISHED:
        return Message(
            f"The matching round {data['round']} is published",
            (f"{data['pairings']} pairings, {data['sessions']} sessions.",),
            absolute_url("rounds.show", month=data["round"]),
            "Open the round",
        )
    session_link = absolute_url("booking.session", session_id=data["session_id"])
    master = _name(data.get("master_id"))
    if event.kind == events.SESSION_REMINDED:
        who = ", ".join(_name(person) for person in data.get("apprentice_ids", []))
        return Message(
            f"Reminder: {master}'s session starts {_when(data['starts_at'])}",
            (f"Shadowing: {who}." if who else "No one has a seat yet.",),
            session_link,
            "Open the session",
        )
    apprentice = _name(data.get("apprentice_id"))
    if event.kind == events.ATTENDANCE_CONFIRMED:
        return Message(
            f"{master} confirmed {apprentice}'s attendance",
            (f"{data['minutes']} minutes of shadowing.",),
            session_link,
            "Open the session",
        )
    when = f"When: {_when(data['starts_at'])} to {_time_only(data['ends_at'])}"
    mode = f"How: {data['mode'].replace('_', ' ')}"
    headline = {
        events.SESSION_BOOKED: f"{apprentice} booked a seat in {master}'s session",
        events.SESSION_CANCELLED: f"{apprentice}'s seat in {master}'s session is cancelled",
        events.SESSION_MOVED: f"{apprentice}'s seat with {master} moved to a new time",
    }[event.kind]
    details = [when, mode]
    if event.kind == events.SESSION_CANCELLED and data.get("by"):
        details.append(f"Cancelled by the {data['by']}.")
    return Message(headline, tuple(details), session_link, "Open the session")


def _name(person_id: int | None) -> str:
    person = db.session.get(Person, person_id) if person_id else None
    return person.name if person else "someone no longer on the site"


def chat_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["CHAT_TIME_ZONE"])


def _when(iso: str) -> str:
    """'Tue 08 Dec 2026, 09:00 UTC (09:00 Europe/London)'."""
    moment = datetime.fromisoformat(iso)
    local = moment.astimezone(chat_zone())
    return f"{moment:%a %d %b %Y, %H:%M} UTC ({local:%H:%M} {chat_zone().key.replace('_', ' ')})"


def _time_only(iso: str) -> str:
    moment = datetime.fromisoformat(iso)
    return f"{moment:%H:%M} UTC"
