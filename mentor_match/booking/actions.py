"""What people do with sessions: book or join a seat, open, move and cancel sessions.

Each action is one transaction: it locks the people involved (`booking.locks`), checks the
rules (`booking.rules`), changes the rows, records the events and notices, and commits; a
refusal rolls everything back. `cancel_seats_no_longer_hosted` alone leaves the commit to its
caller, which takes a master's stage away in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..errors import Refusal
from ..extensions import db
from ..integrations.events import SESSION_BOOKED, SESSION_CANCELLED, SESSION_MOVED
from ..links import absolute_url
from ..models import (
    Pairing,
    Person,
    Response,
    Round,
    SessionMode,
    SessionObserver,
    ShadowingSession,
    utcnow,
)
from ..stages.hosting import hosted_skills
from .grid import own_time_grid
from .locks import flush_seats, lock
from .notices import seat_event, session_link, tell, tell_of_booking
from .rules import (
    MAX_OPEN_SEATS,
    NOTHING_HOSTED,
    check_apprentice_limits,
    check_grid,
    check_master_free,
    check_master_limits,
    check_notice,
    check_times,
    grid_between,
    local_month,
    peak_seats,
    plan_seats,
    refuse_if_busy,
    refuse_if_calendar_busy,
    seat_clash,
    skills_to_watch,
    spoken_time,
)

# Booking ----------------------------------------------------------------------------------


def book(
    apprentice: Person,
    master: Person,
    starts_at: datetime,
    ends_at: datetime,
    mode: SessionMode,
    micro_skill_id: int | None = None,
) -> SessionObserver:
    """Book a seat with a master at a time they are free, joining their session if one exists.

    A new session is for `micro_skill_id`, one the master can show the apprentice; without
    it, for the first of those (the booking page asks when there is more than one).
    """
    try:
        seat = _book(apprentice, master, starts_at, ends_at, mode, micro_skill_id=micro_skill_id)
        seat_event(SESSION_BOOKED, seat)
        tell_of_booking(seat)  # in the same transaction: never booked and not told
        db.session.commit()
    except Refusal:
        db.session.rollback()
        raise
    return seat


def join(apprentice: Person, session: ShadowingSession) -> SessionObserver:
    """Take a seat in an existing session, such as one a master opened."""
    return book(apprentice, session.master, session.starts_at, session.ends_at, session.mode)


def _live_session_at(
    master: Person, starts_at: datetime, ends_at: datetime, mode: SessionMode
) -> ShadowingSession | None:
    """The master's live session at exactly that time in that mode, if there is one to join."""
    return db.session.scalars(
        select(ShadowingSession)
        .where(
            ShadowingSession.master_id == master.id,
            ShadowingSession.starts_at == starts_at,
            ShadowingSession.ends_at == ends_at,
            ShadowingSession.mode == mode,
            ShadowingSession.cancelled_at.is_(None),
        )
        .limit(1)
    ).first()


def _live_seats_in(session: ShadowingSession, *where) -> int:
    """How many live seats the session has (of those matching `where`)."""
    return db.session.scalar(
        select(func.count())
        .select_from(SessionObserver)
        .where(
            SessionObserver.session_id == session.id,
            SessionObserver.cancelled_at.is_(None),
            *where,
        )
    )


