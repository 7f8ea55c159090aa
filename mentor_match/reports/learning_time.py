"""The organisation's picture of learning time: granted against planned and used, by team, site
and month, and where allowances run out while apprentices wait for scarce micro skills.

Each person's figures are for their own calendar months, as their month plans and granted
figures are. Used hours are host-verified (`allowances.usage`). Granted hours count people in
the role the figure is for (active apprentices observing, active masters hosting) and only
where an allowance applies; a person with none adds nothing to the granted column. Every table
is built from a few queries per month, never one per person.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from sqlalchemy import and_, case, func, select

from ..allowances.figures import Granted, granted_for
from ..allowances.usage import MonthUsage, usage_for
from ..availability.expansion import Month
from ..extensions import db
from ..models import (
    AllowanceKind,
    AllowanceRequest,
    Person,
    PersonSkill,
    RequestState,
    Site,
    Stage,
)
from ..progress.charts import Bar
from ..tracking.hours import skill_names
from .period import Period, add_months
from .tables import Cell, Column, Kind, ReportTable

NO_MANAGER = "No manager (the admins)"
REMOTE = "Remote (no site)"
# A micro skill is scarce when this many active masters host it, or fewer.
SCARCE_MASTERS = 2

FIGURE_COLUMNS = (
    Column("People", Kind.COUNT),
    Column("Observing granted", Kind.HOURS),
    Column("Observing planned", Kind.HOURS),
    Column("Observed (verified)", Kind.HOURS),
    Column("Hosting granted", Kind.HOURS),
    Column("Hosting planned", Kind.HOURS),
    Column("Hosted (verified)", Kind.HOURS),
    Column("Requests approved", Kind.COUNT),
    Column("Requests declined", Kind.COUNT),
)


@dataclass(frozen=True)
class Member:
    """What the report needs to know about one person."""

    id: int
    name: str
    manager_id: int | None
    site_id: int | None
    is_master: bool
    is_apprentice: bool
    active: bool


@dataclass
class Figures:
    """Learning time summed over a group of people and months."""

    people: set[int] = field(default_factory=set)
    observing_granted: float = 0.0
    observing_planned: float = 0.0
    observed: float = 0.0
    hosting_granted: float = 0.0
    hosting_planned: float = 0.0
    hosted: float = 0.0
    approved: int = 0
    declined: int = 0

    def cells(self) -> tuple[Cell, ...]:
        return (
            len(self.people),
            self.observing_granted,
            self.observing_planned,
            self.observed,
            self.hosting_granted,
            self.hosting_planned,
            self.hosted,
            self.approved,
            self.declined,
        )


def period_months(period: Period) -> list[Month]:
    months = []
    month: date = period.first
    while month <= period.last:
        months.append(Month(month.year, month.month))
        month = add_months(month, 1)
    return months


@dataclass
class LearningTimePicture:
    """One period's learning time for everyone who counts, loaded once for every table."""

    period: Period
    today: date

    @cached_property
    def months(self) -> list[Month]:
        return period_months(self.period)

    @cached_property
    def people(self) -> dict[int, Member]:
        return {
            row.id: Member(*row)
            for row in db.session.execute(
                select(
                    Person.id,
                    Person.name,
                    Person.manager_id,
                    Person.site_id,
                    Person.is_master,
                    Person.is_apprentice,
                    Person.active,
                ).where(Person.is_master | Person.is_apprentice)
            )
        }

    @cached_property
    def usage(self) -> dict[tuple[int, Month], MonthUsage]:
        return usage_for(self.people, self.months)

    @cached_property
    def granted(self) -> dict[tuple[AllowanceKind, Month], dict[int, Granted]]:
        ids = list(self.people)
        return {
            (kind, month): granted_for(ids, month, kind)
            for kind in AllowanceKind
            for month in self.months
        }

    @cached_property
    def requests(self) -> list[tuple[int, str, RequestState]]:
        """Decided requests for months in the period: (person id, month, state)."""
        texts = [str(month) for month in self.months]
        return [
            (person_id, month, state)
            for person_id, month, state in db.session.execute(
                select(AllowanceRequest.person_id, AllowanceRequest.month, AllowanceRequest.state)
                .where(
                    AllowanceRequest.month.in_(texts),
                    AllowanceRequest.state.in_([RequestState.APPROVED, RequestState.DECLINED]),
                )
                .order_by(AllowanceRequest.id)
            )
        ]

    def counts(self, member: Member, month: Month) -> bool:
        """Whether the member belongs in the month's figures: active, or with hours in it."""
        usage = self.usage[member.id, month]
        return member.active or bool(usage.observed_hours or usage.hosted_hours)

    def add(self, figures: Figures, member: Member, month: Month) -> None:
        """The member's month added to `figures`."""
        usage = self.usage[member.id, month]
        figures.people.add(member.id)
        if member.is_apprentice and member.active:
            observing = self.granted[AllowanceKind.OBSERVING, month][member.id]
            figures.observing_granted += observing.hours or 0
            figures.observing_planned += usage.planned_observing or 0
        if member.is_master and member.active:
            hosting = self.granted[AllowanceKind.HOSTING, month][member.id]
            figures.hosting_granted += hosting.hours or 0
            figures.hosting_planned += usage.planned_hosting or 0
        figures.observed += usage.observed_hours
        figures.hosted += usage.hosted_hours

    def grouped(self, key: Callable[[Member, Month], str]) -> dict[str, Figures]:
        groups: dict[str, Figures] = defaultdict(Figures)
        for member in self.people.values():
            for month in self.months:
                if self.counts(member, month):
                    self.add(groups[key(member, month)], member, month)
        by_month = {str(month): month for month in self.months}
        for person_id, month_text, state in self.requests:
            member = self.people.get(person_id)
            if member is None:
                continue
            figures = groups[key(member, by_month[month_text])]
            if state is RequestState.APPROVED:
                figures.approved += 1
            else:
                figures.declined += 1
        return groups

    def total(self) -> Figures:
        return self.grouped(lambda member, month: "")[""] if self.people else Figures()

    @cached_property
    def manager_names(self) -> dict[int, str]:
        ids = {member.manager_id for member in self.people.values() if member.manager_id}
        if not ids:
            return {}
        return dict(
            db.session.execute(select(Person.id, Person.name).where(Person.id.in_(ids))).all()
        )

    @cached_property
    def site_names(self) -> dict[int, str]:
        return dict(db.session.execute(select(Site.id, Site.name)).all())


