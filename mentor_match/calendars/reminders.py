"""Remind everyone in a session the day before, on the site and by mail, never twice."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from sqlalchemy import exists, select, update

from ..extensions import db
from ..integrations.events import SESSION_REMINDED, record_event
from ..models import Person, SessionMode, SessionObserver, ShadowingSession
from ..models.types import utcnow
from ..rounds.notices import notify
from ..zones import zone_or_utc
from . import services

log = logging.getLogger(__name__)

DEFAULT_HORIZON = timedelta(hours=24)


def send_reminders(now: datetime | None = None, horizon: timedelta = DEFAULT_HORIZON) -> int:
    """Remind the people of every live session starting within `horizon`; returns how many
    sessions were reminded.

    A session is due when it is not cancelled, has at least one live seat, starts between
    now and now + horizon, and has not been reminded. Each is claimed by a conditional update
    (reminded_at = now where it is still NULL) in the same transaction as its notifications,
    so two commands running at once remind it once. The notifications' mail goes out with
    `deliver_pending_mail`, which never sends a mail twice either.
    """
    now = now or utcnow()
    live_seat = exists().where(
        SessionObserver.session_id == ShadowingSession.id, SessionObserver.cancelled_at.is_(None)
    )
    due = db.session.scalars(
        select(ShadowingSession.id)
        .where(
            ShadowingSession.cancelled_at.is_(None),
            ShadowingSession.reminded_at.is_(None),
            ShadowingSession.starts_at >= now,
            ShadowingSession.starts_at <= now + horizon,
            live_seat,
        )
        .order_by(ShadowingSession.starts_at, ShadowingSession.id)
    ).all()
    db.session.commit()  # end the read, so each claim below is its own short transaction

    reminded = 0
    for session_id in due:
        claimed = db.session.execute(
            update(ShadowingSession)
            .where(
                ShadowingSession.id == session_id,
                ShadowingSession.reminded_at.is_(None),
                ShadowingSession.cancelled_at.is_(None),
            )
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            db.session.rollback()  # someone else reminded (or cancelled) it first
            continue
        session = db.session.get(ShadowingSession, session_id, populate_existing=True)
        _remind(session, now)
        db.session.commit()
        reminded += 1
    if reminded:
        log.info("reminded %d sessions", reminded)
    return reminded


def _remind(session: ShadowingSession, now: datetime) -> None:
    seats = session.observers_live
    link = services.session_link(session)
    ics_link = services.session_ics_link(session)
    video = services.video_url(session)
    people: list[Person] = [session.master, *(seat.apprentice for seat in seats)]
    # In the claim's transaction, as the notifications are: reminded once, told once.
    record_event(
        SESSION_REMINDED,
        session_id=session.id,
        master_id=session.master_id,
        apprentice_ids=[seat.apprentice_id for seat in seats],
        starts_at=session.starts_at.isoformat(),
        ends_at=session.ends_at.isoformat(),
        mode=session.mode.value,
    )
    for person in people:
        if not person.active:
            continue
        _remind_one(session, person, seats, now, link, ics_link, video)


def _remind_one(
    session: ShadowingSession,
    person: Person,
    seats: list[SessionObserver],
    now: datetime,
    link: str,
    ics_link: str,
    video: str | None,
) -> None:
    zone = zone_or_utc(person.timezone)
    starts, ends = session.starts_at.astimezone(zone), session.ends_at.astimezone(zone)
    day = _day_word(starts.date(), now.astimezone(zone).date())
    at = f"{starts:%H:%M}"
    abbreviation = starts.strftime("%Z")
    if session.master_id == person.id:
        names = _names([seat.apprentice.name for seat in seats])
        doing = f"you host {names}"
        skill = services.skill_label(session, seats)
    else:
        doing = f"you shadow {session.master.name}"
        skill = services.skill_label(session, [s for s in seats if s.apprentice_id == person.id])
    mode = SessionMode(session.mode)
    if video:
        where = f"{mode.label}: join the call at {video}"
    else:
        where = mode.label + (f" at {session.site.name}" if session.site else "")
    zone_name = "" if abbreviation == person.timezone else f" ({person.timezone.replace('_', ' ')})"
    when = f"{starts:%a %d %b %Y}, {starts:%H:%M}–{ends:%H:%M} {abbreviation}{zone_name}"

    text = (
        f"Reminder: {day} at {at} {abbreviation} {doing}" + (f" ({skill})" if skill else "") + "."
    )
    lines = [
        f"Hello {person.name},",
        "",
        f"A reminder: {day} {doing}" + (f" ({skill})" if skill else "") + ".",
        "",
        f"When: {when}",
        f"Where: {where}",
    ]
    if session.note:
        lines.append(f"Note: {session.note}")
    lines += ["", f"The session's page: {link}", f"Add it to your calendar: {ics_link}", ""]
    notify(person, text, link, subject=f"Reminder: shadowing {day} at {at}", body="\n".join(lines))


def _day_word(day: date, today: date) -> str:
    """'today', 'tomorrow', or 'on Wed 31 Mar' in the reader's own calendar."""
    if day == today:
        return "today"
    if day == today + timedelta(days=1):
        return "tomorrow"
    return f"on {day:%a %d %b}"


def _names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + f" and {names[-1]}"
