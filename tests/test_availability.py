"""Availability pages: weekly windows, one-off changes, the month calendar and the month plan."""

import re
from datetime import UTC, date, datetime, time, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mentor_match.availability import services
from mentor_match.availability.expansion import Month, clock_changes, expand_availability
from mentor_match.extensions import db
from mentor_match.models import AvailabilityChange, ChangeKind, MonthPlan, WeeklyWindow

from .database import count
from .factories import (
    make_apprentice,
    make_availability_change,
    make_master,
    make_month_plan,
    make_person,
    make_site,
    make_weekly_window,
)


def _errors(response) -> list[str]:
    """The field messages on a page, as a person reads them."""
    page = response.get_data(as_text=True)
    return [
        unescape(message)
        for message in re.findall(r'<p class="error" id="[^"]+">([^<]*)</p>', page)
    ]


def _flashes(response) -> list[str]:
    page = response.get_data(as_text=True)
    return [unescape(m) for m in re.findall(r'<p class="flash flash-\w+">([^<]*)</p>', page)]


def _today(zone: str) -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(zone)).date()


def _next_clock_change(zone: str, *, forward: bool) -> date:
    """The next day the zone's clocks go forward (or back), from today on."""
    month = Month.containing(_today(zone))
    for _ in range(24):
        for day, before, after in clock_changes(ZoneInfo(zone), month):
            if (after > before) == forward and day > _today(zone):
                return day
        month = month.next
    raise AssertionError(f"{zone} has no clock change in two years")


@pytest.fixture
def office():
    return make_site("London office", "Europe/London")


@pytest.fixture
def master(office):
    return make_master("Mara Master", site=office)


@pytest.fixture
def remote_master():
    return make_master("Remy Remote", site=None)


# --- Weekly windows ------------------------------------------------------------------------


def _add_window(client, **overrides):
    data = {"weekday": "1", "start": "09:00", "end": "12:00", "mode": "both"}
    data.update(overrides)
    return client.post("/availability/weekly", data=data)


def test_adding_a_weekly_window_saves_it_in_local_time(login, master):
    client = login(master)
    response = _add_window(client, weekday="4", start="14:00", end="16:30", mode="video")
    assert response.status_code == 302
    window = db.session.scalar(select(WeeklyWindow))
    assert (window.person_id, window.weekday, window.start_time, window.end_time) == (
        master.id,
        4,
        time(14),
        time(16, 30),
    )
    assert (window.in_person, window.virtual) == (False, True)
    page = client.get("/availability/weekly").get_data(as_text=True)
    assert "Friday" in page and "14:00" in page and "16:30" in page and "Video only" in page


@pytest.mark.parametrize(
    ("overrides", "field_message"),
    [
        ({"start": "12:00", "end": "09:00"}, "The window must end after it starts (12:00)."),
        ({"start": "10:00", "end": "10:00"}, "The window must end after it starts (10:00)."),
        ({"start": "25:00"}, "Enter a time as HH:MM, for example 09:30."),
        ({"end": ""}, "Enter the time the window ends."),
        ({"weekday": "7"}, "Not a valid choice."),
        ({"mode": "teleport"}, "Not a valid choice."),
    ],
)
def test_bad_weekly_windows_are_refused_with_a_field_message_and_nothing_saved(
    login, master, overrides, field_message
):
    response = _add_window(login(master), **overrides)
    assert response.status_code == 200
    assert field_message in _errors(response)
    assert "nothing has been saved" in response.get_data(as_text=True)
    assert count(WeeklyWindow) == 0


def test_an_overlapping_window_on_the_same_day_is_refused_naming_the_other(login, master):
    make_weekly_window(master, weekday=1, start=time(9), end=time(12))
    client = login(master)
    response = _add_window(client, start="11:00", end="14:00")
    assert _errors(response) == [
        (
            "This overlaps your Tuesday window 09:00–12:00. Choose times that do not overlap, "
            "or delete that window first."
        )
    ]
    assert count(WeeklyWindow) == 1
    # Touching is not overlapping, and another weekday is free.
    assert _add_window(client, start="12:00", end="14:00").status_code == 302
    assert _add_window(client, weekday="2", start="10:00", end="11:00").status_code == 302
    assert count(WeeklyWindow) == 3


