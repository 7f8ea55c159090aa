"""After a session: the master confirms who attended, the apprentice records and rates.

Hours count only once the master confirms them. An apprentice who disagrees disputes the
figure and an admin settles it. Practice is rated by a master per micro skill. Every
change to hours and ratings goes into the change log with who and when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, ScalarSelect, Select, func, select
from sqlalchemy.orm import selectinload

from ..errors import Refusal
from ..extensions import db
from ..integrations.events import ATTENDANCE_CONFIRMED, record_event
from ..links import absolute_url
from ..models import (
    Attendance,
    Feedback,
    FeedbackKind,
    MicroSkill,
    Observation,
    Person,
    PersonSkill,
    PracticeAttempt,
    SessionObserver,
    ShadowingSession,
    Stage,
    utcnow,
)
from ..organisation.services import only_verified_hosts
from ..rounds.notices import notify
from ..stages.hosting import hosting_condition
from .hours import record_change

MAX_NOTE = 4000


def _when(session: ShadowingSession, person: Person) -> str:
    return session.starts_at.astimezone(person.zone).strftime("%a %d %b %H:%M %Z")


# Attendance -----------------------------------------------------------------------------------


def _unconfirmed_seats(
    master_id: int | ColumnElement[int], now: datetime | ColumnElement[datetime], *columns
) -> Select:
    """Seats in the master's sessions ended by `now` with no attendance: the seats, or `columns`."""
    return (
        select(*columns or (SessionObserver,))
        .select_from(SessionObserver)
        .join(ShadowingSession, ShadowingSession.id == SessionObserver.session_id)
        .outerjoin(Attendance, Attendance.seat_id == SessionObserver.id)
        .where(
            ShadowingSession.master_id == master_id,
            ShadowingSession.cancelled_at.is_(None),
            SessionObserver.cancelled_at.is_(None),
            ShadowingSession.ends_at <= now,
            Attendance.id.is_(None),
        )
    )


def seats_to_confirm(master: Person) -> list[SessionObserver]:
    """Seats in the master's finished sessions that they have not confirmed yet."""
    return list(
        db.session.scalars(
            _unconfirmed_seats(master.id, utcnow())
            .order_by(ShadowingSession.starts_at, SessionObserver.id)
            .options(
                selectinload(SessionObserver.session), selectinload(SessionObserver.apprentice)
            )
        )
    )


def count_seats_to_confirm(
    master_id: int | ColumnElement[int], now: datetime | ColumnElement[datetime]
) -> ScalarSelect[int]:
    """How many seats seats_to_confirm lists, as a subquery for a larger statement."""
    return _unconfirmed_seats(master_id, now, func.count(SessionObserver.id)).scalar_subquery()


def confirm_attendance(master: Person, seat: SessionObserver, minutes: int) -> Attendance:
    """The master says how long the apprentice watched (0: did not come); may correct it later."""
    session = seat.session
    if session.master_id != master.id:
        raise Refusal("Only the master who hosted the session confirms its hours.")
    if seat.cancelled_at is not None or session.cancelled_at is not None:
        raise Refusal("This seat was cancelled; there is nothing to confirm.")
    if session.ends_at > utcnow():
        raise Refusal("Confirm attendance once the session has ended.")
    length = int(session.hours * 60)
    if not 0 <= minutes <= length:
        raise Refusal(f"Enter from 0 to {length} minutes: the session lasted {length // 60} hours.")
    attendance = seat.attendance
    if attendance is not None and attendance.is_disputed:
        raise Refusal("The apprentice disputes these hours; an admin will settle them.")
    before = "" if attendance is None else str(attendance.minutes)
    if attendance is None:
        attendance = Attendance(seat_id=seat.id, minutes=minutes, confirmed_by_id=master.id)
        db.session.add(attendance)
        db.session.flush()
        action = "confirmed"
    else:
        attendance.minutes, attendance.confirmed_by_id, attendance.confirmed_at = (
            minutes,
            master.id,
            utcnow(),
        )
        action = "changed"
    record_change(master, "attendance", attendance.id, action, before, str(minutes))
    record_event(
        ATTENDANCE_CONFIRMED,
        session_id=session.id,
        seat_id=seat.id,
        apprentice_id=seat.apprentice_id,
        master_id=master.id,
        minutes=minutes,
    )
    apprentice = seat.apprentice
    when = _when(session, apprentice)
    text = (
        f"{master.name} confirmed {minutes / 60:g} hours of observation on {when}."
        if minutes
        else f"{master.name} recorded that you did not attend on {when}."
    )
    notify(apprentice, text, absolute_url("booking.session", session_id=session.id))
    db.session.commit()
    return attendance


