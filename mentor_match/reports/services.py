"""The admin reports: each table built from one period's verified seats, and its CSV file.

Every figure counts host-verified hours only, as `tracking.hours` defines them: a seat with
no attendance, or with 0 minutes, counts nothing. A seat belongs to the period of its
session's start, in months of the viewer's time zone. Each table takes a handful of
queries however many people the organisation has; nothing is read person by person.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from enum import StrEnum
from functools import cached_property

from sqlalchemy import and_, case, func, select

from ..extensions import db
from ..inputs import FIRST_YEAR, LAST_YEAR, year_in_range
from ..models import (
    Area,
    MicroSkill,
    Person,
    PersonSkill,
    SessionMode,
    Stage,
)
from ..tracking.hours import VerifiedSeat, hours_by_skill, skill_names, verified_seats

DEFAULT_MONTHS = 12
MONTH_PATTERN = re.compile(r"(\d{4})-(\d{2})")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NO_SKILL_LABEL = "(no micro skill named)"
NO_MASTER = "no master"


# --- The period ----------------------------------------------------------------------------------


def add_months(month: date, count: int) -> date:
    """The first day of the month `count` months after (or before) `month`."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """Whole months from `first` to `last` inclusive, each given by its first day."""

    first: date
    last: date

    @property
    def from_text(self) -> str:
        return f"{self.first:%Y-%m}"

    @property
    def to_text(self) -> str:
        return f"{self.last:%Y-%m}"

    @property
    def query(self) -> dict[str, str]:
        """The period as the page's query arguments."""
        return {"from": self.from_text, "to": self.to_text}

    @property
    def label(self) -> str:
        if self.first == self.last:
            return f"{self.first:%B %Y}"
        return f"{self.first:%B %Y} to {self.last:%B %Y}"

    @property
    def slug(self) -> str:
        """The period in a file name, e.g. ``2026-01-to-2026-12``."""
        return f"{self.from_text}-to-{self.to_text}"

    def bounds(self, zone: tzinfo) -> tuple[datetime, datetime]:
        """The period's first instant and the instant just after it, in `zone`'s months."""
        after = add_months(self.last, 1)
        return (
            datetime(self.first.year, self.first.month, 1, tzinfo=zone),
            datetime(after.year, after.month, 1, tzinfo=zone),
        )


def last_months(today: date, count: int = DEFAULT_MONTHS) -> Period:
    """The `count` months up to and including today's."""
    this_month = today.replace(day=1)
    return Period(add_months(this_month, 1 - count), this_month)


@dataclass(frozen=True)
class PeriodChoice:
    """The period to report on, and why the one asked for was refused (None if it was not)."""

    period: Period
    problem: str | None = None


def parse_month(text: str) -> date | None:
    """The first day of a "YYYY-MM" month, or None if the text is not one."""
    match = MONTH_PATTERN.fullmatch(text.strip())
    if match is None:
        return None
    year, month = int(match[1]), int(match[2])
    if year < 1 or not 1 <= month <= 12:
        return None
    return date(year, month, 1)


def choose_period(raw_from: str | None, raw_to: str | None, today: date) -> PeriodChoice:
    """The period asked for by ``?from=YYYY-MM&to=YYYY-MM``; the last 12 months by default.

    With only one end given, the period is the 12 months from (or up to) it. A month that
    cannot be read or is outside the years people may use, or a period that ends before it
    starts, falls back to the default with a message saying why.
    """
    default = last_months(today)
    raw_from, raw_to = (raw_from or "").strip(), (raw_to or "").strip()
    if not raw_from and not raw_to:
        return PeriodChoice(default)
    first = parse_month(raw_from) if raw_from else None
    last = parse_month(raw_to) if raw_to else None
    for raw, month in ((raw_from, first), (raw_to, last)):
        if raw and month is None:
            return PeriodChoice(
                default,
                (
                    f"“{raw[:20]}” is not a month: give months as YYYY-MM, such as "
                    f"{today:%Y-%m}. Showing the last {DEFAULT_MONTHS} months instead."
                ),
            )
        if month is not None and not year_in_range(month):
            return PeriodChoice(
                default,
                (
                    f"“{raw[:20]}” is out of range: choose months in the years {FIRST_YEAR} to "
                    f"{LAST_YEAR}. Showing the last {DEFAULT_MONTHS} months instead."
                ),
            )
    if first is None and last is not None:
        first = add_months(last, 1 - DEFAULT_MONTHS)
    if last is None and first is not None:
        last = add_months(first, DEFAULT_MONTHS - 1)
    assert first is not None and last is not None
    if first > last:
        return PeriodChoice(
            default,
            (
                f"The period starts ({first:%Y-%m}) after it ends ({last:%Y-%m}). "
                f"Showing the last {DEFAULT_MONTHS} months instead."
            ),
        )
    return PeriodChoice(Period(first, last))


