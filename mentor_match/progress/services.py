"""The figures each progress page shows: an apprentice's own hours, masters, feedback and
progress toward the next stage, and a master's hosting with who is ready for endorsement.

Hours and ratings come from `tracking.hours`, the one place that says what a verified hour
is; what it takes to reach a stage is in `progress.thresholds`, and endorsing in
`progress.endorsement`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..allowances.figures import granted
from ..allowances.usage import month_of
from ..extensions import db
from ..models import (
    AllowanceKind,
    Endorsement,
    Feedback,
    FeedbackKind,
    MicroSkill,
    Person,
    PersonSkill,
    SessionObserver,
    ShadowingSession,
)
from ..models.types import utcnow
from ..tracking.hours import (
    VerifiedSeat,
    average_ratings,
    hours_by_month,
    hours_by_skill,
    verified_seats,
)
from .charts import Bar, month_bars, skill_bars
from .endorsement import apprentices_of, ready_for_endorsement
from .thresholds import SkillProgress, skill_progress, stage_thresholds

# The apprentice's page ----------------------------------------------------------------------


@dataclass(frozen=True)
class MasterHours:
    """A master the person observed, with the verified hours and sessions."""

    master: Person
    verified_hours: float
    sessions: int


@dataclass(frozen=True)
class ApprenticeProgress:
    """Everything on a person's own progress page."""

    total_hours: float
    hours_by_month: list[Bar]
    hours_by_skill: list[Bar]
    masters: list[MasterHours]
    feedback: list[Feedback]
    skills: list[SkillProgress]


def _people(ids) -> dict[int, Person]:
    ids = list(set(ids))
    if not ids:
        return {}
    return {
        person.id: person for person in db.session.scalars(select(Person).where(Person.id.in_(ids)))
    }


def _practice_feedback(
    *, receiver_id: int | None = None, giver_id: int | None = None
) -> list[Feedback]:
    """Practice ratings received by or given by one person, newest first."""
    query = (
        select(Feedback)
        .where(Feedback.kind == FeedbackKind.PRACTICE)
        .order_by(Feedback.created_at.desc(), Feedback.id.desc())
        .options(
            selectinload(Feedback.giver),
            selectinload(Feedback.receiver),
            selectinload(Feedback.micro_skill).selectinload(MicroSkill.area),
        )
    )
    if receiver_id is not None:
        query = query.where(Feedback.receiver_id == receiver_id)
    if giver_id is not None:
        query = query.where(Feedback.giver_id == giver_id)
    return list(db.session.scalars(query))


def apprentice_progress(person: Person, now: datetime | None = None) -> ApprenticeProgress:
    """The person's own verified hours, masters, feedback and progress in what they develop."""
    seats = verified_seats(apprentice_ids=[person.id])
    by_skill = hours_by_skill(seats)

    by_master: dict[int, list[VerifiedSeat]] = defaultdict(list)
    for seat in seats:
        by_master[seat.master_id].append(seat)
    masters = _people(by_master)
    master_hours = sorted(
        (
            MasterHours(masters[master_id], sum(seat.hours for seat in held), len(held))
            for master_id, held in by_master.items()
        ),
        key=lambda row: (-row.verified_hours, row.master.name),
    )

    skills = progress_toward_next_stage(person, by_skill)
    return ApprenticeProgress(
        total_hours=sum(seat.hours for seat in seats),
        hours_by_month=month_bars(hours_by_month(seats, person.zone), person.zone, now),
        hours_by_skill=skill_bars(by_skill),
        masters=master_hours,
        feedback=_practice_feedback(receiver_id=person.id),
        skills=skills,
    )


def progress_toward_next_stage(
    person: Person, by_skill: dict[int | None, float] | None = None
) -> list[SkillProgress]:
    """Where the person stands in each micro skill they develop, against the next stage.

    `by_skill` is their verified hours by micro skill, when the caller has them already.
    """
    if by_skill is None:
        by_skill = hours_by_skill(verified_seats(apprentice_ids=[person.id]))
    endorsements: dict[int, list[Endorsement]] = defaultdict(list)
    for endorsement in db.session.scalars(
        select(Endorsement)
        .where(Endorsement.person_id == person.id)
        .order_by(Endorsement.created_at.desc(), Endorsement.id.desc())
        .options(selectinload(Endorsement.endorsed_by))
    ):
        endorsements[endorsement.micro_skill_id].append(endorsement)

    ratings = average_ratings(person.id)
    thresholds = stage_thresholds()
    developed = db.session.scalars(
        select(PersonSkill)
        .where(PersonSkill.person_id == person.id, PersonSkill.develops)
        .options(selectinload(PersonSkill.micro_skill).selectinload(MicroSkill.area))
    )
    return sorted(
        (
            skill_progress(
                held, by_skill, ratings, thresholds, tuple(endorsements[held.micro_skill_id])
            )
            for held in developed
        ),
        key=lambda row: row.micro_skill.full_name,
    )