def dispute(apprentice: Person, seat: SessionObserver, reason: str) -> None:
    """The apprentice disagrees with the confirmed hours; admins are told."""
    attendance = seat.attendance
    if seat.apprentice_id != apprentice.id:
        raise Refusal("Only the apprentice in the seat can dispute its hours.")
    if attendance is None:
        raise Refusal("The master has not confirmed this session yet.")
    if attendance.is_disputed:
        raise Refusal("You have already disputed these hours; an admin will settle them.")
    reason = reason.strip()
    if not 10 <= len(reason) <= 1000:
        raise Refusal("Say in 10 to 1000 characters what happened, for the admin.")
    attendance.disputed_at, attendance.dispute_reason = utcnow(), reason
    attendance.resolved_at = attendance.resolved_by_id = None
    record_change(
        apprentice, "attendance", attendance.id, "disputed", str(attendance.minutes), reason
    )
    link = absolute_url("tracking.disputes")
    for admin in db.session.scalars(select(Person).where(Person.is_admin, Person.active)):
        notify(
            admin,
            f"{apprentice.name} disputes the hours of a session with {seat.session.master.name}.",
            link,
            subject="Hours disputed",
            body=f"{reason}\n\nSettle it here: {link}\n",
        )
    db.session.commit()


def open_disputes() -> list[Attendance]:
    return list(
        db.session.scalars(
            select(Attendance)
            .where(Attendance.disputed_at.is_not(None), Attendance.resolved_at.is_(None))
            .order_by(Attendance.disputed_at)
            .options(selectinload(Attendance.seat).selectinload(SessionObserver.session))
        )
    )


def resolve_dispute(admin: Person, attendance: Attendance, minutes: int) -> None:
    """The admin settles the hours; both sides are told."""
    if not attendance.is_disputed:
        raise Refusal("This dispute is already settled.")
    session = attendance.seat.session
    length = int(session.hours * 60)
    if not 0 <= minutes <= length:
        raise Refusal(f"Enter from 0 to {length} minutes.")
    before = str(attendance.minutes)
    attendance.minutes, attendance.resolved_at, attendance.resolved_by_id = (
        minutes,
        utcnow(),
        admin.id,
    )
    record_change(admin, "attendance", attendance.id, "resolved", before, str(minutes))
    for person in (attendance.seat.apprentice, session.master):
        notify(
            person,
            f"An admin settled the disputed hours of {_when(session, person)}: "
            f"{minutes / 60:g} hours.",
            absolute_url("booking.session", session_id=session.id),
        )
    db.session.commit()


# What the apprentice records ------------------------------------------------------------------


def _own_finished_seat(apprentice: Person, seat: SessionObserver) -> None:
    if seat.apprentice_id != apprentice.id:
        raise Refusal("This is not your seat.")
    if seat.cancelled_at is not None or seat.session.cancelled_at is not None:
        raise Refusal("This seat was cancelled.")
    if seat.session.starts_at > utcnow():
        raise Refusal("Write what you observed once the session has started.")


