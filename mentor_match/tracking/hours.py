"""Verified observation hours and ratings: the figures progress, reports and records share.

An hour is verified once the master has confirmed the seat's attendance. A seat's hours
go to the micro skill of its session or, for a round's session, to the pairing's micro
skills, split evenly so that no hour is counted twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..errors import Refusal
from ..extensions import db
from ..models import (
    Attendance,
    ChangeRecord,
    Feedback,
    FeedbackKind,
    MicroSkill,
    Person,
    SessionMode,
    SessionObserver,
    ShadowingSession,
    pairing_skills,
)


def record_change(
    actor: Person | None,
    subject: str,
    subject_id: int,
    action: str,
    before: str = "",
    after: str = "",
) -> None:
    """Keep who changed what and when; the caller commits with the change itself."""
    db.session.add(
        ChangeRecord(
            actor_id=actor.id if actor else None,
            subject=subject,
            subject_id=subject_id,
            action=action,
            before=before,
            after=after,
        )
    )


def record_field_changes(
    actor: Person, subject: str, subject_id: int, changed: list[tuple[str, str, str]]
) -> None:
    """Keep each (field, before, after) of a settings form an admin saved, one record apiece;
    the caller commits with the change itself."""
    for name, before, after in changed:
        record_change(
            actor, subject, subject_id, "changed", f"{name}: {before}", f"{name}: {after}"
        )


def commit_field_changes(
    actor: Person,
    subject: str,
    subject_id: int,
    changed: list[tuple[str, str, str]],
    *,
    saved_at_once: str,
) -> int:
    """Log each changed field and commit the settings saved with them; returns how many changed.

    For a settings row made on its first save: when two first saves race, the unique row one
    of them made stands, and the other is refused with `saved_at_once`, nothing changed.
    """
    record_field_changes(actor, subject, subject_id, changed)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Refusal(saved_at_once) from None
    return len(changed)


@dataclass(frozen=True)
class VerifiedSeat:
    """One seat with host-verified attendance, and what it counts towards."""

    seat_id: int
    apprentice_id: int
    master_id: int
    starts_at: datetime
    mode: SessionMode
    hours: float
    skill_ids: tuple[int, ...]
    session_id: int


def verified_seats(
    apprentice_ids: list[int] | None = None,
    master_ids: list[int] | None = None,
    starts: datetime | None = None,
    ends: datetime | None = None,
) -> list[VerifiedSeat]:
    """Seats whose attendance the master confirmed (more than zero minutes).

    Read as plain columns in two queries, optionally only for sessions starting in
    [starts, ends): reports over a year of a large organisation stay fast.
    """
    query = (
        select(SessionObserver.id)
        .join(Attendance, Attendance.seat_id == SessionObserver.id)
        .join(ShadowingSession, ShadowingSession.id == SessionObserver.session_id)
        .where(Attendance.minutes > 0)
    )
    if apprentice_ids is not None:
        query = query.where(SessionObserver.apprentice_id.in_(apprentice_ids))
    if master_ids is not None:
        query = query.where(ShadowingSession.master_id.in_(master_ids))
    if starts is not None:
        query = query.where(ShadowingSession.starts_at >= starts)
    if ends is not None:
        query = query.where(ShadowingSession.starts_at < ends)
    rows = db.session.execute(
        query.with_only_columns(
            SessionObserver.id,
            SessionObserver.session_id,
            SessionObserver.apprentice_id,
            SessionObserver.pairing_id,
            ShadowingSession.master_id,
            ShadowingSession.starts_at,
            ShadowingSession.mode,
            ShadowingSession.micro_skill_id,
            Attendance.minutes,
        ).order_by(ShadowingSession.starts_at, SessionObserver.id)
    ).all()
    skills_of_pairing: dict[int, list[int]] = defaultdict(list)
    for pairing_id, skill_id in db.session.execute(
        select(pairing_skills.c.pairing_id, pairing_skills.c.micro_skill_id).where(
            pairing_skills.c.pairing_id.in_(
                query.with_only_columns(SessionObserver.pairing_id).distinct()
            )
        )
    ):
        skills_of_pairing[pairing_id].append(skill_id)
    seats = []
    for (
        seat_id,
        session_id,
        apprentice_id,
        pairing_id,
        master_id,
        starts_at,
        mode,
        session_skill_id,
        minutes,
    ) in rows:
        # The session's micro skill, else its pairing's (split evenly later), else none.
        if session_skill_id is not None:
            skill_ids: tuple[int, ...] = (session_skill_id,)
        elif pairing_id is not None:
            skill_ids = tuple(sorted(skills_of_pairing.get(pairing_id, ())))
        else:
            skill_ids = ()
        seats.append(
            VerifiedSeat(
                seat_id,
                apprentice_id,
                master_id,
                starts_at,
                mode,
                minutes / 60,
                skill_ids,
                session_id,
            )
        )
    return seats


def hours_by_skill(seats: list[VerifiedSeat]) -> dict[int | None, float]:
    """Hours per micro skill id (None: a session with no micro skill named)."""
    totals: dict[int | None, float] = defaultdict(float)
    for seat in seats:
        if not seat.skill_ids:
            totals[None] += seat.hours
        for skill_id in seat.skill_ids:
            totals[skill_id] += seat.hours / len(seat.skill_ids)
    return dict(totals)


def hours_by_month(seats: list[VerifiedSeat], zone) -> dict[str, float]:
    """Hours per "YYYY-MM", by the month of each session in the given time zone."""
    totals: dict[str, float] = defaultdict(float)
    for seat in seats:
        totals[seat.starts_at.astimezone(zone).strftime("%Y-%m")] += seat.hours
    return dict(sorted(totals.items()))


def average_ratings(person_id: int) -> dict[int, tuple[float, int]]:
    """Per micro skill id, the average practice rating masters gave the person and how many."""
    rows = db.session.execute(
        select(Feedback.micro_skill_id, func.avg(Feedback.rating), func.count())
        .where(
            Feedback.receiver_id == person_id,
            Feedback.kind == FeedbackKind.PRACTICE,
            Feedback.micro_skill_id.is_not(None),
        )
        .group_by(Feedback.micro_skill_id)
    )
    return {skill_id: (float(average), count) for skill_id, average, count in rows}


def skill_names(skill_ids) -> dict[int, str]:
    ids = [skill_id for skill_id in set(skill_ids) if skill_id is not None]
    if not ids:
        return {}
    return {
        skill.id: skill.full_name
        for skill in db.session.scalars(
            select(MicroSkill).where(MicroSkill.id.in_(ids)).options(selectinload(MicroSkill.area))
        )
    }
