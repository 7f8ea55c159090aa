"""Expanding local availability to UTC: clock changes, skipped and repeated times (no database)."""

from collections import namedtuple
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mentor_match.availability.expansion import (
    Interval,
    Month,
    MonthError,
    clock_changes,
    expand_availability,
    local_time_kind,
    to_utc,
)

pytestmark = pytest.mark.database_independent

ZONES = ["Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]

# Plain data, as the rounds feature will pass it: no models, no app.
Window = namedtuple(
    "Window", "weekday start_time end_time in_person virtual", defaults=(True, True)
)
Change = namedtuple(
    "Change", "day kind start_time end_time in_person virtual", defaults=(None, None, True, True)
)


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _local(interval: Interval, zone: str) -> tuple[datetime, datetime]:
    return interval.start_utc.astimezone(ZoneInfo(zone)), interval.end_utc.astimezone(
        ZoneInfo(zone)
    )


# --- Fixed cases a person would recognise --------------------------------------------------


def test_a_tuesday_window_stays_at_nine_local_on_both_sides_of_the_london_spring_change():
    intervals = expand_availability("Europe/London", [Window(1, time(9), time(12))], [], "2030-03")
    # Tuesdays in March 2030 are all before the change on Sunday 31 March; April's are after.
    assert [i.start_utc for i in intervals] == [
        _utc(2030, 3, 5, 9),
        _utc(2030, 3, 12, 9),
        _utc(2030, 3, 19, 9),
        _utc(2030, 3, 26, 9),
    ]
    april = expand_availability("Europe/London", [Window(1, time(9), time(12))], [], "2030-04")
    assert april[0].start_utc == _utc(2030, 4, 2, 8)  # 09:00 BST is 08:00 UTC
    assert {_local(i, "Europe/London")[0].time() for i in intervals + april} == {time(9)}


def test_new_york_window_in_the_week_of_the_change_moves_an_hour_in_utc():
    windows = [Window(6, time(14), time(16), in_person=False)]  # Sundays, video only
    intervals = expand_availability("America/New_York", windows, [], "2030-03")
    before, change_day = intervals[0], intervals[1]  # Sun 3 Mar (EST), Sun 10 Mar (EDT)
    assert before.start_utc == _utc(2030, 3, 3, 19)
    assert change_day.start_utc == _utc(2030, 3, 10, 18)
    assert not change_day.in_person and change_day.virtual


def test_sydney_changes_the_other_way_round_in_april_and_october():
    windows = [Window(0, time(9), time(10))]  # Mondays
    april = expand_availability("Australia/Sydney", windows, [], "2030-04")
    assert april[0].start_utc == _utc(2030, 3, 31, 22)  # Mon 1 Apr 09:00 AEDT (+11)
    assert april[1].start_utc == _utc(2030, 4, 7, 23)  # Mon 8 Apr 09:00 AEST (+10)
    saturdays = [Window(5, time(9), time(10))]  # clocks go forward on Sunday 6 October 2030
    october = expand_availability("Australia/Sydney", saturdays, [], "2030-10")
    assert october[0].start_utc == _utc(2030, 10, 4, 23)  # Sat 5 Oct 09:00 AEST (+10)
    assert october[1].start_utc == _utc(2030, 10, 11, 22)  # Sat 12 Oct 09:00 AEDT (+11)


def test_kolkata_half_hour_offset_and_utc():
    windows = [Window(2, time(9), time(11))]
    kolkata = expand_availability("Asia/Kolkata", windows, [], "2030-06")
    assert kolkata[0] == Interval(_utc(2030, 6, 5, 3, 30), _utc(2030, 6, 5, 5, 30), True, True)
    utc = expand_availability("UTC", windows, [], "2030-06")
    assert utc[0] == Interval(_utc(2030, 6, 5, 9), _utc(2030, 6, 5, 11), True, True)
    assert len(utc) == len(kolkata) == 4


def test_a_window_starting_in_the_skipped_hour_starts_when_the_clocks_resume():
    # London, Sunday 31 March 2030: 01:00 GMT jumps to 02:00 BST, so 01:30 does not exist.
    day = date(2030, 3, 31)
    assert local_time_kind(day, time(1, 30), ZoneInfo("Europe/London")) == "missing"
    [first] = expand_availability(
        "Europe/London", [Window(6, time(1, 30), time(3))], [], "2030-03"
    )[-1:]
    assert first.start_utc == _utc(2030, 3, 31, 1)  # = 02:00 BST, the first instant after the gap
    assert first.end_utc == _utc(2030, 3, 31, 2)  # 03:00 BST
    assert _local(first, "Europe/London")[0].time() == time(2)


def test_a_window_ending_in_the_skipped_hour_ends_when_the_clocks_jump():
    [last] = expand_availability("Europe/London", [Window(6, time(0), time(1, 30))], [], "2030-03")[
        -1:
    ]
    assert last.start_utc == _utc(2030, 3, 31, 0)
    assert last.end_utc == _utc(2030, 3, 31, 1)


def test_a_window_wholly_inside_the_skipped_hour_is_dropped_that_day_only():
    intervals = expand_availability(
        "Europe/London", [Window(6, time(1, 15), time(1, 45))], [], "2030-03"
    )
    days = [i.start_utc.date() for i in intervals]
    assert date(2030, 3, 31) not in days
    assert days == [date(2030, 3, 3), date(2030, 3, 10), date(2030, 3, 17), date(2030, 3, 24)]


def test_a_repeated_time_uses_its_first_occurrence():
    # London, Sunday 27 October 2030: 02:00 BST goes back to 01:00 GMT, so 01:30 happens twice.
    zone = ZoneInfo("Europe/London")
    assert local_time_kind(date(2030, 10, 27), time(1, 30), zone) == "repeated"
    assert to_utc(date(2030, 10, 27), time(1, 30), zone) == _utc(2030, 10, 27, 0, 30)  # BST
    [last] = expand_availability("Europe/London", [Window(6, time(1, 30), time(3))], [], "2030-10")[
        -1:
    ]
    assert last.start_utc == _utc(2030, 10, 27, 0, 30)
    assert last.end_utc == _utc(2030, 10, 27, 3)  # 03:00 GMT: the repeated hour is inside
    assert last.end_utc - last.start_utc == timedelta(hours=2, minutes=30)


def test_sydney_repeated_time_in_april_uses_daylight_time():
    zone = ZoneInfo("Australia/Sydney")
    assert local_time_kind(date(2030, 4, 7), time(2, 30), zone) == "repeated"
    assert to_utc(date(2030, 4, 7), time(2, 30), zone) == _utc(2030, 4, 6, 15, 30)  # AEDT +11


# --- One-off changes -----------------------------------------------------------------------


def test_whole_day_off_removes_that_day_only():
    windows = [Window(1, time(9), time(12))]
    changes = [Change(date(2030, 6, 11), "unavailable")]
    days = [i.start_utc.date() for i in expand_availability("UTC", windows, changes, "2030-06")]
    assert days == [date(2030, 6, 4), date(2030, 6, 18), date(2030, 6, 25)]


def test_time_off_in_the_middle_of_a_window_splits_it():
    windows = [Window(1, time(9), time(17))]
    changes = [Change(date(2030, 6, 4), "unavailable", time(12), time(13))]
    intervals = expand_availability("UTC", windows, changes, "2030-06")
    assert intervals[:2] == [
        Interval(_utc(2030, 6, 4, 9), _utc(2030, 6, 4, 12), True, True),
        Interval(_utc(2030, 6, 4, 13), _utc(2030, 6, 4, 17), True, True),
    ]
    assert intervals[2].start_utc == _utc(2030, 6, 11, 9)


def test_an_extra_window_adds_a_day_and_merges_with_an_overlapping_weekly_one():
    windows = [Window(1, time(9), time(12), in_person=True, virtual=False)]
    changes = [
        Change(date(2030, 6, 6), "extra", time(14), time(16), in_person=False),  # a Thursday
        Change(date(2030, 6, 4), "extra", time(11), time(13), in_person=False),  # overlaps Tue
    ]
    intervals = expand_availability("UTC", windows, changes, "2030-06")
    assert intervals[:3] == [
        Interval(_utc(2030, 6, 4, 9), _utc(2030, 6, 4, 11), True, False),
        Interval(_utc(2030, 6, 4, 11), _utc(2030, 6, 4, 12), True, True),
        Interval(_utc(2030, 6, 4, 12), _utc(2030, 6, 4, 13), False, True),
    ]
    assert Interval(_utc(2030, 6, 6, 14), _utc(2030, 6, 6, 16), False, True) in intervals


def test_time_off_wins_over_an_extra_window_the_same_day():
    changes = [
        Change(date(2030, 6, 6), "extra", time(9), time(17)),
        Change(date(2030, 6, 6), "unavailable", time(9), time(15)),
    ]
    assert expand_availability("UTC", [], changes, "2030-06") == [
        Interval(_utc(2030, 6, 6, 15), _utc(2030, 6, 6, 17), True, True)
    ]
    changes.append(Change(date(2030, 6, 6), "unavailable"))
    assert expand_availability("UTC", [], changes, "2030-06") == []


def test_changes_outside_the_month_are_ignored():
    windows = [Window(1, time(9), time(12))]
    changes = [
        Change(date(2030, 5, 28), "unavailable"),
        Change(date(2030, 7, 2), "extra", time(9), time(10)),
    ]
    assert len(expand_availability("UTC", windows, changes, "2030-06")) == 4


def test_month_parsing_refuses_bad_months_with_a_reason():
    assert Month.parse("2030-12").next == Month(2031, 1)
    assert Month.parse("2030-01").previous == Month(2029, 12)
    for text, reason in [
        ("2030-13", "01 to 12"),
        ("30-1", "YYYY-MM"),
        ("1999-05", "2000 to 2099"),
        ("", "YYYY-MM"),
        ("2030-1x", "YYYY-MM"),
    ]:
        with pytest.raises(MonthError, match=reason):
            Month.parse(text)


def test_clock_changes_are_found_on_the_day_they_happen():
    london = clock_changes(ZoneInfo("Europe/London"), Month(2030, 10))
    assert london == [(date(2030, 10, 27), timedelta(hours=1), timedelta(0))]
    assert clock_changes(ZoneInfo("Asia/Kolkata"), Month(2030, 3)) == []


# --- Properties, across zones and months ---------------------------------------------------

zones = st.sampled_from(ZONES)
months = st.builds(Month, st.integers(2024, 2032), st.integers(1, 12))
quarter_hours = st.integers(0, 95).map(lambda n: time(n // 4, n % 4 * 15))


@st.composite
def windows_of_a_day(draw):
    start, end = sorted(draw(st.lists(quarter_hours, min_size=2, max_size=2, unique=True)))
    mode = draw(st.sampled_from([(True, True), (True, False), (False, True)]))
    return Window(draw(st.integers(0, 6)), start, end, *mode)


@settings(max_examples=300, deadline=None)
@given(zone=zones, month=months, window=windows_of_a_day())
def test_a_recurring_window_keeps_its_local_wall_clock_time(zone, month, window):
    tz = ZoneInfo(zone)
    intervals = expand_availability(zone, [window], [], month)
    expected_days = [d for d in month.days if d.weekday() == window.weekday]
    by_day = {interval.start_utc.astimezone(tz).date(): interval for interval in intervals}
    for day in expected_days:
        start_kind = local_time_kind(day, window.start_time, tz)
        end_kind = local_time_kind(day, window.end_time, tz)
        if day not in by_day:
            # Only a window lying wholly inside a skipped hour may vanish.
            assert start_kind == end_kind == "missing"
            continue
        local_start, local_end = _local(by_day[day], zone)
        if start_kind != "missing":
            assert local_start.replace(tzinfo=None) == datetime.combine(day, window.start_time)
            assert local_start.fold == 0  # the first of a repeated time
        if end_kind != "missing":
            assert local_end.replace(tzinfo=None) == datetime.combine(day, window.end_time)
        if start_kind == end_kind == "single" and not clock_changes(tz, month):
            wall = datetime.combine(day, window.end_time) - datetime.combine(day, window.start_time)
            assert by_day[day].end_utc - by_day[day].start_utc == wall
    assert len(intervals) <= len(expected_days)


@settings(max_examples=200, deadline=None)
@given(zone=zones, month=months, windows=st.lists(windows_of_a_day(), max_size=6))
def test_intervals_are_sorted_non_overlapping_and_inside_the_month(zone, month, windows):
    tz = ZoneInfo(zone)
    intervals = expand_availability(zone, windows, [], month)
    for interval in intervals:
        assert interval.start_utc < interval.end_utc
        assert interval.start_utc.tzinfo is not None
        assert interval.in_person or interval.virtual
        assert month.first_day <= interval.start_utc.astimezone(tz).date() <= month.days[-1]
    for earlier, later in pairwise(intervals):
        assert earlier.end_utc <= later.start_utc


@st.composite
def changes_in(draw, month: Month):
    day = draw(st.sampled_from(month.days))
    kind = draw(st.sampled_from(["unavailable", "extra"]))
    if kind == "unavailable" and draw(st.booleans()):
        return Change(day, kind)
    start, end = sorted(draw(st.lists(quarter_hours, min_size=2, max_size=2, unique=True)))
    mode = draw(st.sampled_from([(True, True), (True, False), (False, True)]))
    return Change(day, kind, start, end, *mode)


def _quarters(at: time) -> int:
    return at.hour * 4 + at.minute // 15


def _reference_day(day: date, windows, changes) -> dict[int, tuple[bool, bool]]:
    """Quarter hours of the day covered, with modes: the rules, written the slow obvious way."""
    covered: dict[int, tuple[bool, bool]] = {}
    for item in [w for w in windows if w.weekday == day.weekday()] + [
        c for c in changes if c.day == day and c.kind == "extra"
    ]:
        for quarter in range(_quarters(item.start_time), _quarters(item.end_time)):
            in_person, virtual = covered.get(quarter, (False, False))
            covered[quarter] = (in_person or item.in_person, virtual or item.virtual)
    for change in changes:
        if change.day == day and change.kind == "unavailable":
            if change.start_time is None:
                return {}
            for quarter in range(_quarters(change.start_time), _quarters(change.end_time)):
                covered.pop(quarter, None)
    return covered


@settings(max_examples=300, deadline=None)
@given(data=st.data(), windows=st.lists(windows_of_a_day(), max_size=5))
def test_expansion_matches_a_quarter_hour_reference_model(data, windows):
    month = Month(2030, 6)
    changes = data.draw(st.lists(changes_in(month), max_size=8))
    got: dict[date, dict[int, tuple[bool, bool]]] = {}
    for interval in expand_availability("UTC", windows, changes, month):
        quarters = got.setdefault(interval.start_utc.date(), {})
        start = interval.start_utc.hour * 4 + interval.start_utc.minute // 15
        for quarter in range(
            start, start + int((interval.end_utc - interval.start_utc) / timedelta(minutes=15))
        ):
            assert quarter not in quarters  # no two intervals cover the same time
            quarters[quarter] = (interval.in_person, interval.virtual)
    for day in month.days:
        assert got.get(day, {}) == _reference_day(day, windows, changes), day


@settings(max_examples=100, deadline=None)
@given(zone=zones, month=months, windows=st.lists(windows_of_a_day(), max_size=4))
def test_local_availability_is_the_same_whatever_the_zone_when_clocks_do_not_change(
    zone, month, windows
):
    tz = ZoneInfo(zone)
    if clock_changes(tz, month):
        return  # the comparison below only holds in months without a change
    in_zone = [
        tuple(dt.replace(tzinfo=None) for dt in _local(i, zone))
        for i in expand_availability(zone, windows, [], month)
    ]
    in_utc = [
        (i.start_utc.replace(tzinfo=None), i.end_utc.replace(tzinfo=None))
        for i in expand_availability("UTC", windows, [], month)
    ]
    assert in_zone == in_utc