def test_someone_elses_window_does_not_count_as_an_overlap(login, master):
    make_weekly_window(make_master(), weekday=1, start=time(9), end=time(12))
    assert _add_window(login(master)).status_code == 302


@pytest.mark.parametrize("mode", ["both", "in_person"])
def test_a_remote_person_cannot_offer_in_person(login, remote_master, mode):
    response = _add_window(login(remote_master), mode=mode)
    assert any(
        "You work remotely (no site), so you can only offer video" in e for e in _errors(response)
    )
    assert count(WeeklyWindow) == 0


def test_a_remote_person_can_offer_video_and_is_offered_video_first(login, remote_master):
    client = login(remote_master)
    page = client.get("/availability/weekly").get_data(as_text=True)
    assert re.search(r'<option selected value="video">|<option value="video" selected>', page)
    assert "only video is possible" in page
    assert _add_window(client, mode="video").status_code == 302
    assert db.session.scalar(select(WeeklyWindow.in_person)) is False


def test_deleting_your_own_window(login, master):
    window = make_weekly_window(master)
    response = login(master).post(f"/availability/weekly/{window.id}/delete")
    assert response.status_code == 302
    assert count(WeeklyWindow) == 0


def test_you_cannot_delete_someone_elses_window(login, master):
    theirs = make_weekly_window(make_master())
    client = login(master)
    assert client.post(f"/availability/weekly/{theirs.id}/delete").status_code == 404
    assert client.post("/availability/weekly/999999/delete").status_code == 404
    assert client.get(f"/availability/weekly/{theirs.id}/delete").status_code == 405
    assert count(WeeklyWindow) == 1


def test_the_weekly_page_lists_only_your_own_windows(login, master):
    make_weekly_window(master, weekday=0, start=time(8), end=time(9))
    make_weekly_window(make_master(), weekday=6, start=time(19), end=time(21))
    page = login(master).get("/availability/weekly").get_data(as_text=True)
    assert "Monday" in page and "08:00" in page
    assert "Sunday" not in page.split("Add a weekly window")[0] and "19:00" not in page


# --- One-off changes -----------------------------------------------------------------------


def _add_change(client, **overrides):
    data = {
        "day": (_today("Europe/London") + timedelta(days=7)).isoformat(),
        "kind": "unavailable",
        "start": "",
        "end": "",
        "mode": "both",
        "note": "",
    }
    data.update(overrides)
    return client.post("/availability/changes", data=data)


def test_a_whole_day_off(login, master):
    day = _today("Europe/London") + timedelta(days=3)
    response = _add_change(login(master), day=day.isoformat(), note="  annual leave ")
    assert response.status_code == 302
    change = db.session.scalar(select(AvailabilityChange))
    assert (change.person_id, change.day, change.kind) == (master.id, day, ChangeKind.UNAVAILABLE)
    assert change.start_time is None and change.end_time is None
    assert change.note == "annual leave"


def test_an_extra_window_keeps_its_times_and_mode(login, master):
    response = _add_change(
        login(master), kind="extra", start="13:00", end="17:00", mode="in_person"
    )
    assert response.status_code == 302
    change = db.session.scalar(select(AvailabilityChange))
    assert (change.kind, change.start_time, change.end_time) == (
        ChangeKind.EXTRA,
        time(13),
        time(17),
    )
    assert (change.in_person, change.virtual) == (True, False)


@pytest.mark.parametrize(
    ("overrides", "field_message"),
    [
        ({"kind": "extra"}, "An extra window needs a start time."),
        ({"kind": "extra", "start": "10:00"}, "An extra window needs an end time."),
        (
            {"start": "10:00"},
            (
                "Give both a start and an end time, or neither for the whole "
                "day; the end time is missing."
            ),
        ),
        ({"start": "15:00", "end": "14:00"}, "The change must end after it starts (15:00)."),
        ({"day": "2020-01-06"}, "6 Jan 2020 has passed; choose today or a later day."),
        ({"day": "tomorrow"}, "Enter a date, for example 2026-11-24."),
        ({"kind": "holiday"}, "Not a valid choice."),
        ({"note": "x" * 201}, "Field cannot be longer than 200 characters."),
    ],
)
def test_bad_changes_are_refused_with_a_field_message_and_nothing_saved(
    login, master, overrides, field_message
):
    response = _add_change(login(master), **overrides)
    assert response.status_code == 200
    assert field_message in _errors(response)
    assert count(AvailabilityChange) == 0


