"""A person's calendar feed: saving or removing its address, fetching it, and the busy times
it gives, which availability takes out of what rounds and booking see.

A person's busy times are theirs alone: nothing here shows them to anyone else, and the only
trace others could see is availability that is no longer offered.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, select

from .. import outbound
from ..errors import Refusal
from ..extensions import db
from ..models import BusyInterval, CalendarFeed, OrganisationSettings, Person, utcnow
from ..organisation.services import organisation_settings
from ..sealing import Unsealable, seal, unseal
from ..tracking.hours import record_change
from .parsing import BusyTimes, FeedError, Span, busy_times

log = logging.getLogger(__name__)

# A private calendar address gives read access to the calendar: sealed at rest
# (mentor_match/sealing.py) with a key derived for this use.
SEALING_PURPOSE = b"mentor-match: calendar feed addresses"
MAX_ADDRESS_LENGTH = 2000
MAX_FEED_BYTES = 5 * 1024 * 1024  # a year of a busy calendar is well under 1 MB
FETCH_TIMEOUT_SECONDS = 15
# Busy times are read from the start of the person's current month to this far ahead: the
# month they plan next (rounds) and what /book offers both lie inside it.
DAYS_AHEAD = 92

NO_ADDRESS = "Paste your calendar's private address."
TOO_LONG = f"That address is longer than {MAX_ADDRESS_LENGTH} characters; check what you pasted."
NOT_WEB = (
    "Paste an address that starts with https:// (or webcal://, as Apple Calendar and Outlook "
    "give it)."
)
NOT_AN_ADMIN = "Only an admin can change the organisation's settings."
UNREADABLE = (
    "The saved address can no longer be read (the site's secret key changed). Paste your "
    "calendar's address again."
)


@dataclass(frozen=True)
class FeedState:
    """What the availability page says about a person's feed, for one month."""

    host: str
    fetched_at: datetime | None
    refreshed_at: datetime | None
    error: str
    event_count: int
    busy_hours_in_month: float
    covers_until: datetime | None


# Saving and removing ------------------------------------------------------------------------


def clean_address(text: str) -> str:
    """The address as it will be fetched (webcal:// read as https://), or a Refusal."""
    address = (text or "").strip()
    if not address:
        raise Refusal(problems={"address": NO_ADDRESS})
    if len(address) > MAX_ADDRESS_LENGTH:
        raise Refusal(problems={"address": TOO_LONG})
    scheme, _, rest = address.partition("://")
    if scheme.lower() == "webcal":  # the same feed over https, as every calendar app reads it
        address = f"https://{rest}"
    try:
        parts = urlsplit(address)
        parts.port  # noqa: B018 - reading it checks the port is a number in range
    except ValueError:
        raise Refusal(problems={"address": NOT_WEB}) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise Refusal(problems={"address": NOT_WEB})
    return address


def feed_of(person: Person) -> CalendarFeed | None:
    return db.session.scalar(select(CalendarFeed).where(CalendarFeed.person_id == person.id))


def save_address(person: Person, text: str) -> CalendarFeed:
    """Keep (sealed) the person's calendar address, replacing any; the caller queues a fetch."""
    address = clean_address(text)
    feed = feed_of(person)
    if feed is None:
        feed = CalendarFeed(person_id=person.id)
        db.session.add(feed)
    feed.sealed_address = seal(address, purpose=SEALING_PURPOSE)
    feed.host = (urlsplit(address).hostname or "")[:255]
    feed.saved_at = utcnow()
    feed.fetched_at = None
    feed.error = ""
    db.session.commit()
    return feed


def remove_feed(person: Person) -> bool:
    """Forget the person's calendar address and every busy time it gave; False if none."""
    removed = db.session.execute(delete(CalendarFeed).where(CalendarFeed.person_id == person.id))
    db.session.execute(delete(BusyInterval).where(BusyInterval.person_id == person.id))
    db.session.commit()
    return bool(removed.rowcount)


# Fetching -----------------------------------------------------------------------------------


def private_addresses_allowed() -> bool:
    return bool(organisation_settings().allow_private_calendar_addresses)


def save_private_addresses_setting(admin: Person, *, allow: bool) -> bool:
    """An admin allows (or not) calendar addresses on private networks; True if it changed."""
    if not (admin.is_admin and admin.active):
        raise Refusal(NOT_AN_ADMIN)
    settings = db.session.get(OrganisationSettings, 1)
    if settings is None:
        settings = organisation_settings()
        db.session.add(settings)
    before = bool(settings.allow_private_calendar_addresses)
    settings.allow_private_calendar_addresses = allow
    if before != allow:
        words = {True: "yes", False: "no"}
        record_change(
            admin,
            "organisation_settings",
            settings.id,
            "changed",
            f"allow_private_calendar_addresses: {words[before]}",
            f"allow_private_calendar_addresses: {words[allow]}",
        )
    db.session.commit()
    return before != allow


def window_for(person: Person, now: datetime) -> tuple[datetime, datetime]:
    """The UTC span a fetch reads: the person's current month from its start, and on."""
    local = now.astimezone(person.zone)
    first = datetime.combine(local.date().replace(day=1), time(0), person.zone)
    return first.astimezone(UTC), now + timedelta(days=DAYS_AHEAD)


