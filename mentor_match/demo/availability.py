"""The demo's availability: weekly windows in each person's local time, next month's plans,
and a few one-off changes (leave, an appointment, extra afternoons)."""

import random
from datetime import date, time, timedelta

from ..models import AvailabilityChange, ChangeKind, MonthPlan, Person, WeeklyWindow

# Local wall-clock windows people commonly keep; an office day gets one or two of them.
MORNINGS = ((time(9), time(11, 30)), (time(9, 30), time(12)), (time(10), time(12, 30)))
AFTERNOONS = ((time(13, 30), time(16)), (time(14), time(17)), (time(15), time(17, 30)))
# Remote people often keep an early or late window to reach colleagues in other zones.
REMOTE_EXTRAS = ((time(7, 30), time(9, 30)), (time(17), time(19)))


def next_month_start(today: date) -> date:
    """The first day of the month after `today`."""
    return (today.replace(day=1) + timedelta(days=32)).replace(day=1)


def first_weekday_on_or_after(day: date, weekday: int) -> date:
    """The first day from `day` on that falls on `weekday` (Monday is 0)."""
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def weekly_windows(person: Person, rng: random.Random) -> list[WeeklyWindow]:
    """Windows in the person's local time: office days in person or on video, home days on
    video."""
    windows: list[WeeklyWindow] = []

    def add(weekday: int, span: tuple[time, time], *, in_person: bool) -> None:
        windows.append(
            WeeklyWindow(
                weekday=weekday,
                start_time=span[0],
                end_time=span[1],
                in_person=in_person,
                virtual=True,
            )
        )

    if person.site is None:  # site_id is not set until the flush
        for weekday in sorted(rng.sample(range(5), rng.choice((3, 3, 4)))):
            add(weekday, rng.choice(MORNINGS + AFTERNOONS), in_person=False)
        add(rng.randrange(5), rng.choice(REMOTE_EXTRAS), in_person=False)
        # Two windows may share a day; keep them apart if they overlap.
        return _without_overlaps(windows)

    office_days = sorted(rng.sample(range(5), 3))
    home_days = [day for day in range(5) if day not in office_days]
    for weekday in office_days:
        roll = rng.random()
        if roll < 0.45 or roll >= 0.9:
            add(weekday, rng.choice(MORNINGS), in_person=True)
        if roll >= 0.45:
            add(weekday, rng.choice(AFTERNOONS), in_person=True)
    add(rng.choice(home_days), rng.choice(MORNINGS + AFTERNOONS), in_person=False)
    return sorted(windows, key=lambda w: (w.weekday, w.start_time))


def _without_overlaps(windows: list[WeeklyWindow]) -> list[WeeklyWindow]:
    kept: list[WeeklyWindow] = []
    for window in sorted(windows, key=lambda w: (w.weekday, w.start_time)):
        previous = kept[-1] if kept else None
        same_day = previous is not None and previous.weekday == window.weekday
        if same_day and window.start_time < previous.end_time:
            continue
        kept.append(window)
    return kept


def month_plan(person: Person, month: str, rng: random.Random) -> MonthPlan:
    """Sensible limits: hosting only for masters, observing only for apprentices, fewer for
    both."""
    both = person.is_master and person.is_apprentice
    plan = MonthPlan(
        month=month,
        max_hosting_hours=0,
        max_apprentices=0,
        in_person_seats=0,
        virtual_seats=0,
        observation_hours=0,
        max_masters=0,
    )
    if person.is_master:
        plan.max_hosting_hours = rng.choice((4, 6) if both else (6, 8, 10, 12))
        plan.max_apprentices = rng.choice((1, 2) if both else (2, 3, 3, 4))
        plan.in_person_seats = 0 if person.site is None else rng.choice((1, 1, 2))
        plan.virtual_seats = rng.choice((2, 3, 4))
    if person.is_apprentice:
        plan.observation_hours = rng.choice((4, 6) if both else (4, 6, 6, 8, 10))
        plan.max_masters = 1 if both else rng.choice((1, 2, 2, 3))
    return plan


def one_off_changes(people: dict[str, Person], month_start: date) -> list[AvailabilityChange]:
    """A few changes next month: leave, a dentist's morning, an extra afternoon or two."""
    second_week = month_start + timedelta(days=7)
    third_week = month_start + timedelta(days=14)

    def first_window_day(person: Person, after: date) -> date:
        return first_weekday_on_or_after(after, person.weekly_windows[0].weekday)

    def free_weekday(person: Person) -> int:
        # Site people keep at most four days a week, so one weekday is always free.
        busy = {window.weekday for window in person.weekly_windows}
        return next(day for day in range(5) if day not in busy)

    amara, james, tom = people["Amara Okafor"], people["James Whitfield"], people["Tom Gallagher"]
    ines, rohan = people["Inês Carvalho"], people["Rohan Mehta"]
    appointment = james.weekly_windows[0]  # an appointment that takes out one of his windows
    leave_start = first_weekday_on_or_after(third_week, 3)  # Thursday and Friday off
    return [
        AvailabilityChange(
            person=amara,
            day=first_window_day(amara, second_week),
            kind=ChangeKind.UNAVAILABLE,
            note="Annual leave",
        ),
        AvailabilityChange(
            person=james,
            day=first_window_day(james, month_start),
            kind=ChangeKind.UNAVAILABLE,
            start_time=appointment.start_time,
            end_time=appointment.end_time,
            note="Dentist appointment",
        ),
        AvailabilityChange(
            person=tom,
            day=first_weekday_on_or_after(second_week, free_weekday(tom)),
            kind=ChangeKind.EXTRA,
            start_time=time(13),
            end_time=time(17),
            note="Extra afternoon: no graduate training this week",
        ),
        AvailabilityChange(
            person=ines, day=leave_start, kind=ChangeKind.UNAVAILABLE, note="Holiday in the Azores"
        ),
        AvailabilityChange(
            person=ines,
            day=leave_start + timedelta(days=1),
            kind=ChangeKind.UNAVAILABLE,
            note="Holiday in the Azores",
        ),
        AvailabilityChange(
            person=rohan,
            day=first_weekday_on_or_after(third_week, free_weekday(rohan)),
            kind=ChangeKind.EXTRA,
            start_time=time(14),
            end_time=time(17, 30),
            in_person=True,
            virtual=True,
            note="Extra afternoon after the release",
        ),
    ]