def _figures_table(
    picture: LearningTimePicture,
    *,
    slug: str,
    title: str,
    explanation: str,
    heading: str,
    groups: dict[str, Figures],
    order: list[str],
) -> ReportTable:
    return ReportTable(
        slug=slug,
        title=title,
        explanation=explanation,
        columns=(Column(heading), *FIGURE_COLUMNS),
        rows=[(name, *groups[name].cells()) for name in order if name in groups],
        total=("All", *picture.total().cells()),
    )


def by_team_table(picture: LearningTimePicture) -> ReportTable:
    """Each manager's team, and the people with no manager."""
    names = picture.manager_names
    shared = {name for name in names.values() if list(names.values()).count(name) > 1}

    def team(member: Member, month: Month) -> str:
        if member.manager_id is None:
            return NO_MANAGER
        name = names.get(member.manager_id, "")
        # Two managers of the same name stay two teams, told apart by their number.
        return f"{name} (#{member.manager_id})" if name in shared else name

    groups = picture.grouped(team)
    order = sorted((name for name in groups if name != NO_MANAGER), key=str.casefold)
    return _figures_table(
        picture,
        slug="learning-time-by-team",
        title="Learning time by team",
        explanation=(
            "Each manager's team: the hours granted (approved requests included), planned in "
            "month plans, and verified by masters, observing and hosting, over the period; and "
            "the requests for more hours decided for its months."
        ),
        heading="Team (manager)",
        groups=groups,
        order=[*order, NO_MANAGER],
    )


def by_site_table(picture: LearningTimePicture) -> ReportTable:
    """Each site, and the people who work remotely."""
    names = picture.site_names

    def site(member: Member, month: Month) -> str:
        return REMOTE if member.site_id is None else names.get(member.site_id, "")

    groups = picture.grouped(site)
    order = sorted((name for name in groups if name != REMOTE), key=str.casefold)
    return _figures_table(
        picture,
        slug="learning-time-by-site",
        title="Learning time by site",
        explanation="The same figures by where people work now.",
        heading="Site",
        groups=groups,
        order=[*order, REMOTE],
    )


def by_month_table(picture: LearningTimePicture) -> ReportTable:
    """Each month of the period."""
    groups = picture.grouped(lambda member, month: month.label)
    return _figures_table(
        picture,
        slug="learning-time-by-month",
        title="Learning time by month",
        explanation="The same figures month by month; each person's month is in their own zone.",
        heading="Month",
        groups=groups,
        order=[month.label for month in picture.months],
    )


def scarce_skills() -> dict[int, int]:
    """Micro skills active apprentices develop and at most SCARCE_MASTERS active masters host
    above apprentice stage: skill id -> masters hosting it."""
    above_apprentice = [stage for stage in Stage if stage.rank > Stage.APPRENTICE.rank]
    wanting = func.sum(case((PersonSkill.develops, 1), else_=0))
    hosting = func.sum(
        case((and_(PersonSkill.hosts, PersonSkill.stage.in_(above_apprentice)), 1), else_=0)
    )
    return {
        skill_id: int(masters)
        for skill_id, _, masters in db.session.execute(
            select(PersonSkill.micro_skill_id, wanting, hosting)
            .join(Person, Person.id == PersonSkill.person_id)
            .where(Person.active)
            .group_by(PersonSkill.micro_skill_id)
            .having(wanting > 0)
        )
        if int(masters) <= SCARCE_MASTERS
    }