def _book(
    apprentice: Person,
    master: Person,
    starts_at: datetime,
    ends_at: datetime,
    mode: SessionMode,
    exclude_seat: int | None = None,
    micro_skill_id: int | None = None,
) -> SessionObserver:
    """The seat, checked and flushed but not committed: `book` and `reschedule_seat` commit."""
    check_times(starts_at, ends_at)
    lock(apprentice, master)
    existing = _live_session_at(master, starts_at, ends_at, mode)
    if existing is None:
        # A new session lies on the grid of both people; joining one keeps its time, chosen
        # already (by the master, or by a round on its own grid).
        check_grid(
            grid_between(master, apprentice, local_month(starts_at, master)),
            starts_at,
            ends_at,
            with_whom=f" with {master.name}",
        )
    joining_open = existing is not None and existing.opened_by_master
    skills = skills_to_watch(apprentice, master, joining_open_session=joining_open)
    if micro_skill_id is not None and micro_skill_id not in {skill.id for skill in skills}:
        raise Refusal(f"Choose one of the micro skills {master.name} can show you.")
    if mode is SessionMode.IN_PERSON and (
        apprentice.site_id is None or apprentice.site_id != master.site_id
    ):
        site = master.site.name if master.site else "the same site"
        raise Refusal(f"Seats in the room are for people at {site}; book a seat on video instead.")
    if existing is not None and _live_seats_in(
        existing, SessionObserver.apprentice_id == apprentice.id
    ):
        raise Refusal("You already have a seat in this session.")
    # The apprentice's month (hours and masters) before the time itself: when the month is
    # full no other time will do either, so that is the answer to give, and it is the check
    # that costs least (the time checks expand the master's availability).
    check_apprentice_limits(apprentice, master, starts_at, ends_at, exclude_seat=exclude_seat)
    if not joining_open:
        check_master_free(master, starts_at, ends_at, mode)
    refuse_if_busy(apprentice, starts_at, ends_at, you=True, exclude_seat=exclude_seat)
    refuse_if_calendar_busy(apprentice, starts_at, ends_at)
    # The master may host other observers then; they must not be observing someone else.
    if seat_clash(master, starts_at, ends_at) is not None:
        raise Refusal(f"{master.name} is observing another session then.")
    if existing is not None:
        if _live_seats_in(existing) >= existing.seats:
            raise Refusal("That seat was just taken: the session is full. Choose another time.")
    else:
        seats = plan_seats(master, mode, starts_at)
        if peak_seats(master, mode, starts_at, ends_at) >= seats:
            raise Refusal(
                f"That seat was just taken: {master.name} has no seat "
                f"{'in the room' if mode is SessionMode.IN_PERSON else 'on video'} left then. "
                "Choose another time."
            )
    check_master_limits(master, apprentice, starts_at, ends_at)
    session = existing
    if session is None:
        session = ShadowingSession(
            master_id=master.id,
            starts_at=starts_at,
            ends_at=ends_at,
            mode=mode,
            seats=max(1, seats),
            site_id=master.site_id if mode is SessionMode.IN_PERSON else None,
            micro_skill_id=micro_skill_id or skills[0].id,
        )
        db.session.add(session)
        db.session.flush()
    pairing_id = _pairing_id(apprentice, master, starts_at)  # queried before the seat is pending
    seat = db.session.scalar(
        select(SessionObserver).where(
            SessionObserver.session_id == session.id, SessionObserver.apprentice_id == apprentice.id
        )
    )
    if seat is None:
        seat = SessionObserver(session_id=session.id, apprentice_id=apprentice.id)
        db.session.add(seat)
    seat.starts_at, seat.ends_at, seat.cancelled_at = starts_at, ends_at, None
    seat.pairing_id = pairing_id
    flush_seats("You already have a session at that time.")
    return seat


def _pairing_id(apprentice: Person, master: Person, starts_at: datetime) -> int | None:
    """The pairing of that month this booking belongs to, if the round paired them."""
    month = str(local_month(starts_at, apprentice))
    return db.session.scalar(
        select(Pairing.id)
        .join(Round, Round.id == Pairing.round_id)
        .where(
            Pairing.apprentice_id == apprentice.id,
            Pairing.master_id == master.id,
            Round.month == month,
            Pairing.apprentice_response != Response.DECLINED,
            Pairing.master_response != Response.DECLINED,
        )
        .limit(1)
    )


