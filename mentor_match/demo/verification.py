"""Where the demo's stages come from: verified for nearly everyone, a few left for the queue.

The story the rows tell: months ago Morgan, the admin, imported everyone from the skills
matrix HR keeps and trusted its stages. The remote workers joined later, and Morgan set
their stages after a call with their managers. Some masters asked a peer who masters the
same skill to confirm their stage, and the peer did (an endorsement from master to
master). Lately four masters raised a stage on their own profile and wait for
verification, one claim was declined with a reason, and two apprentices changed their
learning stages themselves, which is all an apprentice's stage needs.

Nothing here draws from the seed's random generator, so the rest of the organisation is
the same as before; the choices follow the roster, so the same seed gives the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from ..extensions import db
from ..imports.stages import ImportOrigin
from ..models import Endorsement, MicroSkill, Person, PersonSkill, Stage, StageSource

IMPORT_FILE = "skills-matrix.csv"
IMPORTED_DAYS_AGO = 150
REMOTE_NOTE = "Joined after the import; stages agreed with their manager on a video call."
# Masters (none of them a log-in the README offers) whose newest stage is their own word.
WAITING = ("Oliver Bennett", "Rebecca Stein", "Kavitha Subramanian", "Ruby Mitchell")
DECLINED = "Anna Becker"
DECLINE_REASON = (
    "Not yet: the people you work with describe a journeyman in this skill. Host it with "
    "another master watching, then ask them to endorse you."
)
SELF_DECLARED_APPRENTICES = ("Daniel Osei", "Sneha Reddy")
CONFIRMATIONS = 6
CONFIRMATION_NOTES = (
    "Watched this on real work for years; confirming the stage.",
    "Sat in on three of these sessions this quarter: a master, no doubt.",
    "Confirmed after we ran one together: calm, clear, and teaching while doing it.",
)


@dataclass(frozen=True)
class WaitingStage:
    """A demo master's self-declared hosting stage that waits for verification."""

    name: str
    micro_skill: str
    stage: Stage


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), UTC)


def _set(
    held: PersonSkill,
    source: StageSource,
    when: datetime,
    *,
    by: Person | None = None,
    note: str = "",
) -> None:
    held.set_stage(held.stage, source, by=by, note=note)
    held.stage_set_at = when


def _claimable(
    person: Person, most_wanted: Iterable[MicroSkill], other_masters: dict[int, int]
) -> PersonSkill | None:
    """The hosted skill a demo master may hold only on their word: at master stage, not one of
    the scarce most-wanted skills, and shown by at least one other verified master."""
    scarce = set(most_wanted)
    return next(
        (
            held
            for held in person.skills
            if held.hosts
            and held.stage is Stage.MASTER
            and held.micro_skill not in scarce
            and other_masters.get(held.micro_skill.id, 0) > 1
        ),
        None,
    )


def give_stage_sources(
    people: dict[str, Person], admin: Person, today: date, most_wanted: tuple[MicroSkill, ...]
) -> list[WaitingStage]:
    """Give every demo stage its source; returns the stages waiting for verification."""
    db.session.flush()  # a stage names who set it by id
    imported = today - timedelta(days=IMPORTED_DAYS_AGO)
    origin = ImportOrigin(IMPORT_FILE, imported, trusted_by=admin)
    for person in people.values():
        for held in person.skills:
            if person.site is None:
                _set(
                    held,
                    StageSource.ADMIN,
                    _at(imported + timedelta(days=50)),
                    by=admin,
                    note=REMOTE_NOTE,
                )
            else:
                _set(held, StageSource.IMPORTED, _at(imported), by=admin, note=origin.note)

    hosting_masters: dict[int, int] = {}
    for person in people.values():
        for held in person.skills:
            if held.hosts and held.stage is Stage.MASTER:
                hosting_masters[held.micro_skill.id] = (
                    hosting_masters.get(held.micro_skill.id, 0) + 1
                )
    claims = [
        (name, _claimable(people[name], most_wanted, hosting_masters))
        for name in (*WAITING, DECLINED)
    ]
    claimed = {id(held) for _, held in claims if held is not None}

    _confirm_some_masters(people, claimed, today)

    waiting = []
    for days_ago, (name, held) in enumerate(claims, start=2):
        if held is None:
            continue
        _set(held, StageSource.SELF_DECLARED, _at(today - timedelta(days=days_ago)))
        if name == DECLINED:
            held.declined_at, held.decline_reason = (
                _at(today - timedelta(days=1), 15),
                DECLINE_REASON,
            )
        else:
            waiting.append(WaitingStage(name, held.micro_skill.full_name, held.stage))
    for name in SELF_DECLARED_APPRENTICES:
        for held in people[name].skills:
            _set(held, StageSource.SELF_DECLARED, _at(today - timedelta(days=20)))
    return waiting


def _confirm_some_masters(people: dict[str, Person], claimed: set[int], today: date) -> None:
    """A few masters' stages confirmed by a peer who masters the same skill, each with the
    Endorsement row (from master to master) that the stage's source points to."""
    holders: dict[int, list[tuple[Person, PersonSkill]]] = {}
    for person in people.values():
        for held in person.skills:
            if held.hosts and held.stage is Stage.MASTER and id(held) not in claimed:
                holders.setdefault(held.micro_skill.id, []).append((person, held))
    confirmed: set[int] = set()
    for skill_holders in sorted(holders.values(), key=lambda pairs: pairs[0][1].micro_skill.key):
        if len(confirmed) == CONFIRMATIONS:
            break
        pair = next(
            (
                (skill_holders[0][0], person, held)
                for person, held in skill_holders[1:]
                if id(person) not in confirmed
            ),
            None,
        )
        if pair is None:
            continue
        endorser, person, held = pair
        confirmed.add(id(person))
        note = CONFIRMATION_NOTES[len(confirmed) % len(CONFIRMATION_NOTES)]
        when = _at(today - timedelta(days=10 + 7 * len(confirmed)))
        _set(held, StageSource.ENDORSED, when, by=endorser, note=note)
        db.session.add(
            Endorsement(
                person=person,
                micro_skill=held.micro_skill,
                from_stage=Stage.MASTER,
                to_stage=Stage.MASTER,
                endorsed_by=endorser,
                verified_hours=0.0,
                average_rating=None,
                note=note,
                created_at=when,
            )
        )