def run_out_table(picture: LearningTimePicture) -> ReportTable:
    """Apprentices out of granted hours, or whose plan the allowance caps, who develop a
    scarce micro skill, month by month."""
    scarce = scarce_skills()
    waiting: dict[int, list[int]] = defaultdict(list)
    if scarce:
        for person_id, skill_id in db.session.execute(
            select(PersonSkill.person_id, PersonSkill.micro_skill_id).where(
                PersonSkill.develops, PersonSkill.micro_skill_id.in_(list(scarce))
            )
        ):
            waiting[person_id].append(skill_id)
    names = skill_names(scarce)
    rows: list[tuple[Cell, ...]] = []
    for month in picture.months:
        for member in sorted(picture.people.values(), key=lambda m: (m.name.casefold(), m.id)):
            if not (member.active and member.is_apprentice and member.id in waiting):
                continue
            figure = picture.granted[AllowanceKind.OBSERVING, month][member.id]
            if figure.hours is None:
                continue
            usage = picture.usage[member.id, month]
            reasons = []
            if usage.observed_hours >= figure.hours:
                reasons.append("granted hours used up")
            if usage.planned_observing is not None and usage.planned_observing > figure.hours:
                reasons.append("plan capped by the allowance")
            if not reasons:
                continue
            skills = sorted(waiting[member.id], key=lambda skill_id: names.get(skill_id, ""))
            rows.append(
                (
                    member.name,
                    month.label,
                    figure.hours,
                    usage.planned_observing,
                    usage.observed_hours,
                    "; ".join(reasons),
                    "; ".join(
                        f"{names.get(s, '')} ({scarce[s]} master{'' if scarce[s] == 1 else 's'})"
                        for s in skills
                    ),
                )
            )
    return ReportTable(
        slug="allowances-run-out",
        title="Where allowances run out while apprentices wait for scarce skills",
        explanation=(
            "Active apprentices who develop a scarce micro skill (one that at most "
            f"{SCARCE_MASTERS} active masters host above apprentice stage) and, in a month, "
            "have used up their granted observing hours (verified hours reached the figure), "
            "or planned more hours than they are granted, so rounds and booking cap their plan. "
            "Raising their allowance, or approving a request, lets them watch the few masters "
            "there are."
        ),
        columns=(
            Column("Apprentice"),
            Column("Month"),
            Column("Observing granted", Kind.HOURS),
            Column("Planned", Kind.HOURS),
            Column("Observed (verified)", Kind.HOURS),
            Column("Why"),
            Column("Scarce micro skills they develop"),
        ),
        rows=rows,
    )


TABLES: dict[str, Callable[[LearningTimePicture], ReportTable]] = {
    "learning-time-by-team": by_team_table,
    "learning-time-by-site": by_site_table,
    "learning-time-by-month": by_month_table,
    "allowances-run-out": run_out_table,
}


@dataclass(frozen=True)
class LearningTimeReport:
    tables: list[ReportTable]
    observed_bars: list[Bar]
    hosted_bars: list[Bar]
    granted_bars: list[Bar]


def _bars(months: list[Month], table: ReportTable, column: str) -> list[Bar]:
    """One bar per month of the by-month table's column, labelled as the progress charts are."""
    index = table.header.index(column)
    values = {row[0]: row[index] for row in table.rows}
    return [
        Bar(
            label=month.label,
            short=month.first_day.strftime("%b"),
            hours=float(values.get(month.label) or 0),
            note=month.first_day.strftime("’%y") if month.month == 1 or number == 0 else "",
        )
        for number, month in enumerate(months)
    ]


def learning_time_report(period: Period, today: date) -> LearningTimeReport:
    """Every learning-time table for the period, and the month charts."""
    picture = LearningTimePicture(period, today)
    tables = [build(picture) for build in TABLES.values()]
    by_month = tables[2]
    return LearningTimeReport(
        tables=tables,
        observed_bars=_bars(picture.months, by_month, "Observed (verified)"),
        hosted_bars=_bars(picture.months, by_month, "Hosted (verified)"),
        granted_bars=_bars(picture.months, by_month, "Observing granted"),
    )


def learning_time_table(slug: str, period: Period, today: date) -> ReportTable | None:
    """The table named `slug` for the period, or None if there is no such table."""
    build = TABLES.get(slug)
    return build(LearningTimePicture(period, today)) if build else None
