"""Progress toward the next stage: the figures each page shows, endorsement and thresholds.

Hours and ratings come from `tracking.hours`, the one place that says what a verified hour
is. An apprentice is eligible for the next stage in a micro skill once both their verified
hours in it and their average practice rating in it reach that stage's threshold; a
master who holds the micro skill at least at that stage may then endorse the step.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..links import absolute_url
from ..models import (
    Endorsement,
    Feedback,
    FeedbackKind,
    MicroSkill,
    Person,
    PersonSkill,
    SessionObserver,
    ShadowingSession,
    Stage,
    StageSource,
    StageThreshold,
    utcnow,
)
from ..rounds.notices import notify
from ..tracking.hours import (
    VerifiedSeat,
    average_ratings,
    hours_by_month,
    hours_by_skill,
    record_change,
    skill_names,
    verified_seats,
)

MONTHS_SHOWN = 12
MAX_THRESHOLD_HOURS = 10_000
MAX_NOTE = 1000
NO_SKILL_LABEL = "No micro skill named"


class EndorsementRefusal(Exception):
    """An endorsement that cannot be given, said so the master can act on it."""


class ThresholdRefusal(Exception):
    """Thresholds that cannot be saved, said so the admin can correct them."""


@dataclass(frozen=True)
class Threshold:
    """What it takes to reach a stage: verified hours in the micro skill and an average rating."""

    verified_hours: float
    average_rating: float

    def describe(self) -> str:
        return f"{self.verified_hours:g} h, average {self.average_rating:g}"


# The thresholds used until an admin sets them at /admin/stages (a StageThreshold row per
# stage overrides its default). Keyed by the stage reached; hours are all the verified
# hours in the micro skill so far, so reaching master counts the hours before journeyman.
DEFAULT_THRESHOLDS: dict[Stage, Threshold] = {
    # apprentice -> journeyman: 40 verified hours and an average practice rating of 3.5.
    Stage.JOURNEYMAN: Threshold(verified_hours=40.0, average_rating=3.5),
    # journeyman -> master: 120 verified hours and an average practice rating of 4.2.
    Stage.MASTER: Threshold(verified_hours=120.0, average_rating=4.2),
}


def stage_thresholds() -> dict[Stage, Threshold]:
    """The threshold of each stage one can reach: the admin's where set, else the default."""
    thresholds = dict(DEFAULT_THRESHOLDS)
    for row in db.session.scalars(select(StageThreshold)):
        if row.stage in thresholds:
            thresholds[row.stage] = Threshold(row.verified_hours, row.average_rating)
    return thresholds


def next_stage(stage: Stage) -> Stage | None:
    """The stage after this one, or None at master."""
    stages = list(Stage)
    return stages[stage.rank + 1] if stage.rank + 1 < len(stages) else None


def may_endorse(master_stage: Stage | None, current: Stage, to_stage: Stage | None) -> bool:
    """A holder may endorse a step to `to_stage` only at that stage or above, and above `current`."""
    return (
        master_stage is not None
        and to_stage is not None
        and master_stage.rank >= to_stage.rank
        and master_stage.rank > current.rank
    )


def _reaches(value: float, target: float) -> bool:
    # Hours split between micro skills are sums of fractions; a figure shown as 40.0
    # must not fail a threshold of 40 by a rounding error.
    return round(value, 6) >= round(target, 6)


@dataclass(frozen=True)
class SkillProgress:
    """Where a person stands in one micro skill against the next stage's threshold."""

    person: Person
    micro_skill: MicroSkill
    stage: Stage
    next_stage: Stage | None
    verified_hours: float
    average_rating: float | None
    ratings: int
    threshold: Threshold | None
    endorsements: tuple[Endorsement, ...] = ()

    @property
    def hours_met(self) -> bool:
        return self.threshold is not None and _reaches(
            self.verified_hours, self.threshold.verified_hours
        )

    @property
    def rating_met(self) -> bool:
        return (
            self.threshold is not None
            and self.average_rating is not None
            and _reaches(self.average_rating, self.threshold.average_rating)
        )

    @property
    def eligible(self) -> bool:
        return self.next_stage is not None and self.hours_met and self.rating_met