def test_a_remote_person_cannot_add_an_in_person_extra_window_but_can_take_time_off(
    login, remote_master
):
    client = login(remote_master)
    response = _add_change(client, kind="extra", start="09:00", end="10:00", mode="both")
    assert any("only offer video" in e for e in _errors(response))
    assert count(AvailabilityChange) == 0
    # The mode does not matter for time off, so it is not refused.
    assert _add_change(client, mode="both").status_code == 302


def test_a_time_the_clocks_skip_is_refused_naming_the_date_and_zone(login, master):
    day = _next_clock_change("Europe/London", forward=True)
    response = _add_change(
        login(master), day=day.isoformat(), kind="extra", start="01:30", end="03:00"
    )
    expected = (
        f"01:30 does not exist on {day.day} Mar {day.year} in Europe/London: clocks go "
        "forward from 01:00 to 02:00. Choose a time outside that gap."
    )
    assert _errors(response) == [expected]
    assert count(AvailabilityChange) == 0


def test_new_york_skips_a_different_hour(login):
    person = make_person(timezone="America/New_York", site=make_site("NYC", "America/New_York"))
    day = _next_clock_change("America/New_York", forward=True)
    client = login(person)
    response = _add_change(client, day=day.isoformat(), start="01:00", end="02:30")
    assert _errors(response) == [
        (
            f"02:30 does not exist on {day.day} Mar {day.year} in America/New_York: clocks go "
            "forward from 02:00 to 03:00. Choose a time outside that gap."
        )
    ]
    assert _add_change(client, day=day.isoformat(), start="01:00", end="03:00").status_code == 302


def test_a_repeated_time_is_accepted_with_a_note_saying_which_is_used(login, master):
    day = _next_clock_change("Europe/London", forward=False)
    client = login(master)
    response = _add_change(client, day=day.isoformat(), kind="extra", start="01:30", end="04:00")
    assert response.status_code == 302
    assert count(AvailabilityChange) == 1
    notes = _flashes(client.get(response.headers["Location"]))
    assert (
        f"01:30 happens twice on {day.day} Oct {day.year} in Europe/London because clocks go "
        "back; the first one (01:30 BST, UTC+01:00) is used."
    ) in notes


def test_you_cannot_delete_someone_elses_change(login, master):
    theirs = make_availability_change(make_master(), date(2030, 1, 2))
    mine = make_availability_change(master, date(2030, 1, 2))
    client = login(master)
    assert client.post(f"/availability/changes/{theirs.id}/delete").status_code == 404
    assert client.post(f"/availability/changes/{mine.id}/delete").status_code == 302
    assert db.session.scalars(select(AvailabilityChange.id)).all() == [theirs.id]


def test_the_changes_page_lists_your_coming_changes_only(login, master):
    make_availability_change(master, date(2030, 1, 2), note="mine ahead")
    make_availability_change(master, date(2021, 1, 2), note="mine past")
    make_availability_change(make_master(), date(2030, 1, 3), note="someone else")
    page = login(master).get("/availability/changes").get_data(as_text=True)
    assert "mine ahead" in page
    assert "mine past" not in page and "someone else" not in page


# --- The month calendar --------------------------------------------------------------------


def _day_cell(page: str, day: date) -> str:
    match = re.search(rf'id="day-{day.isoformat()}">(.*?)</div>', page, re.DOTALL)
    assert match, f"no cell for {day}"
    return unescape(match.group(1))


