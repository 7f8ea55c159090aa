"""Admin reports: every figure of every table, on the page and in its CSV, for a known
organisation."""

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from mentor_match.extensions import db
from mentor_match.models import (
    Attendance,
    MicroSkill,
    Pairing,
    Person,
    SessionMode,
    SessionObserver,
    ShadowingSession,
    Site,
)
from mentor_match.reports.period import Period, choose_period
from mentor_match.reports.tables import spreadsheet_safe
from mentor_match.tracking.hours import verified_seats

from .factories import (
    give_skill,
    make_admin,
    make_apprentice,
    make_area,
    make_master,
    make_person,
    make_round,
    make_site,
)

YEAR_2025 = {"from": "2025-01", "to": "2025-12"}
TABLE_SLUGS = (
    "hours-by-skill",
    "participation",
    "in-person-vs-video",
    "remote-vs-on-site",
    "skills-gap",
)


# --- Building the organisation ------------------------------------------------------------------


def host_session(
    master: Person,
    starts_at: datetime,
    hours: float,
    mode: SessionMode,
    seats: list[tuple[Person, int | None]],
    *,
    skill: MicroSkill | None = None,
    pairing: Pairing | None = None,
    site: Site | None = None,
) -> ShadowingSession:
    """A session with one seat per apprentice; minutes None leaves the seat unverified."""
    ends_at = starts_at + timedelta(hours=hours)
    session = ShadowingSession(
        master_id=master.id,
        starts_at=starts_at,
        ends_at=ends_at,
        mode=mode,
        seats=max(len(seats), 1),
        site_id=site.id if site else None,
        micro_skill_id=skill.id if skill else None,
    )
    for apprentice, minutes in seats:
        seat = SessionObserver(
            apprentice_id=apprentice.id,
            starts_at=starts_at,
            ends_at=ends_at,
            pairing_id=pairing.id if pairing else None,
        )
        if minutes is not None:
            seat.attendance = Attendance(minutes=minutes, confirmed_by_id=master.id)
        session.observers.append(seat)
    db.session.add(session)
    db.session.commit()
    return session