def micro_skills() -> list[MicroSkill]:
    """Every micro skill, by its full name: what an observation may say was seen."""
    skills = db.session.scalars(select(MicroSkill).options(selectinload(MicroSkill.area)))
    return sorted(skills, key=lambda skill: skill.full_name)


def save_observation(
    apprentice: Person, seat: SessionObserver, notes: str, skill_ids: list[int]
) -> Observation:
    _own_finished_seat(apprentice, seat)
    notes = notes.strip()
    if not notes and not skill_ids:
        raise Refusal("Write what you observed or tick the micro skills you saw.")
    if len(notes) > MAX_NOTE:
        raise Refusal(f"Keep your notes to {MAX_NOTE} characters.")
    skills = (
        list(db.session.scalars(select(MicroSkill).where(MicroSkill.id.in_(skill_ids))))
        if skill_ids
        else []
    )
    if len(skills) != len(set(skill_ids)):
        raise Refusal("Choose micro skills from the list.")
    observation = seat.observation or Observation(seat_id=seat.id)
    observation.notes, observation.micro_skills = notes, skills
    db.session.add(observation)
    db.session.commit()
    return observation


def rate_session(apprentice: Person, seat: SessionObserver, rating: int, note: str) -> Feedback:
    """The apprentice's rating of the session: seen by them and the master only."""
    _own_finished_seat(apprentice, seat)
    feedback = db.session.scalar(
        select(Feedback).where(Feedback.seat_id == seat.id, Feedback.kind == FeedbackKind.SESSION)
    )
    return _save_feedback(
        feedback,
        apprentice,
        seat.session.master,
        rating,
        note,
        kind=FeedbackKind.SESSION,
        seat_id=seat.id,
        micro_skill_id=seat.session.micro_skill_id,
    )


def _save_feedback(
    feedback: Feedback | None, giver: Person, receiver: Person, rating: int, note: str, **fields
) -> Feedback:
    if not 1 <= rating <= 5:
        raise Refusal("Rate from 1 to 5.")
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise Refusal(f"Keep the note to {MAX_NOTE} characters.")
    if feedback is None:
        feedback = Feedback(
            giver_id=giver.id, receiver_id=receiver.id, rating=rating, note=note, **fields
        )
        db.session.add(feedback)
        db.session.flush()
        record_change(giver, "feedback", feedback.id, "given", "", str(rating))
    else:
        if feedback.giver_id != giver.id:
            raise Refusal("Only the person who gave this feedback can change it.")
        record_change(giver, "feedback", feedback.id, "changed", str(feedback.rating), str(rating))
        feedback.rating, feedback.note = rating, note
    db.session.commit()
    return feedback


# Practice -------------------------------------------------------------------------------------


def developing_skills(apprentice: Person) -> list[MicroSkill]:
    return [
        ps.micro_skill for ps in apprentice.skills if ps.develops and ps.stage is not Stage.MASTER
    ]


def masters_for(skill_id: int, apprentice: Person) -> list[Person]:
    """Masters who host the micro skill above the apprentice's stage: who may rate practice."""
    mine = next(
        (ps.stage for ps in apprentice.skills if ps.micro_skill_id == skill_id), Stage.APPRENTICE
    )
    rows = db.session.scalars(
        select(PersonSkill)
        .join(Person, Person.id == PersonSkill.person_id)
        .where(
            PersonSkill.micro_skill_id == skill_id,
            Person.active,
            hosting_condition(verified_only=only_verified_hosts()),
            Person.id != apprentice.id,
        )
        .options(selectinload(PersonSkill.person))
    )
    return sorted((row.person for row in rows if row.stage.rank > mine.rank), key=lambda p: p.name)


