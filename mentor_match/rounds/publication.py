"""Publish a reviewed run: its pairings and every session, in one transaction."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from ..availability.expansion import Month
from ..errors import Refusal
from ..extensions import db
from ..integrations.events import ROUND_PUBLISHED, record_event
from ..links import absolute_url
from ..models import (
    MicroSkill,
    Pairing,
    Person,
    Round,
    RoundRun,
    RoundStatus,
    RunKind,
    RunStatus,
    SessionMode,
    SessionObserver,
    ShadowingSession,
    pairing_skills,
    utcnow,
)
from ..models.skills import Area
from ..stages.rounds import pairings_without_host
from ..zones import zone_or_utc
from .encoder import person_id_of
from .notices import notify_many
from .review import SessionKey, session_key, session_skills


@dataclass(frozen=True)
class Published:
    pairings: int
    sessions: int
    people: int


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)  # Python 3.11 reads the trailing Z as UTC


def publish(run: RoundRun) -> Published:
    """Create the run's pairings and sessions and tell everyone, all or nothing.

    The first statement is a conditional update of the run (and, for a full run, of the
    round), so two admins pressing Publish at once give one publication: the second finds
    the run already published and changes nothing.
    """
    round_ = run.round
    if run.status is not RunStatus.SUCCEEDED or run.solution_json is None:
        raise Refusal("Only a finished run can be published.")
    orphaned = pairings_without_host(json.loads(run.solution_json)["pairings"], person_id_of)
    if orphaned:
        count = len(orphaned)
        raise Refusal(
            f"{count} pairing{'s' if count != 1 else ''} {'have' if count != 1 else 'has'} a "
            "master who may no longer host the skills paired (their stage was changed or is no "
            "longer verified since the run). Remove them below, or run again."
        )
    now = utcnow()
    won = db.session.execute(
        update(RoundRun)
        .where(
            RoundRun.id == run.id,
            RoundRun.published_at.is_(None),
            RoundRun.status == RunStatus.SUCCEEDED,
        )
        .values(published_at=now)
    ).rowcount
    if won and run.kind is RunKind.FULL:
        won = db.session.execute(
            update(Round)
            .where(Round.id == round_.id, Round.status == RoundStatus.OPEN)
            .values(status=RoundStatus.PUBLISHED, published_at=now)
        ).rowcount
    elif won and round_.status is not RoundStatus.PUBLISHED:
        won = 0
    if not won:
        db.session.rollback()
        raise Refusal("This round or run has already been published.")
    try:
        result = _create_everything(
            run, round_, json.loads(run.problem_json), json.loads(run.solution_json)
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Refusal(
            "Publishing would pair people who are already paired this month; run a fill instead."
        ) from None
    except Exception:
        db.session.rollback()
        raise
    return result


def _create_everything(run: RoundRun, round_: Round, problem: dict, solution: dict) -> Published:
    masters = {m["id"]: m for m in problem["masters"]}
    skills = list(
        db.session.scalars(select(MicroSkill).join(Area).options(contains_eager(MicroSkill.area)))
    )
    skill_ids = {skill.key: skill.id for skill in skills}
    skill_names = {skill.key: skill.full_name for skill in skills}
    pairings = solution["pairings"]
    rows = [
        {
            "round_id": round_.id,
            "run_id": run.id,
            "apprentice_id": person_id_of(p["apprentice"]),
            "master_id": person_id_of(p["master"]),
        }
        for p in pairings
    ]
    pairing_ids: list[int] = []
    if rows:
        pairing_ids = list(
            db.session.scalars(
                insert(Pairing).returning(Pairing.id, sort_by_parameter_order=True), rows
            )
        )
    skill_rows = [
        {"pairing_id": pairing_id, "micro_skill_id": skill_ids[key]}
        for pairing_id, p in zip(pairing_ids, pairings, strict=True)
        for key in p["skills"]
        if key in skill_ids
    ]
    if skill_rows:
        db.session.execute(insert(pairing_skills), skill_rows)

    # One session per master, time and mode; every apprentice there takes a seat in it.
    seats_taken: dict[SessionKey, list[tuple[int, int]]] = defaultdict(list)
    for pairing_id, p in zip(pairing_ids, pairings, strict=True):
        for session in p["sessions"]:
            seats_taken[session_key(p, session)].append((person_id_of(p["apprentice"]), pairing_id))
    skill_of = session_skills(problem, pairings)
    session_rows = []
    for master_ref, start, end, mode in seats_taken:
        master = masters[master_ref]
        capacity = (
            master["in_person_capacity"] if mode == "in_person" else master["virtual_capacity"]
        )
        site = master["site"] if mode == "in_person" else None
        session_rows.append(
            {
                "master_id": person_id_of(master_ref),
                "starts_at": _instant(start),
                "ends_at": _instant(end),
                "mode": SessionMode(mode),
                "seats": max(1, capacity),
                "site_id": person_id_of(site) if site else None,
                "round_id": round_.id,
                "micro_skill_id": skill_ids.get(skill_of[master_ref, start, end, mode]),
            }
        )
    session_ids: list[int] = []
    if session_rows:
        # render_nulls keeps every row's keys the same (site_id is None for video), so the
        # rows go in a few large batches instead of one batch per change of shape.
        session_ids = list(
            db.session.scalars(
                insert(ShadowingSession)
                .returning(ShadowingSession.id, sort_by_parameter_order=True)
                .execution_options(render_nulls=True),
                session_rows,
            )
        )
    observer_rows = [
        {
            "session_id": session_id,
            "apprentice_id": apprentice_id,
            "pairing_id": pairing_id,
            "starts_at": row["starts_at"],
            "ends_at": row["ends_at"],
        }
        for session_id, row, taken in zip(
            session_ids, session_rows, seats_taken.values(), strict=True
        )
        for apprentice_id, pairing_id in taken
    ]
    if observer_rows:
        db.session.execute(insert(SessionObserver), observer_rows)

    people = _tell_everyone(round_, pairings, skill_names)
    record_event(
        ROUND_PUBLISHED,
        round=round_.month,
        run_id=run.id,
        run_kind=run.kind.value,
        pairings=len(pairing_ids),
        sessions=len(session_ids),
    )
    return Published(len(pairing_ids), len(session_ids), people)


def _tell_everyone(round_: Round, pairings: list[dict], skill_names: dict[str, str]) -> int:
    """One notification and mail per person, listing their pairings and session times locally."""
    label = Month.parse(round_.month).label
    by_person: dict[int, list[tuple[str, dict]]] = defaultdict(list)
    for p in pairings:
        by_person[person_id_of(p["apprentice"])].append(("observe", p))
        by_person[person_id_of(p["master"])].append(("host", p))
    if not by_person:
        return 0
    people = {
        row.id: row
        for row in db.session.execute(
            select(Person.id, Person.name, Person.timezone).where(
                Person.id.in_(
                    select(Pairing.apprentice_id)
                    .where(Pairing.round_id == round_.id)
                    .union(select(Pairing.master_id).where(Pairing.round_id == round_.id))
                )
            )
        )
    }
    link = absolute_url("rounds.my_pairings")
    notices = []
    for person_id, roles in by_person.items():
        person = people[person_id]
        zone = zone_or_utc(person.timezone)
        lines = []
        for role, p in roles:
            other_id = person_id_of(p["master"] if role == "observe" else p["apprentice"])
            other = people[other_id].name
            what = f"You observe {other}" if role == "observe" else f"{other} observes you"
            skills = ", ".join(skill_names.get(key, key) for key in p["skills"])
            lines.append(f"{what} ({skills}):")
            for session in p["sessions"]:
                start = _instant(session["start"]).astimezone(zone)
                end = _instant(session["end"]).astimezone(zone)
                mode = "in the room" if session["mode"] == "in_person" else "on video"
                lines.append(f"  {start:%a %d %b %H:%M}-{end:%H:%M} {mode}")
        count = len(roles)
        text = (
            f"Your {label} pairings are published: {count} pairing{'s' if count != 1 else ''}. "
            "Accept or decline each."
        )
        body = (
            f"Hello {person.name},\n\n{text}\n\n"
            + "\n".join(lines)
            + f"\n\nTimes are in {person.timezone}.\nAccept or decline here: {link}\n"
        )
        notices.append(
            {
                "person_id": person_id,
                "text": text,
                "link": link,
                "mail_subject": f"Your {label} pairings",
                "mail_body": body,
            }
        )
    notify_many(notices)
    return len(notices)
