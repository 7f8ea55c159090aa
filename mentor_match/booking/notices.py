"""What a booking tells others: events for integrations that poll, and mail to the people in it."""

from __future__ import annotations

from ..integrations.events import record_event
from ..links import absolute_url
from ..models import Person, SessionMode, SessionObserver, ShadowingSession
from ..rounds.notices import notify
from .rules import spoken_time


def seat_event(kind: str, seat: SessionObserver, **extra) -> None:
    """Tell pollers about a seat: who, with whom, when, in which mode."""
    session = seat.session
    record_event(
        kind,
        session_id=session.id,
        seat_id=seat.id,
        apprentice_id=seat.apprentice_id,
        master_id=session.master_id,
        starts_at=seat.starts_at.isoformat(),
        ends_at=seat.ends_at.isoformat(),
        mode=session.mode.value,
        **extra,
    )


def session_link(session: ShadowingSession) -> str:
    """The session's page, as a link for mail."""
    return absolute_url("booking.session", session_id=session.id)


def tell(person: Person, text: str, link: str, *, subject: str, footer: str | None = None) -> None:
    """A notice with its mail: greeting, the text, then the link (after `footer`, if given)."""
    notify(
        person,
        text,
        link,
        subject=subject,
        body=f"Hello {person.name},\n\n{text}\n\n{footer or ''}{link}\n",
    )


def _where(session: ShadowingSession) -> str:
    """Where to be, for mail: the site, or the video call's link."""
    from ..calendars.services import video_url

    if session.mode is SessionMode.IN_PERSON:
        return f"In the room at {session.site.name}." if session.site else "In the room."
    return f"On video: {video_url(session)}"


def tell_of_booking(seat: SessionObserver) -> None:
    """The master hears of the booking; the apprentice gets a confirmation to keep."""
    session = seat.session
    master, apprentice = session.master, seat.apprentice
    link = session_link(session)
    ics = absolute_url("calendars.session_ics", session_id=session.id)
    text = (
        f"{apprentice.name} booked a seat {session.mode.label.lower()} in your session on "
        f"{spoken_time(session.starts_at, master)}."
    )
    notify(
        master,
        text,
        link,
        subject="New booking",
        body=f"Hello {master.name},\n\n{text}\n{_where(session)}\n\n{link}\n",
    )
    confirmation = (
        f"You are booked to observe {master.name} on {spoken_time(session.starts_at, apprentice)}."
    )
    notify(
        apprentice,
        confirmation,
        link,
        subject="Your shadowing session is booked",
        body=(
            f"Hello {apprentice.name},\n\n{confirmation}\n{_where(session)}\n\n"
            f"Session page: {link}\nAdd it to your calendar: {ics}\n"
        ),
    )