# The master's page --------------------------------------------------------------------------


@dataclass(frozen=True)
class HostedApprentice:
    """An apprentice who watched this master, with the verified hours and the last session."""

    apprentice: Person
    verified_hours: float
    last_session_at: datetime


@dataclass(frozen=True)
class HostingOverview:
    """Everything on a master's hosting page."""

    total_hours: float
    hours_by_month: list[Bar]
    apprentices: list[HostedApprentice]
    # Hours hosted this month against the hosting figure granted for it (None: no allowance).
    this_month_granted: int | None
    feedback: list[Feedback]
    ready: list[SkillProgress]


def merged_spans(spans) -> list[tuple[datetime, datetime]]:
    """Time spans with overlaps joined, so an hour with several observers counts once."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def hosted_spans(seats: list[VerifiedSeat]) -> list[tuple[datetime, datetime]]:
    """The distinct session times of these verified seats, overlaps joined."""
    seat_ids = [seat.seat_id for seat in seats]
    spans: set[tuple[datetime, datetime]] = set()
    # Chunked so a long-serving master's seats stay under the database's parameter limit.
    for start in range(0, len(seat_ids), 500):
        spans.update(
            (starts_at, ends_at)
            for starts_at, ends_at in db.session.execute(
                select(ShadowingSession.starts_at, ShadowingSession.ends_at)
                .join(SessionObserver, SessionObserver.session_id == ShadowingSession.id)
                .where(SessionObserver.id.in_(seat_ids[start : start + 500]))
            )
        )
    return merged_spans(spans)


@dataclass(frozen=True)
class HostingContribution:
    """A master's contribution: host-verified hours hosted and distinct apprentices hosted."""

    hours: float
    apprentices: int

    @property
    def line(self) -> str:
        """The contribution in words, e.g. "hosted 40 h, 12 apprentices"."""
        return (
            f"hosted {self.hours:g} h, {self.apprentices} "
            f"apprentice{'' if self.apprentices == 1 else 's'}"
        )


def hosting_contribution(master: Person) -> HostingContribution:
    """The master's host-verified hours hosted, overlaps joined, and apprentices hosted."""
    seats = verified_seats(master_ids=[master.id])
    spans = hosted_spans(seats) if seats else []
    return HostingContribution(
        hours=round(sum((end - start).total_seconds() / 3600 for start, end in spans), 2),
        apprentices=len({seat.apprentice_id for seat in seats}),
    )


def hosting_overview(master: Person, now: datetime | None = None) -> HostingOverview:
    """A master's verified hosting hours, apprentices, feedback given, and who is ready."""
    seats = verified_seats(master_ids=[master.id])
    spans = hosted_spans(seats)
    by_month: dict[str, float] = defaultdict(float)
    for start, end in spans:
        by_month[start.astimezone(master.zone).strftime("%Y-%m")] += (
            end - start
        ).total_seconds() / 3600

    by_apprentice: dict[int, list[VerifiedSeat]] = defaultdict(list)
    for seat in seats:
        by_apprentice[seat.apprentice_id].append(seat)
    people = _people(by_apprentice)
    apprentices = sorted(
        (
            HostedApprentice(
                people[person_id],
                sum(seat.hours for seat in held),
                max(seat.starts_at for seat in held),
            )
            for person_id, held in by_apprentice.items()
        ),
        key=lambda row: row.last_session_at,
        reverse=True,
    )
    return HostingOverview(
        total_hours=sum((end - start).total_seconds() / 3600 for start, end in spans),
        hours_by_month=month_bars(by_month, master.zone, now),
        apprentices=apprentices,
        this_month_granted=granted(
            master, month_of(now or utcnow(), master.zone), AllowanceKind.HOSTING
        ).hours,
        feedback=_practice_feedback(giver_id=master.id),
        ready=ready_for_endorsement(master, apprentices_of(master, seats)),
    )