def skill_progress(
    held: PersonSkill,
    hours: dict[int | None, float],
    ratings: dict[int, tuple[float, int]],
    thresholds: dict[Stage, Threshold],
    endorsements: tuple[Endorsement, ...] = (),
) -> SkillProgress:
    """One micro skill's progress, from the person's hours by skill and ratings by skill."""
    upcoming = next_stage(held.stage)
    average, count = ratings.get(held.micro_skill_id, (None, 0))
    return SkillProgress(
        person=held.person,
        micro_skill=held.micro_skill,
        stage=held.stage,
        next_stage=upcoming,
        verified_hours=hours.get(held.micro_skill_id, 0.0),
        average_rating=average,
        ratings=count,
        threshold=thresholds.get(upcoming) if upcoming else None,
        endorsements=endorsements,
    )


# Charts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """One bar of a chart: what it stands for, its short axis label, and its hours."""

    label: str
    short: str
    hours: float
    note: str = ""  # a second axis line: the year (’26) under January and the first month


def recent_months(zone: ZoneInfo, now: datetime | None = None) -> list[date]:
    """The first days of the last MONTHS_SHOWN months, oldest first, ending with this one."""
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    index = today.year * 12 + today.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(index - MONTHS_SHOWN + 1, index + 1)]


def month_bars(hours: dict[str, float], zone: ZoneInfo, now: datetime | None = None) -> list[Bar]:
    """Hours by "YYYY-MM" as a bar per month of the last year (zero where none)."""
    months = recent_months(zone, now)
    return [
        Bar(
            label=month.strftime("%B %Y"),
            short=month.strftime("%b"),
            hours=hours.get(month.strftime("%Y-%m"), 0.0),
            note=month.strftime("’%y") if month.month == 1 or index == 0 else "",
        )
        for index, month in enumerate(months)
    ]


def skill_bars(hours: dict[int | None, float]) -> list[Bar]:
    """Hours by micro skill as bars, most hours first."""
    names = skill_names(hours)
    bars = [
        Bar(
            label=names.get(skill_id, NO_SKILL_LABEL) if skill_id else NO_SKILL_LABEL,
            short="",
            hours=total,
        )
        for skill_id, total in hours.items()
    ]
    return sorted(bars, key=lambda bar: (-bar.hours, bar.label))


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
    skills = sorted(
        (
            skill_progress(
                held, by_skill, ratings, thresholds, tuple(endorsements[held.micro_skill_id])
            )
            for held in developed
        ),
        key=lambda row: row.micro_skill.full_name,
    )
    return ApprenticeProgress(
        total_hours=sum(seat.hours for seat in seats),
        hours_by_month=month_bars(hours_by_month(seats, person.zone), person.zone, now),
        hours_by_skill=skill_bars(by_skill),
        masters=master_hours,
        feedback=_practice_feedback(receiver_id=person.id),
        skills=skills,
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


def _apprentice_ids(master: Person, seats: list[VerifiedSeat]) -> set[int]:
    """People who watched the master (verified) or whose practice the master rated."""
    rated = db.session.scalars(
        select(Feedback.receiver_id).where(
            Feedback.giver_id == master.id, Feedback.kind == FeedbackKind.PRACTICE
        )
    )
    return ({seat.apprentice_id for seat in seats} | set(rated)) - {master.id}


def ready_for_endorsement(master: Person, apprentice_ids: set[int]) -> list[SkillProgress]:
    """The master's apprentices eligible for a next stage that the master may endorse."""
    held_by_master = {
        held.micro_skill_id: held.stage for held in master.skills if held.stage_verified
    }
    if not apprentice_ids or not held_by_master:
        return []
    candidates = [
        held
        for held in db.session.scalars(
            select(PersonSkill)
            .join(Person, Person.id == PersonSkill.person_id)
            .where(
                PersonSkill.person_id.in_(apprentice_ids),
                Person.active,
                PersonSkill.micro_skill_id.in_(held_by_master),
                PersonSkill.stage != Stage.MASTER,
            )
            .options(
                selectinload(PersonSkill.person),
                selectinload(PersonSkill.micro_skill).selectinload(MicroSkill.area),
            )
        )
        if may_endorse(held_by_master[held.micro_skill_id], held.stage, next_stage(held.stage))
    ]
    if not candidates:
        return []
    seats_by_person: dict[int, list[VerifiedSeat]] = defaultdict(list)
    for seat in verified_seats(apprentice_ids=list({held.person_id for held in candidates})):
        seats_by_person[seat.apprentice_id].append(seat)
    thresholds = stage_thresholds()
    ready = []
    ratings_by_person: dict[int, dict[int, tuple[float, int]]] = {}
    for held in candidates:
        if held.person_id not in ratings_by_person:
            ratings_by_person[held.person_id] = average_ratings(held.person_id)
        progress = skill_progress(
            held,
            hours_by_skill(seats_by_person[held.person_id]),
            ratings_by_person[held.person_id],
            thresholds,
        )
        if progress.eligible:
            ready.append(progress)
    return sorted(ready, key=lambda row: (row.person.name, row.micro_skill.full_name))


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
        feedback=_practice_feedback(giver_id=master.id),
        ready=ready_for_endorsement(master, _apprentice_ids(master, seats)),
    )


