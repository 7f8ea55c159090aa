"""What it takes to reach the next stage: the thresholds (the defaults and the admin's), who
may endorse a step, and where a person stands in one micro skill against them.

An apprentice is eligible for the next stage in a micro skill once both their verified
hours in it and their average practice rating in it reach that stage's threshold; a
master who holds the micro skill at least at that stage may then endorse the step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select

from ..errors import Refusal
from ..extensions import db
from ..models import Endorsement, MicroSkill, Person, PersonSkill, Stage, StageThreshold
from ..tracking.hours import record_change

MAX_THRESHOLD_HOURS = 10_000


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
    """A holder may endorse a step to `to_stage` only at that stage or above, and above
    `current`."""
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


# Setting them --------------------------------------------------------------------------------


def check_threshold(stage: Stage, threshold: Threshold) -> None:
    """Refuse hours outside 0 to 10000 and ratings outside 1 to 5."""
    hours, rating = threshold.verified_hours, threshold.average_rating
    if not (math.isfinite(hours) and 0 <= hours <= MAX_THRESHOLD_HOURS):
        raise Refusal(f"Hours for {stage.value} must be from 0 to {MAX_THRESHOLD_HOURS}.")
    if not (math.isfinite(rating) and 1 <= rating <= 5):
        raise Refusal(f"The average rating for {stage.value} must be from 1 to 5.")


def save_thresholds(admin: Person, wanted: dict[Stage, Threshold]) -> int:
    """Set the threshold of each stage given, logging each change; returns how many changed."""
    for stage, threshold in wanted.items():
        if stage not in DEFAULT_THRESHOLDS:
            raise Refusal(f"No one reaches {stage.value} by endorsement.")
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