def at(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


@dataclass
class Org:
    admin: Person
    people: dict[str, Person]
    skills: dict[str, MicroSkill]


def build_org() -> Org:
    """Two sites, remote and on-site apprentices, masters, and sessions in and around 2025.

    Verified in 2025: S1 Tom 2h + Priya 1.5h (in person, anchoring; Carl's seat unverified),
    S2 Ines 1h (video, listening; Raj marked absent), S3 Tom 2h (video, a round pairing on
    closing and anchoring: 1h each), S4 Tom 0.5h (in person, no micro skill), S7 Priya 1h
    (in person, closing, with Vera, deactivated since). Outside 2025: Lena 1h in December
    2024, Raj 1h in January 2026.
    """
    london, berlin = make_site("London", "Europe/London"), make_site("Berlin", "Europe/Berlin")
    negotiation = make_area("Negotiation", skills=("Anchoring", "BATNA analysis", "Closing"))
    coaching = make_area("Coaching", skills=("Listening", "Questioning"))
    anchoring, batna, closing = negotiation.micro_skills
    listening, questioning = coaching.micro_skills
    admin = make_admin("Ada Admin", timezone="UTC")
    people = {
        "amara": make_master("Amara", site=london),
        "bea": make_master("Bea"),  # remote
        "dan": make_master("Dan", site=london),  # hosts nothing verified
        "vera": make_master("Vera", site=berlin),
        "carl": make_person("Carl", is_master=True, is_apprentice=True, site=london),
        "tom": make_apprentice("Tom", site=london),
        "priya": make_apprentice("Priya", site=berlin),
        "ines": make_apprentice("Ines"),  # remote
        "raj": make_apprentice("Raj"),  # remote
        "lena": make_apprentice("Lena", site=berlin),
        "olga": make_apprentice("Olga", active=False),
    }
    p = people
    give_skill(p["amara"], anchoring, "master", hosts=True)
    give_skill(p["amara"], closing, "journeyman", hosts=True)
    give_skill(p["bea"], anchoring, "apprentice", hosts=True)  # not above apprentice: no master
    give_skill(p["bea"], listening, "master", hosts=True)
    give_skill(p["bea"], questioning, "master", hosts=True)  # hosted, wanted by nobody
    give_skill(p["dan"], batna, "journeyman", hosts=False)  # able, but does not host it
    give_skill(p["carl"], closing, "master", hosts=True)
    give_skill(p["carl"], anchoring, "apprentice", develops=True)
    for name, skill in [
        ("tom", anchoring),
        ("tom", closing),
        ("priya", anchoring),
        ("priya", batna),
        ("ines", anchoring),
        ("ines", listening),
        ("raj", batna),
        ("olga", batna),
    ]:
        give_skill(p[name], skill, "apprentice", develops=True)

    round_ = make_round("2025-07")
    pairing = Pairing(
        round_id=round_.id,
        apprentice_id=p["tom"].id,
        master_id=p["carl"].id,
        micro_skills=[closing, anchoring],
    )
    db.session.add(pairing)
    db.session.commit()

    in_person, video = SessionMode.IN_PERSON, SessionMode.VIRTUAL
    host_session(
        p["amara"],
        at(2025, 3, 10),
        2,
        in_person,
        [(p["tom"], 120), (p["priya"], 90), (p["carl"], None)],
        skill=anchoring,
        site=london,
    )
    host_session(
        p["bea"], at(2025, 6, 5), 1, video, [(p["ines"], 60), (p["raj"], 0)], skill=listening
    )
    host_session(p["carl"], at(2025, 7, 1), 2, video, [(p["tom"], 120)], pairing=pairing)
    host_session(p["amara"], at(2025, 9, 1), 1, in_person, [(p["tom"], 30)], site=london)
    host_session(
        p["vera"], at(2025, 11, 3), 1, in_person, [(p["priya"], 60)], skill=closing, site=berlin
    )
    host_session(p["amara"], at(2024, 12, 15), 1, video, [(p["lena"], 60)], skill=anchoring)
    host_session(p["amara"], at(2026, 1, 10), 1, video, [(p["raj"], 60)], skill=anchoring)
    p["vera"].active = False
    db.session.commit()
    skills = {
        "anchoring": anchoring,
        "batna": batna,
        "closing": closing,
        "listening": listening,
        "questioning": questioning,
    }
    return Org(admin, people, skills)


# --- Reading the page and the files -----------------------------------------------------------


class _ReportTables(HTMLParser):
    """Every table row's cell texts, by the id of the section holding the table."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.csv_links: dict[str, str] = {}
        self._section: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "section" and attributes.get("id"):
            self._section = attributes["id"]
        elif tag == "tr" and self._section:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "a" and self._section and ".csv" in (attributes.get("href") or ""):
            self.csv_links[self._section] = attributes["href"]

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._section:
            self.tables.setdefault(self._section, []).append(self._row)
            self._row = None
        elif tag == "section":
            self._section = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def page_tables(client, **period) -> tuple[_ReportTables, str]:
    response = client.get("/admin/reports", query_string=period)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    parser = _ReportTables()
    parser.feed(html)
    return parser, html


def csv_rows(client, slug: str, **period) -> list[list[str]]:
    response = client.get(f"/admin/reports/{slug}.csv", query_string=period)
    assert response.status_code == 200
    assert response.data.startswith(b"\xef\xbb\xbf"), "a BOM, so Excel reads UTF-8"
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


EXPECTED_2025 = {
    "hours-by-skill": [
        ["Area", "Micro skill", "Verified hours", "Sessions", "Apprentices"],
        ["Coaching", "Listening", "1.00", "1", "1"],
        ["Coaching", "Questioning", "0.00", "0", "0"],
        ["Negotiation", "Anchoring", "4.50", "2", "2"],  # S1 2 + 1.5, S3 half of 2
        ["Negotiation", "BATNA analysis", "0.00", "0", "0"],
        ["Negotiation", "Closing", "2.00", "2", "2"],  # S3 half of 2, S7 1
        ["", "(no micro skill named)", "0.50", "1", "1"],
        ["All areas", "", "8.00", "5", "3"],
    ],
    "participation": [
        ["Role", "People", "Observed", "Hosted", "Taking part", "Share taking part (%)"],
        ["Masters only", "4", "0", "3", "3", "75.0"],  # Amara, Bea, Vera hosted; Dan not
        ["Apprentices only", "5", "3", "0", "3", "60.0"],  # Raj absent, Lena out of period
        ["Masters and apprentices", "1", "0", "1", "1", "100.0"],  # Carl's seat unverified
        ["Everyone", "10", "3", "4", "7", "70.0"],
    ],
    "in-person-vs-video": [
        ["Mode", "Verified hours", "Seats", "Sessions", "Share of hours (%)"],
        ["In the room", "5.00", "4", "3", "62.5"],
        ["On video", "3.00", "2", "2", "37.5"],
        ["Both", "8.00", "6", "5", "100.0"],
    ],
    "remote-vs-on-site": [
        ["Apprentices", "People", "Observing", "Verified hours", "Hours per apprentice"],
        ["Remote (no site)", "2", "1", "1.00", "0.50"],  # Ines 1h, Raj none
        ["At a site", "4", "2", "7.00", "1.75"],  # Tom 4.5h, Priya 2.5h, Lena, Carl
        ["All apprentices", "6", "3", "8.00", "1.33"],
    ],
    "skills-gap": [
        [
            "Micro skill",
            "Apprentices developing",
            "Masters hosting",
            "Apprentices per master",
            "Verified hours",
        ],
        ["Negotiation: BATNA analysis", "2", "0", "no master", "0.00"],
        ["Negotiation: Anchoring", "4", "1", "4.00", "4.50"],
        ["Coaching: Listening", "1", "1", "1.00", "1.00"],
        ["Negotiation: Closing", "1", "2", "0.50", "2.00"],
    ],
}


# --- The figures ---------------------------------------------------------------------------------


@pytest.fixture
def org(login):
    org = build_org()
    login(org.admin)
    return org


@pytest.mark.parametrize("slug", TABLE_SLUGS)
def test_every_figure_on_the_page_and_in_the_csv(client, org, slug):
    tables, _ = page_tables(client, **YEAR_2025)
    assert tables.tables[slug] == EXPECTED_2025[slug]
    assert csv_rows(client, slug, **YEAR_2025) == EXPECTED_2025[slug]


def test_each_table_links_to_its_csv_for_the_same_period(client, org):
    tables, html = page_tables(client, **YEAR_2025)
    assert "January 2025 to December 2025" in html
    for slug in TABLE_SLUGS:
        assert tables.csv_links[slug] == f"/admin/reports/{slug}.csv?from=2025-01&to=2025-12"


def test_csv_is_an_attachment_named_for_the_table_and_period(client, org):
    response = client.get("/admin/reports/hours-by-skill.csv", query_string=YEAR_2025)
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="mentor-match-hours-by-skill-2025-01-to-2025-12.csv"'
    )


def test_unverified_seats_count_nothing(client, org):
    """With every verified seat of 2025 reset to 0 minutes, 2025 shows no hours at all."""
    for attendance in db.session.scalars(db.select(Attendance)):
        if attendance.seat.session.starts_at.year == 2025:
            attendance.minutes = 0
    db.session.commit()
    tables, _ = page_tables(client, **YEAR_2025)
    assert tables.tables["hours-by-skill"][-1] == ["All areas", "", "0.00", "0", "0"]
    assert all(row[2] == "0.00" for row in tables.tables["hours-by-skill"][1:])
    assert tables.tables["participation"][-1] == ["Everyone", "9", "0", "0", "0", "0.0"]
    assert tables.tables["in-person-vs-video"][1:] == [
        ["In the room", "0.00", "0", "0", ""],
        ["On video", "0.00", "0", "0", ""],
        ["Both", "0.00", "0", "0", ""],
    ]
    assert tables.tables["remote-vs-on-site"][-1] == ["All apprentices", "6", "0", "0.00", "0.00"]
    assert [row[4] for row in tables.tables["skills-gap"][1:]] == ["0.00"] * 4


def test_verified_seats_of_a_period_are_those_starting_in_it(org):
    """The period filter the reports use agrees seat for seat with filtering every seat."""

    def comparable(seats):
        return sorted(
            (
                seat.seat_id,
                seat.apprentice_id,
                seat.master_id,
                seat.starts_at,
                seat.mode,
                seat.hours,
                tuple(sorted(seat.skill_ids)),
                seat.session_id,
            )
            for seat in seats
        )

    for starts, ends in [
        (at(2025, 1, 1, 0), at(2026, 1, 1, 0)),
        (at(2024, 1, 1, 0), at(2027, 1, 1, 0)),
        (at(2025, 7, 1, 10), at(2025, 7, 1, 11)),
    ]:
        loaded = verified_seats(starts=starts, ends=ends)
        expected = [seat for seat in verified_seats() if starts <= seat.starts_at < ends]
        assert comparable(loaded) == comparable(expected) and expected
        for seat in loaded:
            assert db.session.get(SessionObserver, seat.seat_id).session_id == seat.session_id


# --- The period ----------------------------------------------------------------------------------


def test_the_period_filter_takes_only_sessions_starting_in_it(client, org):
    tables, html = page_tables(client, **{"from": "2024-12", "to": "2024-12"})
    assert "December 2024" in html
    hours = {(row[0], row[1]): row[2:] for row in tables.tables["hours-by-skill"][1:]}
    assert hours[("Negotiation", "Anchoring")] == ["1.00", "1", "1"]  # Lena only
    assert hours[("All areas", "")] == ["1.00", "1", "1"]
    assert tables.tables["in-person-vs-video"][1:] == [
        ["In the room", "0.00", "0", "0", "0.0"],
        ["On video", "1.00", "1", "1", "100.0"],
        ["Both", "1.00", "1", "1", "100.0"],
    ]
    # Vera is deactivated and took no part in December 2024, so she no longer counts.
    assert tables.tables["participation"][1:] == [
        ["Masters only", "3", "0", "1", "1", "33.3"],
        ["Apprentices only", "5", "1", "0", "1", "20.0"],
        ["Masters and apprentices", "1", "0", "0", "0", "0.0"],
        ["Everyone", "9", "1", "1", "2", "22.2"],
    ]
    january = csv_rows(client, "remote-vs-on-site", **{"from": "2026-01", "to": "2026-01"})
    assert january[1:] == [
        ["Remote (no site)", "2", "1", "1.00", "0.50"],  # Raj
        ["At a site", "4", "0", "0.00", "0.00"],
        ["All apprentices", "6", "1", "1.00", "0.17"],
    ]


def test_months_are_the_admins_own(client, login):
    """A session at 20:00 UTC on 31 December 2024 is in January 2025 in Tokyo."""
    admin = make_admin("Tokyo Admin", timezone="Asia/Tokyo")
    master, apprentice = make_master("Kenji"), make_apprentice("Yui")
    host_session(
        master, datetime(2024, 12, 31, 20, tzinfo=UTC), 1, SessionMode.VIRTUAL, [(apprentice, 60)]
    )
    login(admin)
    in_january = csv_rows(client, "in-person-vs-video", **{"from": "2025-01", "to": "2025-01"})
    in_december = csv_rows(client, "in-person-vs-video", **{"from": "2024-12", "to": "2024-12"})
    assert in_january[-1] == ["Both", "1.00", "1", "1", "100.0"]
    assert in_december[-1] == ["Both", "0.00", "0", "0", ""]


def test_a_bad_period_says_why_and_shows_the_last_12_months(client, org):
    this_month = datetime.now(UTC).date().replace(day=1)
    default = choose_period(None, None, this_month).period
    for period, message in [
        ({"from": "2025-13", "to": "2025-12"}, "“2025-13” is not a month"),
        ({"from": "2025-01", "to": "Dec 2025"}, "“Dec 2025” is not a month"),
        (
            {"from": "2025-06", "to": "2025-01"},
            "The period starts (2025-06) after it ends (2025-01)",
        ),
    ]:
        _, html = page_tables(client, **period)
        assert message in html
        assert "Showing the last 12 months instead." in html
        assert default.label in html
        response = client.get("/admin/reports/participation.csv", query_string=period)
        assert (
            f"mentor-match-participation-{default.slug}.csv"
            in response.headers["Content-Disposition"]
        )
    _, html = page_tables(client, **YEAR_2025)
    assert "is not a month" not in html and "instead" not in html


@pytest.mark.database_independent
def test_choose_period():
    today = date(2026, 11, 25)
    assert choose_period(None, None, today) == choose_period("", " ", today)
    assert choose_period(None, None, today).period == Period(date(2025, 12, 1), date(2026, 11, 1))
    assert choose_period(None, None, date(2026, 12, 31)).period == Period(
        date(2026, 1, 1), date(2026, 12, 1)
    )
    assert choose_period("2025-03", "2025-03", today).period == Period(
        date(2025, 3, 1), date(2025, 3, 1)
    )
    assert choose_period("2025-03", None, today).period == Period(
        date(2025, 3, 1), date(2026, 2, 1)
    )
    assert choose_period(None, "2025-03", today).period == Period(
        date(2024, 4, 1), date(2025, 3, 1)
    )
    for bad in ("2025-00", "2025-1", "25-01", "2025-01-01", "0000-01", "<script>"):
        choice = choose_period(bad, "2025-12", today)
        assert choice.problem and "is not a month" in choice.problem
        assert choice.period == choose_period(None, None, today).period
    assert choose_period("2025-01", "2025-12", today).problem is None
    assert Period(date(2026, 1, 1), date(2026, 12, 1)).slug == "2026-01-to-2026-12"
    zone = ZoneInfo("Europe/London")
    assert Period(date(2026, 6, 1), date(2026, 12, 1)).bounds(zone) == (
        datetime(2026, 6, 1, tzinfo=zone),
        datetime(2027, 1, 1, tzinfo=zone),
    )


# --- CSV injection, missing tables, who may look ---------------------------------------------


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(client, login):
    area = make_area('=HYPERLINK("http://x.example")', skills=("+Plus", "-Minus", "@At", "Plain"))
    apprentice = make_apprentice("Eve")
    for skill in area.micro_skills:
        give_skill(apprentice, skill, "apprentice", develops=True)
    login(make_admin("Admin", timezone="UTC"))
    rows = csv_rows(client, "hours-by-skill", **YEAR_2025)
    assert [row[:2] for row in rows[1:5]] == [
        ['\'=HYPERLINK("http://x.example")', "'+Plus"],
        ['\'=HYPERLINK("http://x.example")', "'-Minus"],
        ['\'=HYPERLINK("http://x.example")', "'@At"],
        ['\'=HYPERLINK("http://x.example")', "Plain"],
    ]
    gap = csv_rows(client, "skills-gap", **YEAR_2025)
    assert {row[0] for row in gap[1:]} == {
        f'\'=HYPERLINK("http://x.example"): {name}' for name in ("+Plus", "-Minus", "@At", "Plain")
    }
    # The page shows the names as they are.
    tables, _ = page_tables(client, **YEAR_2025)
    assert tables.tables["hours-by-skill"][1][:2] == ['=HYPERLINK("http://x.example")', "+Plus"]
    assert spreadsheet_safe("\tTab") == "'\tTab" and spreadsheet_safe("a=b") == "a=b"


def test_an_unknown_table_is_not_found(client, org):
    assert client.get("/admin/reports/salaries.csv").status_code == 404
    assert client.get("/admin/reports/hours-by-skill.xlsx").status_code == 404


@pytest.mark.parametrize("who", ["master", "apprentice", "both"])
def test_only_admins_see_reports(client, login, who):
    person = make_person(
        is_master=who in ("master", "both"), is_apprentice=who in ("apprentice", "both")
    )
    login(person)
    assert client.get("/admin/reports").status_code == 403
    for slug in TABLE_SLUGS:
        assert client.get(f"/admin/reports/{slug}.csv").status_code == 403


def test_visitors_are_sent_to_log_in(client):
    for url in ("/admin/reports", "/admin/reports/participation.csv"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login?next=" in response.headers["Location"]


# --- Scale ---------------------------------------------------------------------------------------


def _statements_for(client, url: str) -> int:
    count = 0

    def counted(*args, **kwargs):
        nonlocal count
        count += 1

    db.session.expire_all()  # the test shares the request's session: start each count cold
    event.listen(db.engine, "before_cursor_execute", counted)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", counted)
    return count


def test_the_number_of_queries_does_not_grow_with_people(client, org):
    """Reports read sets, not people one by one: forty more apprentices, no more queries."""
    url = "/admin/reports?from=2025-01&to=2025-12"
    before = _statements_for(client, url)
    site = db.session.get(Site, org.people["tom"].site_id)
    amara = org.people["amara"]
    newcomers = [make_apprentice(f"Newcomer {n}", site=site if n % 2 else None) for n in range(40)]
    for n, person in enumerate(newcomers):
        give_skill(person, org.skills["batna"], "apprentice", develops=True)
        host_session(
            amara,
            at(2025, 10, 1 + n % 28, 6 + n // 28),
            0.5,
            SessionMode.VIRTUAL,
            [(person, 30)],
            skill=org.skills["closing"],
        )
    after = _statements_for(client, url)
    assert after == before
    csv_url = "/admin/reports/skills-gap.csv?from=2025-01&to=2025-12"
    assert csv_rows(client, "skills-gap", **YEAR_2025)[1] == [
        "Negotiation: BATNA analysis",
        "42",
        "0",
        "no master",
        "0.00",
    ]
    assert _statements_for(client, csv_url) <= before
