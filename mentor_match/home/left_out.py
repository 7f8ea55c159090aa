"""Why a published round paired an apprentice with nobody, told to them, and what they can do.

A round's runs keep why each apprentice was left out as a reason code with a sentence
(round-format.md, `unmatched`). The dashboard words the reason itself, in second person,
from the code and the micro skills the apprentice wanted in that run, so what the
apprentice reads does not depend on how the review words it for the admin.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from ..availability.expansion import Month
from ..booking.offers import MasterChoice, bookable_masters
from ..extensions import db
from ..models import Area, MicroSkill, MonthPlan, Person, RoundRun
from ..rounds.encoder import apprentice_ref

# How many masters open to bookings the card names before "and N more".
MASTERS_NAMED = 3


@dataclass(frozen=True)
class RunVerdict:
    """One apprentice's line in a run's list of those left out, with what they asked for."""

    reason: str  # the solution's code: no_skills, no_hours, no_master, excluded, ...
    detail: str  # the solution's own sentence, used for a code this module does not know
    wants: tuple[str, ...]  # micro skill keys the apprentice wanted in that run
    min_pairing_hours: float


@dataclass(frozen=True)
class LeftOut:
    """A published round that paired the apprentice with nobody: why, and what to do now."""

    month: str  # "YYYY-MM"
    reason: str  # in second person
    # What would help besides booking and wider availability: None, or "confirm" (confirm the
    # next month when its round opens), "skills" (choose micro skills to develop).
    fix: str | None
    masters: list[MasterChoice] = field(default_factory=list)  # open to bookings, teach them

    @property
    def label(self) -> str:
        return Month.parse(self.month).label

    @property
    def masters_named(self) -> list[MasterChoice]:
        return self.masters[:MASTERS_NAMED]

    @property
    def masters_unnamed(self) -> int:
        return max(0, len(self.masters) - MASTERS_NAMED)


@lru_cache(maxsize=8)
def _verdicts(run_id: int, published_at: datetime) -> dict[str, RunVerdict]:
    """Everyone a published run left out, by apprentice ref.

    A published run never changes, so its documents are read and parsed once per process
    (they can be megabytes); `published_at` is in the key so a run id that a wiped test
    database gives again is not mistaken for the old one.
    """
    row = db.session.execute(
        select(RoundRun.problem_json, RoundRun.solution_json).where(RoundRun.id == run_id)
    ).one()
    problem = json.loads(row.problem_json or "{}")
    solution = json.loads(row.solution_json or "{}")
    wants = {a["id"]: tuple(a.get("wants") or ()) for a in problem.get("apprentices") or ()}
    hours = float(problem.get("min_pairing_hours") or 0)
    return {
        entry["apprentice"]: RunVerdict(
            reason=entry.get("reason", ""),
            detail=entry.get("detail", ""),
            wants=wants.get(entry["apprentice"], ()),
            min_pairing_hours=hours,
        )
        for entry in solution.get("unmatched") or ()
    }


def _skill_names(keys: tuple[str, ...]) -> str:
    """The micro skills' full names, three at most and "and N more"; a key no longer in the
    taxonomy is shown as it is."""
    names = {
        skill.key: skill.full_name
        for skill in db.session.scalars(
            select(MicroSkill).join(Area).options(contains_eager(MicroSkill.area))
        )
    }
    shown = sorted(names.get(key, key) for key in keys)
    text = ", ".join(shown[:3])
    return text + (f" and {len(shown) - 3} more" if len(shown) > 3 else "")


def _in_second_person(verdict: RunVerdict) -> tuple[str, str | None]:
    """The reason a run gave, said to the apprentice, and the fix it calls for."""
    hours = f"{verdict.min_pairing_hours:g} h"
    if verdict.reason == "no_skills":
        return "You had not chosen any micro skill you want to develop.", "skills"
    if verdict.reason == "no_hours":
        return (
            f"You asked for fewer observation hours than the shortest pairing, {hours}.",
            None,
        )
    skills = _skill_names(verdict.wants)
    sentences = {
        "no_master": f"Nobody in the round teaches {skills} above your stage.",
        "excluded": f"The masters who teach {skills} above your stage were kept apart from you "
        "in this round.",
        "no_common_time": f"Masters teach {skills} above your stage, but none was free when you "
        f"were for at least {hours} in a mode you both allow.",
        "masters_full": f"The masters who teach {skills} above your stage and share your time "
        "were full this month.",
        "removed": "An admin removed your pairing in review; you are favoured next month.",
    }
    return sentences.get(verdict.reason, verdict.detail), None


def left_out_of(person: Person, round_id: int, month: str, confirm_by: datetime) -> LeftOut | None:
    """Why the published round of `month` paired this apprentice with nobody.

    The latest published run that lists them says why. A person the round never considered
    is told why when they had an account by the deadline (did not confirm, or asked for
    nothing); someone who joined later was not left out of anything.
    """
    ref = apprentice_ref(person.id)
    runs = db.session.execute(
        select(RoundRun.id, RoundRun.published_at)
        .where(RoundRun.round_id == round_id, RoundRun.published_at.is_not(None))
        .order_by(RoundRun.published_at.desc(), RoundRun.id.desc())
    ).all()
    verdict = next(
        (found for run in runs if (found := _verdicts(run.id, run.published_at).get(ref))), None
    )
    if verdict is not None:
        reason, fix = _in_second_person(verdict)
    elif person.created_at > confirm_by:
        return None
    else:
        confirmed = db.session.scalar(
            select(MonthPlan.confirmed_at).where(
                MonthPlan.person_id == person.id, MonthPlan.month == month
            )
        )
        if confirmed is None:
            # Not "by the deadline": an admin may run and publish the round before it.
            reason = (
                f"You had not confirmed your plan for {Month.parse(month).label} when the "
                "round was matched, so it did not include you."
            )
            fix = "confirm"
        else:
            reason = (
                "Your plan asked for no observation hours, or you had no micro skill to "
                "develop, so the round had nothing to pair you for."
            )
            fix = "skills"
    return LeftOut(month, reason, fix, bookable_masters(person))