def test_the_calendar_shows_local_times_across_the_clock_change(login):
    person = make_person(timezone="America/New_York", site=make_site("NYC", "America/New_York"))
    make_weekly_window(person, weekday=1, start=time(9), end=time(12), in_person=False)
    make_weekly_window(person, weekday=6, start=time(2, 30), end=time(4))  # a Sunday, small hours
    page = login(person).get("/availability?month=2030-03").get_data(as_text=True)
    assert "Your availability in March 2030" in page
    assert "America/New York" in page
    # Tuesday 09:00 stays 09:00 on both sides of Sunday 10 March.
    assert "09:00–12:00 · Video only" in _day_cell(page, date(2030, 3, 5))
    assert "09:00–12:00 · Video only" in _day_cell(page, date(2030, 3, 12))
    # 02:30 does not exist on 10 March: the window starts when the clocks resume at 03:00.
    assert "02:30–04:00 · In person or video" in _day_cell(page, date(2030, 3, 3))
    assert "03:00–04:00 · In person or video" in _day_cell(page, date(2030, 3, 10))
    assert "Clocks go forward on 10 Mar 2030, from UTC-05:00 to UTC-04:00" in unescape(page)
    assert "Not available" in _day_cell(page, date(2030, 3, 6))


def test_the_calendar_marks_days_off_and_extra_windows(login, master):
    make_weekly_window(master, weekday=1, start=time(9), end=time(17))
    make_availability_change(master, date(2030, 6, 4), note="dentist", start=time(12), end=time(13))
    make_availability_change(master, date(2030, 6, 11), note="leave")
    make_availability_change(
        master, date(2030, 6, 13), "extra", time(14), time(16), in_person=False
    )
    page = login(master).get("/availability?month=2030-06").get_data(as_text=True)
    split_day = _day_cell(page, date(2030, 6, 4))
    assert "09:00–12:00 · In person or video" in split_day
    assert "12:00–13:00 · Unavailable (dentist)" in split_day
    assert "13:00–17:00 · In person or video" in split_day
    day_off = _day_cell(page, date(2030, 6, 11))
    assert 'class="slot off">All day · Day off (leave)' in day_off
    assert "09:00" not in day_off
    assert "14:00–16:00 · Video only" in _day_cell(page, date(2030, 6, 13))
    assert 'class="slot in-person">09:00–17:00' in _day_cell(page, date(2030, 6, 18))


def test_the_calendar_shows_only_your_own_availability(login, master):
    make_weekly_window(make_master(), weekday=2, start=time(7), end=time(8))
    page = login(master).get("/availability?month=2030-06").get_data(as_text=True)
    assert "07:00" not in page
    assert "You have no available time this month." in page


def test_the_calendar_defaults_to_next_month_with_links_either_side(login, master):
    expected = Month.containing(_today("Europe/London")).next
    page = unescape(login(master).get("/availability").get_data(as_text=True))
    assert f"Your availability in {expected.label}" in page
    assert f'href="/availability?month={expected.previous}"' in page
    assert f'href="/availability?month={expected.next}"' in page


@pytest.mark.parametrize(
    ("month", "reason"),
    [
        ("2030-13", "the month number must be 01 to 12"),
        ("June", "write it as YYYY-MM"),
        ("1850-01", "choose a year from 2000 to 2099"),
    ],
)
def test_a_badly_written_month_gets_a_clear_message_not_a_crash(login, master, month, reason):
    response = login(master).get(f"/availability?month={month}")
    assert response.status_code == 400
    assert reason in unescape(response.get_data(as_text=True))


def test_the_last_month_has_no_next_link(login, master):
    page = login(master).get("/availability?month=2099-12").get_data(as_text=True)
    assert "2100-01" not in page and 'href="/availability?month=2099-11"' in page


@pytest.mark.parametrize(
    "url", ["/availability", "/availability/weekly", "/availability/changes", "/availability/plan"]
)
def test_every_availability_page_needs_a_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]


# --- Expansion for many people -------------------------------------------------------------