# Endorsing ----------------------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    """Text cut to fit a column of `limit` characters (long names make long notices)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def endorse(master: Person, person_id: int, micro_skill_id: int, note: str = "") -> Endorsement:
    """Endorse an eligible apprentice's next stage: move it, log it and tell them; one commit.

    Every rule is checked again here, whatever the page showed: not oneself, one of the
    master's own apprentices, the master's own stage, and the thresholds.
    """
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise EndorsementRefusal(f"Keep the note to {MAX_NOTE} characters or fewer.")
    if not master.is_master:
        raise EndorsementRefusal("Only masters endorse a step to the next stage.")
    if person_id == master.id:
        raise EndorsementRefusal("You cannot endorse yourself.")
    person = db.session.get(Person, person_id)
    micro_skill = db.session.get(MicroSkill, micro_skill_id)
    seats = verified_seats(apprentice_ids=[person_id])
    if (
        person is None
        or micro_skill is None
        or not person.active
        or person_id not in _apprentice_ids(master, [s for s in seats if s.master_id == master.id])
    ):
        # Said the same way whoever it is, so the refusal tells nothing about strangers.
        raise EndorsementRefusal(
            "You can endorse only apprentices who have observed you or whose practice you rated."
        )
    held = db.session.get(PersonSkill, (person_id, micro_skill_id))
    if held is None:
        raise EndorsementRefusal(
            f"{person.name} has no stage in {micro_skill.full_name} to move on from."
        )
    to_stage = next_stage(held.stage)
    if to_stage is None:
        raise EndorsementRefusal(f"{person.name} is already a master in {micro_skill.full_name}.")
    own = db.session.get(PersonSkill, (master.id, micro_skill_id))
    if not may_endorse(own.stage if own else None, held.stage, to_stage):
        raise EndorsementRefusal(
            f"To endorse a step to {to_stage.value} in {micro_skill.full_name} you must be at least "
            f"a {to_stage.value} in it yourself."
        )
    if not own.stage_verified:
        # Else a self-declared master could hand out verified stages to anyone.
        raise EndorsementRefusal(
            f"Your own stage in {micro_skill.full_name} is self-declared: once an admin or a "
            "verified master verifies it, you can endorse others in it."
        )
    progress = skill_progress(
        held, hours_by_skill(seats), average_ratings(person_id), stage_thresholds()
    )
    if not progress.eligible:
        threshold = progress.threshold
        rating = (
            f"{progress.average_rating:.2f}" if progress.average_rating is not None else "none yet"
        )
        raise EndorsementRefusal(
            f"{person.name} is not yet eligible for {to_stage.value} in {micro_skill.full_name}: it takes "
            f"{threshold.verified_hours:g} verified hours (they have {progress.verified_hours:.1f}) and an "
            f"average practice rating of {threshold.average_rating:g} (theirs: {rating})."
        )
    if (
        db.session.scalar(
            select(Endorsement.id).where(
                Endorsement.person_id == person_id,
                Endorsement.micro_skill_id == micro_skill_id,
                Endorsement.to_stage == to_stage,
            )
        )
        is not None
    ):
        raise EndorsementRefusal(
            f"{person.name} has already been endorsed for {to_stage.value} in {micro_skill.full_name}."
        )

    from_stage, from_source = held.stage, held.stage_source
    # Conditional on the stage we read, so two masters endorsing at once move it only once.
    moved = db.session.execute(
        update(PersonSkill)
        .where(
            PersonSkill.person_id == person_id,
            PersonSkill.micro_skill_id == micro_skill_id,
            PersonSkill.stage == from_stage,
        )
        .values(
            stage=to_stage,
            stage_source=StageSource.ENDORSED,
            stage_set_by_id=master.id,
            stage_set_at=utcnow(),
            stage_note=note,
            declined_at=None,
            decline_reason="",
        )
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if not moved:
        raise EndorsementRefusal(
            f"{person.name}'s stage in {micro_skill.full_name} changed meanwhile; look again."
        )
    endorsement = Endorsement(
        person_id=person_id,
        micro_skill_id=micro_skill_id,
        from_stage=from_stage,
        to_stage=to_stage,
        endorsed_by_id=master.id,
        verified_hours=round(progress.verified_hours, 2),
        average_rating=progress.average_rating,
        note=note,
    )
    db.session.add(endorsement)
    db.session.flush()
    record_change(
        master,
        "endorsement",
        endorsement.id,
        "given",
        "",
        f"{micro_skill.key}: {from_stage.value} -> {to_stage.value}; "
        f"{progress.verified_hours:.1f} h; average {progress.average_rating:.2f}",
    )
    # A person's stage has no id of its own: the subject is the person, the skill in the text.
    record_change(
        master,
        "person_skill",
        person_id,
        "stage_changed",
        f"{micro_skill.key}: {from_stage.value} ({from_source.label})",
        f"{micro_skill.key}: {to_stage.value} ({StageSource.ENDORSED.label})",
    )
    text = f"{master.name} endorsed you: you are now a {to_stage.value} in {micro_skill.full_name}."
    link = absolute_url("progress.mine")
    body = f"{text}\n\n{master.name} wrote: {note}" if note else text
    notify(
        person,
        _clip(text, 300),
        link=link,
        subject=_clip(f"You are now a {to_stage.value} in {micro_skill.full_name}", 200),
        body=f"{body}\n\nYour progress: {link}",
    )
    db.session.commit()
    return endorsement


# Thresholds ---------------------------------------------------------------------------------


def check_threshold(stage: Stage, threshold: Threshold) -> None:
    """Refuse hours outside 0 to 10000 and ratings outside 1 to 5."""
    hours, rating = threshold.verified_hours, threshold.average_rating
    if not (math.isfinite(hours) and 0 <= hours <= MAX_THRESHOLD_HOURS):
        raise ThresholdRefusal(f"Hours for {stage.value} must be from 0 to {MAX_THRESHOLD_HOURS}.")
    if not (math.isfinite(rating) and 1 <= rating <= 5):
        raise ThresholdRefusal(f"The average rating for {stage.value} must be from 1 to 5.")


def save_thresholds(admin: Person, wanted: dict[Stage, Threshold]) -> int:
    """Set the threshold of each stage given, logging each change; returns how many changed."""
    for stage, threshold in wanted.items():
        if stage not in DEFAULT_THRESHOLDS:
            raise ThresholdRefusal(f"No one reaches {stage.value} by endorsement.")
        check_threshold(stage, threshold)
    current = stage_thresholds()
    changed = 0
    for stage, threshold in wanted.items():
        if threshold == current[stage]:
            continue
        row = db.session.scalar(select(StageThreshold).where(StageThreshold.stage == stage))
        if row is None:
            row = StageThreshold(stage=stage)
            db.session.add(row)
        row.verified_hours, row.average_rating = threshold.verified_hours, threshold.average_rating
        db.session.flush()
        record_change(
            admin,
            "stage_threshold",
            row.id,
            "changed",
            f"{stage.value}: {current[stage].describe()}",
            f"{stage.value}: {threshold.describe()}",
        )
        changed += 1
    db.session.commit()
    return changed
