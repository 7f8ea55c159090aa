"""Adding and deactivating webhook endpoints, and the pages of deliveries admins read."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import select

from ..errors import Refusal
from ..extensions import db
from ..integrations.events import KINDS
from ..models import EndpointKind, WebhookDelivery, WebhookEndpoint
from ..sealing import seal
from . import SEALING_PURPOSE
from .signing import new_secret

DELIVERIES_PER_PAGE = 50
URL_PROBLEM = "The address must be a full web address starting with https://."


@dataclass(frozen=True)
class NewEndpoint:
    """An endpoint just added, and its signing secret (signed endpoints only), shown once."""

    endpoint: WebhookEndpoint
    signing_secret: str | None


def add_endpoint(name: str, kind: EndpointKind, url: str, event_kinds: list[str]) -> NewEndpoint:
    """Add an active endpoint; commits. Refusal names each problem with the input."""
    name, url = name.strip(), url.strip()
    problems: dict[str, str] = {}
    if not name:
        problems["name"] = "Give the endpoint a name, such as the channel it posts to."
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        problems["url"] = URL_PROBLEM
    unknown = sorted(set(event_kinds) - set(KINDS))
    if unknown:
        problems["event_kinds"] = f"Unknown event kinds: {', '.join(unknown)}."
    elif not event_kinds:
        problems["event_kinds"] = "Choose at least one kind of event to send."
    if problems:
        raise Refusal(problems=problems)
    secret = new_secret() if kind is EndpointKind.SIGNED else None
    endpoint = WebhookEndpoint(
        name=name[:100],
        kind=kind,
        sealed_url=seal(url, purpose=SEALING_PURPOSE),
        # The host only: a chat webhook's path is its credential.
        url_hint=f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…"[:300],
        sealed_secret=seal(secret, purpose=SEALING_PURPOSE) if secret else "",
        event_kinds=" ".join(kind_ for kind_ in KINDS if kind_ in event_kinds),
        active=True,
    )
    db.session.add(endpoint)
    db.session.commit()
    return NewEndpoint(endpoint, secret)


def deactivate(endpoint: WebhookEndpoint) -> None:
    """Stop posting to the endpoint; deliveries waiting for it are not sent. Commits."""
    endpoint.active = False
    db.session.commit()


def endpoints() -> list[WebhookEndpoint]:
    """Every endpoint, active ones first, newest first."""
    return list(
        db.session.scalars(
            select(WebhookEndpoint).order_by(
                WebhookEndpoint.active.desc(), WebhookEndpoint.id.desc()
            )
        )
    )


def deliveries_page(page: int) -> Pagination:
    """The delivery log, newest first."""
    query = select(WebhookDelivery).order_by(WebhookDelivery.id.desc())
    return db.paginate(query, page=page, per_page=DELIVERIES_PER_PAGE, error_out=False)
