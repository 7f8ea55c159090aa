"""Sessions as iCalendar events, each person's private feed, and links to a session's video call.

Every instant is written in UTC (`DTSTART:20270328T003000Z`): UTC has no gaps or repeats, so
a calendar app shows the right local time on both sides of any daylight-saving change.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from flask import current_app
from icalendar import Calendar, Event
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from ..allowances.protected import CATEGORY, LearningTime, learning_time
from ..api.tokens import digest_of
from ..extensions import db
from ..links import absolute_url
from ..models import MicroSkill, Pairing, Person, SessionMode, SessionObserver, ShadowingSession
from ..models.types import utcnow

DEFAULT_VIDEO_BASE_URL = "https://meet.jit.si"
PRODID = "-//Mentor Match//Shadowing sessions//EN"
# A feed shows sessions from this long ago on, and keeps cancelled ones this long, so that
# subscribed calendars see the cancellation and take the session off.
FEED_PAST = timedelta(days=30)
# How often calendar apps are asked to fetch the feed again (they may choose to wait longer).
FEED_REFRESH = "PT1H"
# Tokens are made by new_feed_token (43 characters); longer ones are refused unread.
MAX_TOKEN_LENGTH = 64


# Links -------------------------------------------------------------------------------------


def video_url(session: ShadowingSession) -> str | None:
    """The session's video call for a virtual session (VIDEO_BASE_URL/room); None in person."""
    if SessionMode(session.mode) is not SessionMode.VIRTUAL:
        return None
    base = current_app.config.get("VIDEO_BASE_URL") or DEFAULT_VIDEO_BASE_URL
    return f"{base.rstrip('/')}/{session.video_room}"


def session_link(session: ShadowingSession) -> str:
    """The session's page on the site, as a full URL."""
    return absolute_url("booking.session", session_id=session.id)


def session_ics_link(session: ShadowingSession) -> str:
    return absolute_url("calendars.session_ics", session_id=session.id)


def feed_urls(token: str) -> tuple[str, str]:
    """A feed address as a web link (https on a site served over https) and as a webcal://
    link, which opens a calendar app's subscribe dialog when clicked."""
    web = absolute_url("calendars.feed", token=token)
    return web, "webcal://" + web.split("://", 1)[1]


# Who is in a session ---------------------------------------------------------------------


def seat_of(session: ShadowingSession, person: Person) -> SessionObserver | None:
    return next((seat for seat in session.observers if seat.apprentice_id == person.id), None)


def is_participant(session: ShadowingSession, person: Person) -> bool:
    """The session's master, or an observer whose seat is not cancelled."""
    if session.master_id == person.id:
        return True
    seat = seat_of(session, person)
    return seat is not None and seat.cancelled_at is None


def skill_label(session: ShadowingSession, seats: list[SessionObserver]) -> str:
    """What the master will be doing: the session's micro skill, else the pairings' skills."""
    if session.micro_skill is not None:
        return session.micro_skill.full_name
    names = {
        skill.full_name
        for seat in seats
        if seat.pairing is not None
        for skill in seat.pairing.micro_skills
    }
    return ", ".join(sorted(names))


def _observer_count(count: int) -> str:
    return f"{count} observer{'s' if count != 1 else ''}"


def summary_for(session: ShadowingSession, person: Person) -> str:
    """ "Shadowing Amara Okafor: Negotiation: Anchoring" for an observer,
    "Hosting 2 observers: Negotiation: Anchoring" for the master."""
    if session.master_id == person.id:
        seats = session.observers_live
        title = f"Hosting {_observer_count(len(seats))}" if seats else "Hosting (no observers yet)"
        skill = skill_label(session, seats)
    else:
        seat = seat_of(session, person)
        title = f"Shadowing {session.master.name}"
        skill = skill_label(session, [seat] if seat else [])
    return f"{title}: {skill}" if skill else title


def cancelled_for(session: ShadowingSession, person: Person) -> datetime | None:
    """When the session stopped being on the person's calendar: cancelled, or their seat was."""
    if session.cancelled_at is not None:
        return session.cancelled_at
    if session.master_id == person.id:
        return None
    seat = seat_of(session, person)
    if seat is None:
        return session.created_at  # not theirs at all; callers only ask for their own
    return seat.cancelled_at


# Events and calendars ----------------------------------------------------------------------


def session_event(
    session: ShadowingSession,
    for_person: Person,
    now: datetime | None = None,
    *,
    protected: LearningTime | None = None,
) -> Event:
    """The session as a VEVENT seen by its master or one of its observers; `protected` when
    it falls within their granted learning time, so their colleagues see the time as taken."""
    now = now or utcnow()
    cancelled = cancelled_for(session, for_person) is not None
    video = video_url(session)
    # An observer who gave up their seat can no longer open the session's page.
    link = session_link(session) if is_participant(session, for_person) else None

    event = Event()
    event.add("uid", f"session-{session.id}@mentor-match")
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", session.starts_at.astimezone(UTC))
    event.add("dtend", session.ends_at.astimezone(UTC))
    event.add("summary", summary_for(session, for_person))
    location = video if video else (session.site.name if session.site else "")
    if location:
        event.add("location", location)
    if link:
        event.add("url", link)
    description = _description(session, for_person, video, link, cancelled=cancelled)
    if protected is not None and not cancelled:
        event.add("categories", [CATEGORY])
        description += "\n\n" + protected.line
    event.add("description", description)
    # Each move, and then a cancellation, raises SEQUENCE, so calendars holding the event
    # take the new version in place of the old.
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("sequence", session.revision + (1 if cancelled else 0))
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    return event


