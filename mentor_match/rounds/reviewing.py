"""An admin's review of a run before publishing: what the page looks up beside the run's own
figures (`review`), and the edits it allows: an uploaded solution, a pairing removed, a pair
kept apart in the next runs.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from ..availability.expansion import Month
from ..errors import Refusal
from ..extensions import db
from ..inputs import JSONInputError, parse_json
from ..models import (
    MicroSkill,
    Person,
    Round,
    RoundExclusion,
    RoundRun,
    RoundStatus,
    RunKind,
    RunStatus,
    utcnow,
)
from ..models.skills import Area
from ..optimizer.check import check_solution
from .encoder import person_id_of
from .opening import round_for
from .review import RoundSummary, session_hours, summarise

MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def published_run(round_: Round) -> RoundRun | None:
    """The full run the round was published from, if it was."""
    return db.session.scalar(
        select(RoundRun).where(
            RoundRun.round_id == round_.id,
            RoundRun.kind == RunKind.FULL,
            RoundRun.published_at.is_not(None),
        )
    )


def published_instead(run: RoundRun) -> RoundRun | None:
    """For a full run that was not published: the run its round was published from, if any."""
    if run.kind is not RunKind.FULL or run.published_at is not None:
        return None
    return published_run(run.round)


def previous_summary(round_: Round) -> RoundSummary | None:
    """The published result of the month before, summarised, for a side-by-side."""
    month = Month.parse(round_.month).previous
    previous = round_for(str(month))
    if previous is None:
        return None
    run = published_run(previous)
    if run is None:
        return None
    return summarise(json.loads(run.problem_json), json.loads(run.solution_json))


def skill_names() -> dict[str, str]:
    """Micro skill keys of round files ("negotiation/anchoring") to names people read."""
    return {
        skill.key: skill.full_name
        for skill in db.session.scalars(
            select(MicroSkill).join(Area).options(contains_eager(MicroSkill.area))
        )
    }


def names_for_refs(refs: list[str]) -> dict[str, str]:
    """Names for problem ids such as `a-12` and `m-7`, in one query."""
    ids = {ref: person_id_of(ref) for ref in set(refs)}
    names = (
        dict(
            db.session.execute(
                select(Person.id, Person.name).where(Person.id.in_(set(ids.values())))
            ).all()
        )
        if ids
        else {}
    )
    return {ref: names.get(pid, ref) for ref, pid in ids.items()}


def upload_refusal(run: RoundRun) -> str | None:
    """Why no solution can be uploaded for this run, or None when one can (the review offers
    the form only then)."""
    if run.problem_json is None:
        return "This run has no problem snapshot to check a solution against."
    if (
        run.published_at is not None
        or run.round.status is RoundStatus.PUBLISHED
        and run.kind is RunKind.FULL
    ):
        return "This round is already published; upload a solution to a fill run instead."
    return None


def upload_solution(run: RoundRun, data: bytes, requested_by: Person | None) -> RoundRun:
    """A solution made elsewhere for this run's problem, kept as a new run once it checks out."""
    refusal = upload_refusal(run)
    if refusal:
        raise Refusal(refusal)
    if len(data) > MAX_UPLOAD_BYTES:
        raise Refusal("The file is larger than 50 MB.")
    try:
        solution = parse_json(data)
    except JSONInputError as error:
        raise Refusal(f"The file is not JSON: {error}.") from None
    problems = check_solution(json.loads(run.problem_json), solution)
    if problems:
        raise Refusal("The solution breaks the round's rules:\n" + "\n".join(problems))
    uploaded = RoundRun(
        round_id=run.round_id,
        kind=run.kind,
        status=RunStatus.SUCCEEDED,
        source="upload",
        time_limit=0,
        requested_by_id=requested_by.id if requested_by else None,
        started_at=utcnow(),
        finished_at=utcnow(),
        problem_json=run.problem_json,
        solution_json=json.dumps(solution),
        observation_hours=solution["observation_hours"],
        upper_bound=solution["upper_bound"],
        best_hours=solution["observation_hours"],
        bound=solution["upper_bound"],
    )
    db.session.add(uploaded)
    db.session.commit()
    return uploaded


def remove_pairing(run: RoundRun, apprentice: str, master: str) -> None:
    """Drop one pairing from a run under review; the apprentice is listed as left out."""
    if run.published_at is not None or run.status is not RunStatus.SUCCEEDED:
        raise Refusal("Only a finished run that is not yet published can be edited.")
    solution = json.loads(run.solution_json)
    kept = [
        p for p in solution["pairings"] if (p["apprentice"], p["master"]) != (apprentice, master)
    ]
    if len(kept) == len(solution["pairings"]):
        raise Refusal("That pairing is not in this run.")
    solution["pairings"] = kept
    hours = sum(session_hours(session) for p in kept for session in p["sessions"])
    solution["observation_hours"] = hours
    if not any(p["apprentice"] == apprentice for p in kept):
        solution.setdefault("unmatched", []).append(
            {
                "apprentice": apprentice,
                "reason": "removed",
                "detail": "An admin removed your pairing in review; you are favoured next month.",
            }
        )
    run.solution_json = json.dumps(solution)
    run.observation_hours = hours
    run.best_hours = hours
    db.session.commit()


def exclusion_candidates() -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The active apprentices and masters an admin may keep apart, as (id, "name (email)")."""
    people = db.session.execute(
        select(Person.id, Person.name, Person.email, Person.is_master, Person.is_apprentice)
        .where(Person.active)
        .order_by(Person.name)
    ).all()
    apprentices = [(p.id, f"{p.name} ({p.email})") for p in people if p.is_apprentice]
    masters = [(p.id, f"{p.name} ({p.email})") for p in people if p.is_master]
    return apprentices, masters


def exclude_pair(round_: Round, apprentice_id: int, master_id: int) -> None:
    """Keep this apprentice and master apart in the round's next runs."""
    check_exclusions_open(round_)
    if apprentice_id == master_id:
        raise Refusal("A person is never paired with themself.")
    for person_id in (apprentice_id, master_id):
        if db.session.get(Person, person_id) is None:
            raise Refusal("No such person.")
    db.session.add(
        RoundExclusion(round_id=round_.id, apprentice_id=apprentice_id, master_id=master_id)
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Refusal("That pair is already excluded from this round.") from None


def remove_exclusion(round_: Round, exclusion_id: int) -> None:
    """Let the round's next runs pair this apprentice and master again."""
    check_exclusions_open(round_)
    exclusion = db.session.get(RoundExclusion, exclusion_id)
    if exclusion is None or exclusion.round_id != round_.id:
        raise Refusal("That exclusion is not part of this round.")
    db.session.delete(exclusion)
    db.session.commit()


PUBLISHED_EXCLUSIONS = (
    "This round is published: its excluded pairs can no longer change. "
    "Keep a pair apart in next month's round instead."
)


def check_exclusions_open(round_: Round) -> None:
    """Exclusions shape the runs before publication; after it they would only mislead."""
    if round_.status is RoundStatus.PUBLISHED:
        raise Refusal(PUBLISHED_EXCLUSIONS)