def refresh_feed(person_id: int) -> str:
    """Fetch a person's feed and store its busy times; the error in words, or "" when it worked.

    A failed fetch keeps the busy times of the last good one: an unreachable calendar server
    does not make its owner look free.
    """
    feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.person_id == person_id))
    person = db.session.get(Person, person_id)
    if feed is None or person is None:
        return ""
    now = utcnow()
    start, end = window_for(person, now)
    sealed, host, zone = feed.sealed_address, feed.host, person.zone
    allow_private = private_addresses_allowed()
    # No transaction stays open while another server takes its time to answer.
    db.session.rollback()
    try:
        found = _read_feed(
            sealed, host=host, zone=zone, allow_private=allow_private, start=start, end=end
        )
        error = ""
    except FeedError as problem:
        found, error = None, str(problem)[:500]
    # The person may have removed or replaced the address while it was read: lock the row and
    # write nothing if it is gone or changed (a replaced address queued a read of its own).
    feed = db.session.scalar(
        select(CalendarFeed)
        .where(CalendarFeed.person_id == person_id, CalendarFeed.sealed_address == sealed)
        .with_for_update()
    )
    if feed is None:
        db.session.rollback()
        return ""
    feed.fetched_at = now
    feed.error = error
    if found is None:
        db.session.commit()
        log.info("calendar feed of person %s not refreshed: %s", person_id, error)
        return error
    db.session.execute(delete(BusyInterval).where(BusyInterval.person_id == person_id))
    if found.spans:
        db.session.execute(
            insert(BusyInterval),
            [
                {"person_id": person_id, "starts_at": begins, "ends_at": ends}
                for begins, ends in found.spans
            ],
        )
    feed.refreshed_at = now
    feed.covers_until = end
    feed.event_count = found.event_count
    db.session.commit()
    return ""


def _read_feed(
    sealed: str,
    *,
    host: str,
    zone: ZoneInfo,
    allow_private: bool,
    start: datetime,
    end: datetime,
) -> BusyTimes:
    """Fetch and read one feed, with no database work: FeedError says what went wrong."""
    try:
        address = unseal(sealed, purpose=SEALING_PURPOSE)
    except Unsealable:
        raise FeedError(UNREADABLE) from None
    result = outbound.fetch(
        address,
        max_bytes=MAX_FEED_BYTES,
        timeout=FETCH_TIMEOUT_SECONDS,
        allow_private=allow_private,
    )
    if result.error is not None:
        raise FeedError(result.error)
    if not result.ok:
        raise FeedError(_status_words(result.status or 0, host))
    return busy_times(result.body, zone=zone, start=start, end=end)


def _status_words(status: int, host: str) -> str:
    if status in (401, 403):
        return (
            f"{host} refused to give the calendar (HTTP {status}): the address may have been "
            "reset. Copy the private address again from your calendar's settings."
        )
    if status == 404:
        return (
            f"{host} has no calendar at that address (HTTP 404). Copy the private address "
            "again from your calendar's settings."
        )
    if 300 <= status < 400:
        return f"{host} sent a redirect without saying where to (HTTP {status})."
    return f"{host} could not give the calendar just now (HTTP {status}); it is tried again later."


def feed_owners() -> list[int]:
    """The ids of the active people with a calendar feed, for the scheduled refresh."""
    return list(
        db.session.scalars(
            select(CalendarFeed.person_id)
            .join(Person, Person.id == CalendarFeed.person_id)
            .where(Person.active)
            .order_by(CalendarFeed.person_id)
        )
    )


# Reading busy times -------------------------------------------------------------------------


def busy_by_person(
    person_ids: Iterable[int] | None, start: datetime, end: datetime
) -> dict[int, list[Span]]:
    """Busy spans overlapping [start, end) by person id, sorted; everyone's when ids is None."""
    query = select(BusyInterval.person_id, BusyInterval.starts_at, BusyInterval.ends_at).where(
        BusyInterval.ends_at > start, BusyInterval.starts_at < end
    )
    if person_ids is not None:
        query = query.where(BusyInterval.person_id.in_(list(person_ids)))
    found: dict[int, list[Span]] = defaultdict(list)
    for person_id, begins, ends in db.session.execute(query.order_by(BusyInterval.starts_at)):
        found[person_id].append((begins, ends))
    return found


def feed_state(person: Person, start: datetime, end: datetime) -> FeedState | None:
    """The person's own feed and their busy hours in [start, end), or None without a feed."""
    feed = feed_of(person)
    if feed is None:
        return None
    seconds = 0.0
    for begins, ends in busy_by_person([person.id], start, end).get(person.id, []):
        seconds += (min(ends, end) - max(begins, start)).total_seconds()
    return FeedState(
        host=feed.host,
        fetched_at=feed.fetched_at,
        refreshed_at=feed.refreshed_at,
        error=feed.error,
        event_count=feed.event_count,
        busy_hours_in_month=seconds / 3600,
        covers_until=feed.covers_until,
    )


def feeds_with_errors() -> int:
    """How many feeds failed their last fetch (the admin page shows the number, no names)."""
    return (
        db.session.scalar(select(func.count(CalendarFeed.id)).where(CalendarFeed.error != "")) or 0
    )