def _description(
    session: ShadowingSession,
    person: Person,
    video: str | None,
    link: str | None,
    *,
    cancelled: bool,
) -> str:
    lines = []
    if cancelled:
        lines += ["Cancelled: this session will not take place.", ""]
    if session.master_id == person.id:
        seats = session.observers_live
        names = ", ".join(seat.apprentice.name for seat in seats)
        lines.append(
            f"You host {_observer_count(len(seats))}: {names}."
            if seats
            else "You host this session; no one has taken a seat yet."
        )
        skill = skill_label(session, seats)
    else:
        seat = seat_of(session, person)
        lines.append(f"You shadow {session.master.name} at work.")
        skill = skill_label(session, [seat] if seat else [])
    if skill:
        lines.append(f"Micro skill: {skill}")
    mode = SessionMode(session.mode)
    if video:
        lines.append(f"{mode.label}: join the call at {video}")
    else:
        lines.append(mode.label + (f" at {session.site.name}" if session.site else ""))
    if session.note:
        lines.append(f"Note: {session.note}")
    if link:
        lines += ["", f"Session page: {link}"]
    return "\n".join(lines)


def _calendar(name: str | None = None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    if name:
        calendar.add("name", name)
        calendar.add("x-wr-calname", name)
        calendar.add("x-wr-caldesc", "Shadowing sessions you host or observe on Mentor Match")
        calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", FEED_REFRESH)
    return calendar


def session_calendar(session: ShadowingSession, for_person: Person) -> bytes:
    """One session as an .ics file, for the person's own calendar."""
    calendar = _calendar()
    calendar.add_component(
        session_event(
            session, for_person, protected=learning_time(for_person, [session]).get(session.id)
        )
    )
    return calendar.to_ical()


def feed_sessions(person: Person, now: datetime | None = None) -> list[ShadowingSession]:
    """Every session the person hosts or observes that starts from FEED_PAST ago on,
    leaving out those cancelled (for them) longer than FEED_PAST ago."""
    now = now or utcnow()
    since = now - FEED_PAST
    observed = select(SessionObserver.session_id).where(SessionObserver.apprentice_id == person.id)
    sessions = (
        db.session.scalars(
            select(ShadowingSession)
            .where(
                or_(ShadowingSession.master_id == person.id, ShadowingSession.id.in_(observed)),
                ShadowingSession.starts_at >= since,
            )
            .options(
                joinedload(ShadowingSession.master),
                joinedload(ShadowingSession.site),
                joinedload(ShadowingSession.micro_skill).joinedload(MicroSkill.area),
                selectinload(ShadowingSession.observers).joinedload(SessionObserver.apprentice),
                selectinload(ShadowingSession.observers)
                .selectinload(SessionObserver.pairing)
                .selectinload(Pairing.micro_skills)
                .joinedload(MicroSkill.area),
            )
            .order_by(ShadowingSession.starts_at, ShadowingSession.id)
        )
        .unique()
        .all()
    )
    kept = []
    for session in sessions:
        cancelled = cancelled_for(session, person)
        if cancelled is None or cancelled >= since:
            kept.append(session)
    return kept


def feed_calendar(person: Person, now: datetime | None = None) -> bytes:
    """The person's whole feed as an .ics file."""
    now = now or utcnow()
    calendar = _calendar(f"Mentor Match: {person.name}")
    sessions = feed_sessions(person, now)
    protected = learning_time(person, sessions)
    for session in sessions:
        calendar.add_component(
            session_event(session, person, now, protected=protected.get(session.id))
        )
    return calendar.to_ical()


# The feed's secret ---------------------------------------------------------------------


def has_feed(person: Person) -> bool:
    """Whether the person has made a feed address (it is shown only when made)."""
    return person.calendar_token_digest is not None


def person_for_token(token: str) -> Person | None:
    """The active person whose calendar token this is, or None."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    # Only the digest is stored: equal digests mean equal tokens, and a digest lookup
    # leaks nothing through timing about the token itself.
    person = db.session.scalar(
        select(Person).where(Person.calendar_token_digest == digest_of(token))
    )
    return person if person is not None and person.active else None


def new_feed_token(person: Person) -> str:
    """A new feed token for the person, to show once; any old feed address stops working."""
    token = secrets.token_urlsafe(32)
    person.calendar_token_digest = digest_of(token)
    db.session.commit()
    return token