# --- Tables and their cells -------------------------------------------------------------------


class Kind(StrEnum):
    """How a column's values are written, the same on the page and in the CSV."""

    TEXT = "text"
    COUNT = "count"
    HOURS = "hours"
    PERCENT = "percent"
    RATIO = "ratio"


Cell = str | int | float | None


@dataclass(frozen=True)
class Column:
    label: str
    kind: Kind = Kind.TEXT

    @property
    def numeric(self) -> bool:
        return self.kind is not Kind.TEXT

    def text(self, value: Cell) -> str:
        """The value as shown: hours and ratios to 2 decimals, shares to 1; None is blank."""
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if self.kind is Kind.COUNT:
            return str(int(value))
        if self.kind is Kind.PERCENT:
            return f"{value:.1f}"
        return f"{value:.2f}"


@dataclass(frozen=True)
class ReportTable:
    """One report: its columns, its rows and, for some, a total row, ready to show or export."""

    slug: str
    title: str
    explanation: str
    columns: tuple[Column, ...]
    rows: list[tuple[Cell, ...]]
    total: tuple[Cell, ...] | None = None

    def _texts(self, row: tuple[Cell, ...]) -> list[str]:
        return [column.text(value) for column, value in zip(self.columns, row, strict=True)]

    @property
    def header(self) -> list[str]:
        return [column.label for column in self.columns]

    @property
    def text_rows(self) -> list[list[str]]:
        return [self._texts(row) for row in self.rows]

    @property
    def text_total(self) -> list[str] | None:
        return self._texts(self.total) if self.total is not None else None


def share(part: float, whole: float) -> float | None:
    """`part` as a percentage of `whole`; None when there is no whole to share."""
    return part / whole * 100 if whole else None


def per(amount: float, count: int) -> float | None:
    return amount / count if count else None


# --- What happened in the period ------------------------------------------------------------


@dataclass(frozen=True)
class RosterEntry:
    """What the reports need to know about one person."""

    person_id: int
    is_master: bool
    is_apprentice: bool
    is_remote: bool
    active: bool


@dataclass
class PeriodActivity:
    """One period's verified seats and who took part, loaded once and shared by the tables."""

    period: Period
    zone: tzinfo
    seats: list[VerifiedSeat] = field(init=False)

    def __post_init__(self) -> None:
        starts, ends = self.period.bounds(self.zone)
        self.seats = verified_seats(starts=starts, ends=ends)

    def session_id(self, seat: VerifiedSeat) -> int:
        return seat.session_id

    @cached_property
    def observer_ids(self) -> set[int]:
        return {seat.apprentice_id for seat in self.seats}

    @cached_property
    def host_ids(self) -> set[int]:
        return {seat.master_id for seat in self.seats}

    @cached_property
    def roster(self) -> list[RosterEntry]:
        """Everyone who counts in the period: active masters and apprentices, and anyone
        (even deactivated since) who observed or hosted a verified hour in it.

        A person is a master in the period if they are one now or hosted in it, and an
        apprentice likewise if they are one now or observed in it.
        """
        rows = db.session.execute(
            select(Person.id, Person.is_master, Person.is_apprentice, Person.site_id, Person.active)
        )
        roster = []
        for person_id, is_master, is_apprentice, site_id, active in rows:
            is_master = (is_master and active) or person_id in self.host_ids
            is_apprentice = (is_apprentice and active) or person_id in self.observer_ids
            if is_master or is_apprentice:
                roster.append(
                    RosterEntry(person_id, is_master, is_apprentice, site_id is None, active)
                )
        return roster


# --- The five tables ---------------------------------------------------------------------------


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
            "master at all, then the most apprentices per master. Verified hours are for the period."
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


# --- CSV -----------------------------------------------------------------------------------------


def spreadsheet_safe(text: str) -> str:
    """Quote a cell a spreadsheet would otherwise run as a formula."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def csv_bytes(table: ReportTable) -> bytes:
    """The table as CSV: a header row, its rows, its total; UTF-8 with a BOM for Excel."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    lines = [table.header, *table.text_rows]
    if table.text_total is not None:
        lines.append(table.text_total)
    writer.writerows([spreadsheet_safe(cell) for cell in line] for line in lines)
    return buffer.getvalue().encode("utf-8-sig")


def csv_filename(table: ReportTable, period: Period) -> str:
    return f"mentor-match-{table.slug}-{period.slug}.csv"
