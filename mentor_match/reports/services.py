"""The five admin reports, each a table built from one period's verified seats.

Every figure counts host-verified hours only, as `tracking.hours` defines them: a seat with
no attendance, or with 0 minutes, counts nothing. A seat belongs to the period of its
session's start, in months of the viewer's time zone (``reports.period``). Each table takes a
handful of queries however many people the organisation has; nothing is read person by person.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import tzinfo

from sqlalchemy import and_, case, func, select

from ..extensions import db
from ..models import Area, MicroSkill, Person, PersonSkill, SessionMode, Stage
from ..tracking.hours import VerifiedSeat, hours_by_skill, skill_names
from .activity import PeriodActivity, RosterEntry
from .period import Period
from .tables import Cell, Column, Kind, ReportTable, per, share

NO_SKILL_LABEL = "(no micro skill named)"
NO_MASTER = "no master"


def skill_hours_table(activity: PeriodActivity) -> ReportTable:
    """Verified hours, sessions and apprentices per area and micro skill."""
    skills = sorted(
        db.session.execute(
            select(MicroSkill.id, Area.name, MicroSkill.name).join(
                Area, Area.id == MicroSkill.area_id
            )
        ),
        key=lambda row: (row[1].casefold(), row[2].casefold()),
    )
    hours = hours_by_skill(activity.seats)
    sessions: dict[int | None, set] = defaultdict(set)
    apprentices: dict[int | None, set[int]] = defaultdict(set)
    for seat in activity.seats:
        for skill_id in seat.skill_ids or (None,):
            sessions[skill_id].add(activity.session_id(seat))
            apprentices[skill_id].add(seat.apprentice_id)
    rows: list[tuple[Cell, ...]] = [
        (area, name, hours.get(skill_id, 0.0), len(sessions[skill_id]), len(apprentices[skill_id]))
        for skill_id, area, name in skills
    ]
    if None in hours:
        rows.append(("", NO_SKILL_LABEL, hours[None], len(sessions[None]), len(apprentices[None])))
    total = (
        "All areas",
        "",
        sum(seat.hours for seat in activity.seats),
        len({activity.session_id(seat) for seat in activity.seats}),
        len(activity.observer_ids),
    )
    return ReportTable(
        slug="hours-by-skill",
        title="Hours by area and micro skill",
        explanation=(
            "Verified hours observed in each micro skill. A round's session counts towards "
            "the micro skills of its pairing, its hours split evenly between them, so the "
            "total counts each hour once."
        ),
        columns=(
            Column("Area"),
            Column("Micro skill"),
            Column("Verified hours", Kind.HOURS),
            Column("Sessions", Kind.COUNT),
            Column("Apprentices", Kind.COUNT),
        ),
        rows=rows,
        total=total,
    )


def participation_table(activity: PeriodActivity) -> ReportTable:
    """People by role, and how many observed or hosted a verified hour in the period."""
    groups: dict[str, list[RosterEntry]] = {
        "Masters only": [],
        "Apprentices only": [],
        "Masters and apprentices": [],
    }
    for entry in activity.roster:
        if entry.is_master and entry.is_apprentice:
            groups["Masters and apprentices"].append(entry)
        elif entry.is_master:
            groups["Masters only"].append(entry)
        else:
            groups["Apprentices only"].append(entry)

    def row(label: str, entries: list[RosterEntry]) -> tuple[Cell, ...]:
        observed = sum(entry.person_id in activity.observer_ids for entry in entries)
        hosted = sum(entry.person_id in activity.host_ids for entry in entries)
        taking_part = sum(
            entry.person_id in activity.observer_ids or entry.person_id in activity.host_ids
            for entry in entries
        )
        return (
            label,
            len(entries),
            observed,
            hosted,
            taking_part,
            share(taking_part, len(entries)),
        )

    return ReportTable(
        slug="participation",
        title="Participation",
        explanation=(
            "Active masters and apprentices, and anyone who has taken part in the period "
            "though deactivated since. Observed: had at least one seat verified by its "
            "master. Hosted: a master who hosted at least one verified hour."
        ),
        columns=(
            Column("Role"),
            Column("People", Kind.COUNT),
            Column("Observed", Kind.COUNT),
            Column("Hosted", Kind.COUNT),
            Column("Taking part", Kind.COUNT),
            Column("Share taking part (%)", Kind.PERCENT),
        ),
        rows=[row(label, entries) for label, entries in groups.items()],
        total=row("Everyone", activity.roster),
    )


def mode_table(activity: PeriodActivity) -> ReportTable:
    """Verified hours observed in the room against on video."""
    all_hours = sum(seat.hours for seat in activity.seats)

    def row(label: str, seats: list[VerifiedSeat]) -> tuple[Cell, ...]:
        hours = sum(seat.hours for seat in seats)
        return (
            label,
            hours,
            len(seats),
            len({activity.session_id(seat) for seat in seats}),
            share(hours, all_hours),
        )

    return ReportTable(
        slug="in-person-vs-video",
        title="In person and on video",
        explanation="Verified hours observed in the room and on video, and each one's share.",
        columns=(
            Column("Mode"),
            Column("Verified hours", Kind.HOURS),
            Column("Seats", Kind.COUNT),
            Column("Sessions", Kind.COUNT),
            Column("Share of hours (%)", Kind.PERCENT),
        ),
        rows=[
            row(mode.label, [seat for seat in activity.seats if seat.mode is mode])
            for mode in (SessionMode.IN_PERSON, SessionMode.VIRTUAL)
        ],
        total=row("Both", activity.seats),
    )


def remote_table(activity: PeriodActivity) -> ReportTable:
    """Remote apprentices' verified hours against those of apprentices at a site."""
    apprentices = [entry for entry in activity.roster if entry.is_apprentice]
    hours_of: dict[int, float] = defaultdict(float)
    for seat in activity.seats:
        hours_of[seat.apprentice_id] += seat.hours

    def row(label: str, entries: list[RosterEntry]) -> tuple[Cell, ...]:
        hours = sum(hours_of.get(entry.person_id, 0.0) for entry in entries)
        observing = sum(entry.person_id in activity.observer_ids for entry in entries)
        return (label, len(entries), observing, hours, per(hours, len(entries)))

    return ReportTable(
        slug="remote-vs-on-site",
        title="Remote and on-site apprentices",
        explanation=(
            "Apprentices with no site (remote, video only) against those at a site, by "
            "where they work now. Hours per apprentice counts every apprentice, observing or not."
        ),
        columns=(
            Column("Apprentices"),
            Column("People", Kind.COUNT),
            Column("Observing", Kind.COUNT),
            Column("Verified hours", Kind.HOURS),
            Column("Hours per apprentice", Kind.HOURS),
        ),
        rows=[
            row("Remote (no site)", [entry for entry in apprentices if entry.is_remote]),
            row("At a site", [entry for entry in apprentices if not entry.is_remote]),
        ],
        total=row("All apprentices", apprentices),
    )