def test_availability_by_person_matches_expanding_each_person(master):
    sydney = make_apprentice(timezone="Australia/Sydney")
    idle = make_apprentice()
    gone = make_master(active=False)
    make_weekly_window(master, weekday=1, start=time(9), end=time(12))
    make_weekly_window(sydney, weekday=4, start=time(8), end=time(10), in_person=False)
    make_weekly_window(gone, weekday=4, start=time(8), end=time(10))
    make_availability_change(master, date(2030, 4, 2))
    make_availability_change(sydney, date(2030, 4, 6), "extra", time(10), time(11))
    result = services.availability_by_person("2030-04")
    assert set(result) == {master.id, sydney.id, idle.id}
    for person in (master, sydney):
        assert result[person.id] == expand_availability(
            person.timezone, person.weekly_windows, person.availability_changes, "2030-04"
        )
    assert len(result[master.id]) == 4 and result[idle.id] == []
    assert services.availability_by_person("2030-04", [gone.id])[gone.id] != []


# --- The month plan ------------------------------------------------------------------------

PLAN = {
    "max_hosting_hours": "12",
    "max_apprentices": "4",
    "in_person_seats": "2",
    "virtual_seats": "6",
    "observation_hours": "10",
    "max_masters": "3",
}
NEXT_YEAR = str(Month(_today("UTC").year + 1, 6))


def _field_names(page: str) -> set[str]:
    return set(re.findall(r'<input[^>]*\bname="(\w+)"', page)) - {"csrf_token"}


def test_a_master_sees_only_the_hosting_numbers(login, master):
    page = login(master).get(f"/availability/plan?month={NEXT_YEAR}").get_data(as_text=True)
    assert _field_names(page) == {
        "max_hosting_hours",
        "max_apprentices",
        "in_person_seats",
        "virtual_seats",
    }
    assert '<label for="in_person_seats">Seats in the room</label>' in page


def test_an_apprentice_sees_only_the_observation_numbers(login):
    page = (
        login(make_apprentice()).get(f"/availability/plan?month={NEXT_YEAR}").get_data(as_text=True)
    )
    assert _field_names(page) == {"observation_hours", "max_masters"}


def test_someone_with_both_roles_sees_both(login, office):
    person = make_person(is_master=True, is_apprentice=True, site=office)
    page = login(person).get(f"/availability/plan?month={NEXT_YEAR}").get_data(as_text=True)
    assert _field_names(page) == set(PLAN)
    assert "As a master" in page and "As an apprentice" in page


def _value(page: str, name: str) -> str:
    return re.search(rf'<input[^>]*\bname="{name}"[^>]*\bvalue="([^"]*)"', page).group(1)


def test_the_plan_asks_for_numbers_until_that_month_is_saved(login, master):
    # Issue 24: a month never planned starts empty (no numbers confirmed unchosen); the latest
    # earlier plan is offered as a labelled suggestion only; a saved month shows its numbers.
    client = login(master)
    page = client.get(f"/availability/plan?month={NEXT_YEAR}").get_data(as_text=True)
    assert _value(page, "max_hosting_hours") == "" and _value(page, "virtual_seats") == ""
    assert "You have not planned" in page and "Suggestion" not in page
    make_month_plan(master, "2029-01", max_hosting_hours=20)
    make_month_plan(master, "2029-03", max_hosting_hours=30, virtual_seats=9)
    make_month_plan(master, "2029-09", max_hosting_hours=90)  # later: not a source for 2029-05
    page = client.get("/availability/plan?month=2029-05").get_data(as_text=True)
    assert (_value(page, "max_hosting_hours"), _value(page, "virtual_seats")) == ("", "")
    assert "from your plan for March 2029 (not filled in for you)" in page  # in words
    assert "<li>Hosting hours at most: 30</li>" in page and "<li>Seats on video: 9</li>" in page
    page = client.get("/availability/plan?month=2029-09").get_data(as_text=True)
    assert _value(page, "max_hosting_hours") == "90" and "numbers you saved" in page
    assert count(MonthPlan) == 3  # looking saves nothing


