"""What a manager sees of their team: learning time granted and used, sessions ahead, progress.

A manager sees times, masters and micro skills, never feedback, ratings' words or notes: the
team page is about time granted and taken, not about what was said in a session.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..calendars.services import skill_label
from ..extensions import db
from ..models import (
    AllowanceKind,
    MicroSkill,
    Pairing,
    Person,
    SessionMode,
    SessionObserver,
    ShadowingSession,
)
from ..models.types import utcnow
from ..progress.services import progress_toward_next_stage
from ..progress.thresholds import SkillProgress
from .figures import Granted, granted_for
from .usage import MonthUsage, month_of, months_around, usage_for

MONTHS_BEFORE = 2  # with this month: the last three months
MONTHS_AFTER = 1
UPCOMING_DAYS = 60
UPCOMING_PER_MEMBER = 5


@dataclass(frozen=True)
class MonthFigures:
    """One member's month: what was granted, planned and used, observing and hosting."""

    usage: MonthUsage
    observing: Granted | None  # None: the member is not an apprentice
    hosting: Granted | None  # None: the member is not a master

    @property
    def month(self):
        return self.usage.month


@dataclass(frozen=True)
class SessionAhead:
    """A member's coming session as their manager may see it: when, with whom, on what."""

    starts_at: datetime
    ends_at: datetime
    hosting: bool
    master_name: str
    micro_skill: str
    mode: SessionMode


@dataclass(frozen=True)
class MemberOverview:
    person: Person
    months: list[MonthFigures]
    sessions_ahead: list[SessionAhead]
    progress: list[SkillProgress]


@dataclass(frozen=True)
class TeamOverview:
    manager: Person
    members: list[MemberOverview]


def team_members(manager: Person) -> list[Person]:
    """The manager's active team, by name."""
    return list(
        db.session.scalars(
            select(Person)
            .where(Person.manager_id == manager.id, Person.active)
            .order_by(Person.name, Person.id)
        )
    )


def member_of(manager: Person, person_id: int) -> Person | None:
    """The active team member with this id, or None if they are not in the manager's team."""
    person = db.session.get(Person, person_id)
    if person is None or not person.active or person.manager_id != manager.id:
        return None
    return person


def sessions_ahead(members: list[Person], now: datetime) -> dict[int, list[SessionAhead]]:
    """Each member's live sessions in the next UPCOMING_DAYS, soonest first, a few each."""
    ids = [member.id for member in members]
    until = now + timedelta(days=UPCOMING_DAYS)
    ahead: dict[int, list[SessionAhead]] = defaultdict(list)
    if not ids:
        return ahead
    seats = db.session.scalars(
        select(SessionObserver)
        .join(ShadowingSession, ShadowingSession.id == SessionObserver.session_id)
        .where(
            SessionObserver.apprentice_id.in_(ids),
            SessionObserver.cancelled_at.is_(None),
            ShadowingSession.cancelled_at.is_(None),
            SessionObserver.starts_at >= now,
            SessionObserver.starts_at < until,
        )
        .order_by(SessionObserver.starts_at, SessionObserver.id)
        .options(
            joinedload(SessionObserver.session).joinedload(ShadowingSession.master),
            joinedload(SessionObserver.session)
            .joinedload(ShadowingSession.micro_skill)
            .joinedload(MicroSkill.area),
            selectinload(SessionObserver.pairing)
            .selectinload(Pairing.micro_skills)
            .joinedload(MicroSkill.area),
        )
    )
    for seat in seats:
        session = seat.session
        ahead[seat.apprentice_id].append(
            SessionAhead(
                session.starts_at,
                session.ends_at,
                False,
                session.master.name,
                skill_label(session, [seat]),
                SessionMode(session.mode),
            )
        )
    hosted = (
        db.session.scalars(
            select(ShadowingSession)
            .where(
                ShadowingSession.master_id.in_(ids),
                ShadowingSession.cancelled_at.is_(None),
                ShadowingSession.starts_at >= now,
                ShadowingSession.starts_at < until,
            )
            .order_by(ShadowingSession.starts_at, ShadowingSession.id)
            .options(
                joinedload(ShadowingSession.master),
                joinedload(ShadowingSession.micro_skill).joinedload(MicroSkill.area),
                selectinload(ShadowingSession.observers)
                .selectinload(SessionObserver.pairing)
                .selectinload(Pairing.micro_skills)
                .joinedload(MicroSkill.area),
            )
        )
        .unique()
        .all()
    )
    for session in hosted:
        ahead[session.master_id].append(
            SessionAhead(
                session.starts_at,
                session.ends_at,
                True,
                session.master.name,
                skill_label(session, session.observers_live),
                SessionMode(session.mode),
            )
        )
    return {
        person_id: sorted(rows, key=lambda row: row.starts_at)[:UPCOMING_PER_MEMBER]
        for person_id, rows in ahead.items()
    }


def overview_of(
    manager: Person, members: list[Person], now: datetime | None = None
) -> TeamOverview:
    """The team page's figures for these members, in the manager's months."""
    now = now or utcnow()
    months = months_around(month_of(now, manager.zone), before=MONTHS_BEFORE, after=MONTHS_AFTER)
    ids = [member.id for member in members]
    usage = usage_for(ids, months)
    observing = {month: granted_for(ids, month, AllowanceKind.OBSERVING) for month in months}
    hosting = {month: granted_for(ids, month, AllowanceKind.HOSTING) for month in months}
    ahead = sessions_ahead(members, now)
    overviews = [
        MemberOverview(
            person=member,
            months=[
                MonthFigures(
                    usage[member.id, month],
                    observing[month].get(member.id) if member.is_apprentice else None,
                    hosting[month].get(member.id) if member.is_master else None,
                )
                for month in months
            ],
            sessions_ahead=ahead.get(member.id, []),
            progress=progress_toward_next_stage(member) if member.is_apprentice else [],
        )
        for member in members
    ]
    return TeamOverview(manager, overviews)


def team_overview(manager: Person, now: datetime | None = None) -> TeamOverview:
    """Every active member of the manager's team."""
    return overview_of(manager, team_members(manager), now)