def open_session(
    master: Person,
    starts_at: datetime,
    ends_at: datetime,
    mode: SessionMode,
    seats: int,
    micro_skill_id: int | None,
    note: str,
) -> ShadowingSession:
    """A session the master opens for observers to join."""
    if not master.is_master:
        raise Refusal("Only masters open sessions.")
    check_times(starts_at, ends_at)
    check_grid(own_time_grid(master.zone), starts_at, ends_at)
    if not 1 <= seats <= MAX_OPEN_SEATS:
        raise Refusal(f"Offer from 1 to {MAX_OPEN_SEATS} seats.")
    if mode is SessionMode.IN_PERSON and master.site_id is None:
        raise Refusal("You work remotely, so you can open sessions on video only.")
    hosted = {ps.micro_skill_id for ps in hosted_skills(master)}
    if not hosted:
        raise Refusal(NOTHING_HOSTED)
    if micro_skill_id is not None and micro_skill_id not in hosted:
        raise Refusal("Choose one of the micro skills you host.")
    lock(master)
    refuse_if_busy(master, starts_at, ends_at, you=True)
    session = ShadowingSession(
        master_id=master.id,
        starts_at=starts_at,
        ends_at=ends_at,
        mode=mode,
        seats=seats,
        site_id=master.site_id if mode is SessionMode.IN_PERSON else None,
        micro_skill_id=micro_skill_id,
        note=note.strip(),
        opened_by_master=True,
    )
    db.session.add(session)
    db.session.commit()
    return session


# Cancelling ---------------------------------------------------------------------------------


def cancel_seat(apprentice: Person, seat: SessionObserver) -> None:
    """The apprentice gives up their seat; a booked session with nobody left ends too."""
    session = seat.session
    if seat.cancelled_at is not None or session.cancelled_at is not None:
        raise Refusal("This seat is already cancelled.")
    check_notice(session, apprentice, "Cancelling")
    now = utcnow()
    seat.cancelled_at = now
    db.session.flush()
    if not session.opened_by_master and not session.observers_live:
        session.cancelled_at = now
    seat_event(SESSION_CANCELLED, seat, by="apprentice")
    db.session.commit()
    text = (
        f"{apprentice.name} cancelled their seat in your session on "
        f"{spoken_time(session.starts_at, session.master)}."
    )
    tell(session.master, text, session_link(session), subject="A seat was cancelled")
    db.session.commit()


def cancel_session(master: Person, session: ShadowingSession) -> int:
    """The master cancels: every seat is freed and every observer told; returns how many."""
    if session.master_id != master.id:
        raise Refusal("Only the master who hosts a session can cancel it.")
    if session.cancelled_at is not None:
        raise Refusal("This session is already cancelled.")
    check_notice(session, master, "Cancelling")
    now = utcnow()
    observers = session.observers_live
    session.cancelled_at = now
    for seat in observers:
        seat.cancelled_at = now
        seat_event(SESSION_CANCELLED, seat, by="master")
    link = absolute_url("booking.book")
    for seat in observers:
        person = seat.apprentice
        text = (
            f"{master.name} cancelled the session on {spoken_time(session.starts_at, person)}; "
            "your seat is freed."
        )
        tell(person, text, link, subject="A session was cancelled", footer="Book another time: ")
    db.session.commit()
    return len(observers)


def cancel_seats_no_longer_hosted(master: Person, still_hosted: set[int], reason: str) -> int:
    """Cancel the master's upcoming seats in skills they may no longer host; the caller commits.

    A seat is for the session's micro skill, or, in a round's session, for its pairing's.
    A seat keeps going while any of its skills is still in `still_hosted`; a session whose
    last seat goes is cancelled, as is an open session for a skill no longer hosted. No
    notice period applies: the organisation, not the master, took the stage away. Everyone
    whose seat goes is told why. Returns how many seats were cancelled.
    """
    now = utcnow()
    sessions = db.session.scalars(
        select(ShadowingSession)
        .where(
            ShadowingSession.master_id == master.id,
            ShadowingSession.cancelled_at.is_(None),
            ShadowingSession.starts_at > now,
        )
        .options(
            selectinload(ShadowingSession.observers)
            .selectinload(SessionObserver.pairing)
            .selectinload(Pairing.micro_skills)
        )
        .order_by(ShadowingSession.starts_at)
    ).all()
    cancelled = 0
    link = absolute_url("booking.book")
    for session in sessions:
        for seat in session.observers_live:
            skills = (
                {session.micro_skill_id}
                if session.micro_skill_id is not None
                else {skill.id for skill in seat.pairing.micro_skills}
                if seat.pairing
                else set()
            )
            if skills & still_hosted:
                continue
            seat.cancelled_at = now
            cancelled += 1
            seat_event(SESSION_CANCELLED, seat, by="organisation")
            person = seat.apprentice
            text = (
                f"Your session with {master.name} on {spoken_time(session.starts_at, person)} is "
                f"cancelled: {reason}"
            )
            tell(
                person,
                text,
                link,
                subject="A session was cancelled",
                footer="Book another master: ",
            )
        skill_gone = (
            not still_hosted
            if session.micro_skill_id is None
            else session.micro_skill_id not in still_hosted
        )
        if not session.observers_live and (skill_gone or not session.opened_by_master):
            session.cancelled_at = now
    return cancelled