def test_saving_a_plan_creates_then_updates_one_row(login, office):
    person = make_person(is_master=True, is_apprentice=True, site=office)
    client = login(person)
    response = client.post(f"/availability/plan?month={NEXT_YEAR}", data=PLAN)
    assert response.status_code == 302
    plan = db.session.scalar(select(MonthPlan))
    assert (plan.month, plan.max_hosting_hours, plan.in_person_seats, plan.observation_hours) == (
        NEXT_YEAR,
        12,
        2,
        10,
    )
    assert (
        client.post(
            f"/availability/plan?month={NEXT_YEAR}", data=PLAN | {"max_masters": "0"}
        ).status_code
        == 302
    )
    db.session.expire_all()
    assert count(MonthPlan) == 1
    assert db.session.scalar(select(MonthPlan.max_masters)) == 0


def test_an_apprentice_saving_keeps_the_hosting_numbers_out_of_it(login):
    apprentice = make_apprentice()
    make_month_plan(apprentice, str(Month.parse(NEXT_YEAR).previous), max_hosting_hours=44)
    response = login(apprentice).post(
        f"/availability/plan?month={NEXT_YEAR}",
        data={"observation_hours": "20", "max_masters": "5", "max_hosting_hours": "150"},
    )
    assert response.status_code == 302
    plan = db.session.scalar(select(MonthPlan).where(MonthPlan.month == NEXT_YEAR))
    assert (plan.observation_hours, plan.max_masters, plan.max_hosting_hours) == (20, 5, 44)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_hosting_hours", "161", "Enter a whole number from 0 to 160."),
        ("max_hosting_hours", "-1", "Enter a whole number from 0 to 160."),
        ("in_person_seats", "51", "Enter a whole number from 0 to 50."),
        ("virtual_seats", "two", "Enter a whole number from 0 to 50."),
        ("observation_hours", "", "Enter a whole number from 0 to 160."),
        ("max_masters", "21", "Enter a whole number from 0 to 20."),
    ],
)
def test_plan_numbers_out_of_range_are_refused_and_nothing_is_saved(
    login, office, field, value, message
):
    person = make_person(is_master=True, is_apprentice=True, site=office)
    response = login(person).post(
        f"/availability/plan?month={NEXT_YEAR}", data=PLAN | {field: value}
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert re.search(rf'id="{field}-error">{re.escape(message)}<', page)
    assert len(_errors(response)) == 1
    assert count(MonthPlan) == 0


def test_a_remote_master_has_no_seats_in_the_room(login, remote_master):
    client = login(remote_master)
    page = client.get(f"/availability/plan?month={NEXT_YEAR}").get_data(as_text=True)
    assert _value(page, "in_person_seats") == "0"
    response = client.post(f"/availability/plan?month={NEXT_YEAR}", data=PLAN)
    assert _errors(response) == [
        "You work remotely (no site), so you have no seats in the room; set this to 0."
    ]
    assert count(MonthPlan) == 0
    assert (
        client.post(
            f"/availability/plan?month={NEXT_YEAR}", data=PLAN | {"in_person_seats": "0"}
        ).status_code
        == 302
    )


def test_a_past_month_cannot_be_planned(login, master):
    response = login(master).post("/availability/plan?month=2021-01", data=PLAN)
    assert "January 2021 has passed; plan this month or a later one." in unescape(
        response.get_data(as_text=True)
    )
    assert count(MonthPlan) == 0


def test_the_plan_page_refuses_a_bad_month(login, master):
    response = login(master).post("/availability/plan?month=2030-00", data=PLAN)
    assert response.status_code == 400
    assert count(MonthPlan) == 0


# --- CSRF ----------------------------------------------------------------------------------


def test_forms_without_a_csrf_token_change_nothing(app, login, master):
    window = make_weekly_window(master)
    client = login(master)
    app.config["WTF_CSRF_ENABLED"] = True  # after logging in: the log-in post has no token either
    for url, data in [
        (
            "/availability/weekly",
            {"weekday": "2", "start": "09:00", "end": "10:00", "mode": "both"},
        ),
        (f"/availability/weekly/{window.id}/delete", {}),
        ("/availability/changes", {"day": "2030-01-01", "kind": "unavailable"}),
        (f"/availability/plan?month={NEXT_YEAR}", PLAN),
    ]:
        assert client.post(url, data=data).status_code == 400, url
    assert count(WeeklyWindow) == 1 and count(AvailabilityChange) == 0 and count(MonthPlan) == 0
