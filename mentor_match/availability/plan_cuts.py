"""What a month plan cut below the sessions already booked would leave beyond it.

Saving such a plan cancels nothing; the person is shown the sessions first and asked to
confirm, so nobody learns later that their own plan and their diary disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..booking.rules import month_span, most_at_once
from ..extensions import db
from ..models import Person, SessionMode, SessionObserver, ShadowingSession
from .expansion import Month


@dataclass(frozen=True)
class AffectedSession:
    """A booked session beyond the new plan: when, and with whom."""

    session_id: int
    starts_at: datetime
    ends_at: datetime
    with_whom: str


@dataclass
class PlanCut:
    """One number of the plan set below what is booked, and the sessions beyond it."""

    field_name: str
    reason: str
    sessions: list[AffectedSession] = field(default_factory=list)


def cut_key(limits: dict[str, int]) -> str:
    """The numbers a person confirmed a cut for, so a changed number is checked again."""
    return ";".join(f"{name}={limits[name]}" for name in sorted(limits))


def plan_cuts(person: Person, month: Month, limits: dict[str, int]) -> list[PlanCut]:
    """The numbers in `limits` that sessions already booked in the month go beyond."""
    cuts: list[PlanCut] = []
    if "max_hosting_hours" in limits:
        cuts += _hosting_cuts(person, month, limits)
    if "observation_hours" in limits:
        cuts += _observing_cuts(person, month, limits)
    return [cut for cut in cuts if cut.sessions]


def _hosted(person: Person, month: Month) -> list[ShadowingSession]:
    start, end = month_span(month, person)
    sessions = db.session.scalars(
        select(ShadowingSession)
        .where(
            ShadowingSession.master_id == person.id,
            ShadowingSession.cancelled_at.is_(None),
            ShadowingSession.starts_at >= start,
            ShadowingSession.starts_at < end,
        )
        .order_by(ShadowingSession.starts_at, ShadowingSession.id)
        .options(selectinload(ShadowingSession.observers).selectinload(SessionObserver.apprentice))
    )
    return [session for session in sessions if session.observers_live]


def _observers(session: ShadowingSession) -> str:
    return ", ".join(sorted(seat.apprentice.name for seat in session.observers_live))


def _affected(session: ShadowingSession, with_whom: str) -> AffectedSession:
    return AffectedSession(session.id, session.starts_at, session.ends_at, with_whom)


def _hosting_cuts(person: Person, month: Month, limits: dict[str, int]) -> list[PlanCut]:
    sessions = _hosted(person, month)
    hours = PlanCut(
        "max_hosting_hours",
        f"You host {_hours(sum(s.hours for s in sessions))} in {month.label}; "
        f"the plan says {_hours(limits['max_hosting_hours'])} at most.",
    )
    total = 0.0
    for session in sessions:
        total += session.hours
        if total > limits["max_hosting_hours"] + 1e-9:
            hours.sessions.append(_affected(session, _observers(session)))

    first_seen: dict[int, str] = {}
    for session in sessions:
        for seat in session.observers_live:
            first_seen.setdefault(seat.apprentice_id, seat.apprentice.name)
    beyond = set(list(first_seen)[limits["max_apprentices"] :])
    apprentices = PlanCut(
        "max_apprentices",
        f"You host {len(first_seen)} apprentices in {month.label}; "
        f"the plan says {limits['max_apprentices']} at most.",
    )
    for session in sessions:
        names = sorted(
            s.apprentice.name for s in session.observers_live if s.apprentice_id in beyond
        )
        if names:
            apprentices.sessions.append(_affected(session, ", ".join(names)))

    seats = []
    for mode, name, where in (
        (SessionMode.IN_PERSON, "in_person_seats", "in the room"),
        (SessionMode.VIRTUAL, "virtual_seats", "on video"),
    ):
        said = f"{limits[name]} seat{'s' if limits[name] != 1 else ''}"
        cut = PlanCut(name, f"The plan says {said} {where} at once; these have more.")
        spans = [
            (seat.starts_at, seat.ends_at)
            for session in sessions
            if session.mode is mode
            for seat in session.observers_live
        ]
        for session in sessions:
            if session.mode is mode and (
                most_at_once(spans, session.starts_at, session.ends_at) > limits[name]
            ):
                cut.sessions.append(_affected(session, _observers(session)))
        seats.append(cut)
    return [hours, apprentices, *seats]


def _observing_cuts(person: Person, month: Month, limits: dict[str, int]) -> list[PlanCut]:
    start, end = month_span(month, person)
    seats = list(
        db.session.scalars(
            select(SessionObserver)
            .where(
                SessionObserver.apprentice_id == person.id,
                SessionObserver.cancelled_at.is_(None),
                SessionObserver.starts_at >= start,
                SessionObserver.starts_at < end,
            )
            .order_by(SessionObserver.starts_at, SessionObserver.id)
            .options(selectinload(SessionObserver.session).selectinload(ShadowingSession.master))
        )
    )
    seats = [seat for seat in seats if seat.session.cancelled_at is None]
    booked = sum((s.ends_at - s.starts_at).total_seconds() for s in seats) / 3600
    hours = PlanCut(
        "observation_hours",
        f"You observe {_hours(booked)} in {month.label}; "
        f"the plan says {_hours(limits['observation_hours'])}.",
    )
    total = 0.0
    for seat in seats:
        total += (seat.ends_at - seat.starts_at).total_seconds() / 3600
        if total > limits["observation_hours"] + 1e-9:
            hours.sessions.append(_affected(seat.session, seat.session.master.name))

    masters: list[int] = []
    for seat in seats:
        if seat.session.master_id not in masters:
            masters.append(seat.session.master_id)
    beyond = set(masters[limits["max_masters"] :])
    masters_cut = PlanCut(
        "max_masters",
        f"You observe {len(masters)} masters in {month.label}; "
        f"the plan says {limits['max_masters']} at most.",
    )
    for seat in seats:
        if seat.session.master_id in beyond:
            masters_cut.sessions.append(_affected(seat.session, seat.session.master.name))
    return [hours, masters_cut]


def _hours(value: float) -> str:
    return f"{value:g} hour{'s' if value != 1 else ''}"