# Moving -------------------------------------------------------------------------------------


def reschedule_seat(
    apprentice: Person,
    seat: SessionObserver,
    starts_at: datetime,
    ends_at: datetime,
    mode: SessionMode,
) -> SessionObserver:
    """Move the apprentice's seat to another time with the same master, all or nothing."""
    old = seat.session
    if seat.cancelled_at is not None or old.cancelled_at is not None:
        raise Refusal("This seat is cancelled; book a new time instead.")
    check_notice(old, apprentice, "Moving a session")
    try:
        now = utcnow()
        seat.cancelled_at = now
        db.session.flush()
        if not old.opened_by_master and not old.observers_live:
            old.cancelled_at = now
        # A new session keeps the micro skill the seat was for, while the master still shows it.
        keep = old.micro_skill_id
        if keep not in {skill.id for skill in skills_to_watch(apprentice, old.master)}:
            keep = None
        new_seat = _book(apprentice, old.master, starts_at, ends_at, mode, micro_skill_id=keep)
        seat_event(SESSION_MOVED, new_seat, previous_session_id=old.id)
        db.session.commit()
    except Refusal:
        db.session.rollback()
        raise
    text = (
        f"{apprentice.name} moved their seat from {spoken_time(old.starts_at, old.master)} "
        f"to {spoken_time(starts_at, old.master)}."
    )
    tell(old.master, text, session_link(new_seat.session), subject="A session was moved")
    db.session.commit()
    return new_seat


def reschedule_session(
    master: Person, session: ShadowingSession, starts_at: datetime, ends_at: datetime
) -> None:
    """The master moves a whole session; every observer must be free at the new time."""
    if session.master_id != master.id:
        raise Refusal("Only the master who hosts a session can move it.")
    if session.cancelled_at is not None:
        raise Refusal("This session is cancelled.")
    check_notice(session, master, "Moving a session")
    check_times(starts_at, ends_at)
    check_grid(own_time_grid(master.zone), starts_at, ends_at)
    lock(master, *(seat.apprentice for seat in session.observers_live))
    db.session.refresh(session, ["observers"])  # anyone who joined before the lock moves too
    observers = session.observers_live
    lock(*(seat.apprentice for seat in observers))
    refuse_if_busy(master, starts_at, ends_at, you=True, exclude_session=session.id)
    for seat in observers:
        try:
            refuse_if_busy(
                seat.apprentice, starts_at, ends_at, you=False, exclude_session=session.id
            )
        except Refusal as clash:
            raise Refusal(f"{clash} Choose a time all your observers are free.") from None
    old_start = session.starts_at
    session.starts_at, session.ends_at = starts_at, ends_at
    session.reminded_at = None
    session.revision += 1
    for seat in observers:
        seat.starts_at, seat.ends_at = starts_at, ends_at
        seat_event(SESSION_MOVED, seat, previous_session_id=session.id)
    flush_seats("An observer already has a session at that time.")
    link = session_link(session)
    for seat in observers:
        person = seat.apprentice
        text = (
            f"{master.name} moved the session from {spoken_time(old_start, person)} "
            f"to {spoken_time(starts_at, person)}."
        )
        tell(person, text, link, subject="A session was moved")
    db.session.commit()