def skills_gap_table(activity: PeriodActivity) -> ReportTable:
    """Wanted micro skills with the fewest masters per apprentice first (no master at all first)."""
    above_apprentice = [stage for stage in Stage if stage.rank > Stage.APPRENTICE.rank]
    wanting = func.sum(case((PersonSkill.develops, 1), else_=0))
    hosting = func.sum(
        case((and_(PersonSkill.hosts, PersonSkill.stage.in_(above_apprentice)), 1), else_=0)
    )
    counts = db.session.execute(
        select(PersonSkill.micro_skill_id, wanting, hosting)
        .join(Person, Person.id == PersonSkill.person_id)
        .where(Person.active)
        .group_by(PersonSkill.micro_skill_id)
        .having(wanting > 0)
    ).all()
    names = skill_names(skill_id for skill_id, _, _ in counts)
    hours = hours_by_skill(activity.seats)

    def scarcity(row: tuple[int, int, int]) -> tuple:
        skill_id, apprentices, masters = row
        return (
            masters > 0,
            -(apprentices / masters) if masters else 0,
            -apprentices,
            names.get(skill_id, "").casefold(),
        )

    rows: list[tuple[Cell, ...]] = [
        (
            names.get(skill_id, ""),
            int(apprentices),
            int(masters),
            apprentices / masters if masters else NO_MASTER,
            hours.get(skill_id, 0.0),
        )
        for skill_id, apprentices, masters in sorted(counts, key=scarcity)
    ]
    return ReportTable(
        slug="skills-gap",
        title="The skills gap",
        explanation=(
            "Micro skills active apprentices want to develop, with the active masters who host "
            "them above apprentice stage (journeymen and masters). Most scarce first: no "
            "master at all, then the most apprentices per master. Verified hours are for the "
            "period."
        ),
        columns=(
            Column("Micro skill"),
            Column("Apprentices developing", Kind.COUNT),
            Column("Masters hosting", Kind.COUNT),
            Column("Apprentices per master", Kind.RATIO),
            Column("Verified hours", Kind.HOURS),
        ),
        rows=rows,
    )


TABLES: dict[str, Callable[[PeriodActivity], ReportTable]] = {
    "hours-by-skill": skill_hours_table,
    "participation": participation_table,
    "in-person-vs-video": mode_table,
    "remote-vs-on-site": remote_table,
    "skills-gap": skills_gap_table,
}


def all_tables(period: Period, zone: tzinfo) -> list[ReportTable]:
    """Every report for the period, sharing one load of its verified seats."""
    activity = PeriodActivity(period, zone)
    return [build(activity) for build in TABLES.values()]


def one_table(slug: str, period: Period, zone: tzinfo) -> ReportTable | None:
    """The report named `slug` for the period, or None if there is no such report."""
    build = TABLES.get(slug)
    return build(PeriodActivity(period, zone)) if build else None