def log_practice(
    apprentice: Person, skill_id: int, master_id: int, practised_on: date, description: str
) -> PracticeAttempt:
    if skill_id not in {skill.id for skill in developing_skills(apprentice)}:
        raise Refusal("Choose a micro skill you are developing.")
    if practised_on > utcnow().astimezone(apprentice.zone).date():
        raise Refusal("Log practice that has happened: the date is in the future.")
    master = db.session.get(Person, master_id)
    if master is None or master not in masters_for(skill_id, apprentice):
        raise Refusal("Ask a master who hosts this micro skill above your stage.")
    description = description.strip()
    if not 10 <= len(description) <= MAX_NOTE:
        raise Refusal("Describe what you did in 10 to 4000 characters, so the master can judge it.")
    attempt = PracticeAttempt(
        apprentice_id=apprentice.id,
        micro_skill_id=skill_id,
        master_id=master.id,
        practised_on=practised_on,
        description=description,
    )
    db.session.add(attempt)
    db.session.flush()
    notify(
        master,
        f"{apprentice.name} asks you to rate their practice of {attempt.micro_skill.full_name}.",
        absolute_url("tracking.to_rate"),
        subject="Practice to rate",
        body=f"{description}\n\nRate it here: {absolute_url('tracking.to_rate')}\n",
    )
    db.session.commit()
    return attempt


def attempts_of(apprentice: Person) -> list[PracticeAttempt]:
    return list(
        db.session.scalars(
            select(PracticeAttempt)
            .where(PracticeAttempt.apprentice_id == apprentice.id)
            .order_by(PracticeAttempt.practised_on.desc(), PracticeAttempt.id.desc())
            .options(
                selectinload(PracticeAttempt.feedback), selectinload(PracticeAttempt.micro_skill)
            )
        )
    )


def attempts_to_rate(master: Person) -> list[PracticeAttempt]:
    return list(
        db.session.scalars(
            select(PracticeAttempt)
            .where(PracticeAttempt.master_id == master.id)
            .order_by(PracticeAttempt.created_at.desc())
            .options(
                selectinload(PracticeAttempt.feedback), selectinload(PracticeAttempt.apprentice)
            )
        )
    )


def rate_practice(master: Person, attempt: PracticeAttempt, rating: int, note: str) -> Feedback:
    """Tough feedback: the master's 1-5 rating and note on one practice of a micro skill."""
    if attempt.master_id != master.id:
        raise Refusal("Only the master asked can rate this practice.")
    if len(note.strip()) < 10:
        raise Refusal("Say what was good and what to change, in at least 10 characters.")
    feedback = _save_feedback(
        attempt.feedback,
        master,
        attempt.apprentice,
        rating,
        note,
        kind=FeedbackKind.PRACTICE,
        attempt_id=attempt.id,
        micro_skill_id=attempt.micro_skill_id,
    )
    notify(
        attempt.apprentice,
        f"{master.name} rated your practice of {attempt.micro_skill.full_name}.",
        absolute_url("tracking.practice"),
    )
    db.session.commit()
    return feedback


@dataclass(frozen=True)
class AfterSession:
    """What the session page shows after a session, for the person looking at it."""

    finished: bool
    started: bool
    seat: SessionObserver | None
    # The apprentice's rating of the session (theirs, or given to the master).
    rating: Feedback | None
    ratings_received: list[Feedback]


def after_session(person: Person, session: ShadowingSession) -> AfterSession:
    seat = next(
        (s for s in session.observers if s.apprentice_id == person.id and s.cancelled_at is None),
        None,
    )
    rating = None
    if seat is not None:
        rating = db.session.scalar(
            select(Feedback).where(
                Feedback.seat_id == seat.id, Feedback.kind == FeedbackKind.SESSION
            )
        )
    received = []
    if session.master_id == person.id:
        seat_ids = [s.id for s in session.observers]
        received = (
            list(
                db.session.scalars(
                    select(Feedback).where(
                        Feedback.seat_id.in_(seat_ids), Feedback.kind == FeedbackKind.SESSION
                    )
                )
            )
            if seat_ids
            else []
        )
    now = utcnow()
    return AfterSession(session.ends_at <= now, session.starts_at <= now, seat, rating, received)
