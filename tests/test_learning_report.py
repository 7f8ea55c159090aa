"""The organisation's learning-time report: exact figures by team, site and month on a small
organisation, where allowances run out for apprentices waiting on scarce skills, and each
table's CSV."""

import csv
import io
from datetime import UTC, datetime

import pytest

from mentor_match.extensions import db
from mentor_match.models import (
    AllowanceKind,
    AllowanceRequest,
    LearningAllowance,
    RequestState,
    Stage,
)

from .conftest import recorded_statements
from .factories import (
    give_skill,
    make_admin,
    make_apprentice,
    make_area,
    make_master,
    make_micro_skill,
    make_month_plan,
    make_site,
)
from .learning_time import observed, set_organisation_allowance

PERIOD = "?from=2026-09&to=2026-10"


def _request(person, month, hours, state):
    db.session.add(
        AllowanceRequest(
            person_id=person.id,
            month=month,
            kind=AllowanceKind.OBSERVING,
            hours=hours,
            allowance_hours=4,
            state=state,
        )
    )


@pytest.fixture
def organisation():
    """Grace manages Tom (North, own allowance 4) and Uma (remote); Amara (North) hosts them."""
    north = make_site("North")
    skill = make_micro_skill("Anchoring", make_area("Negotiation"))
    grace = make_master("Grace Manager")
    amara = make_master("Amara Okafor", site=north)
    tom = make_apprentice("Tom Gallagher", site=north)
    uma = make_apprentice("Uma Reyes")
    tom.manager_id = uma.manager_id = grace.id
    give_skill(amara, skill, Stage.MASTER, hosts=True)
    give_skill(tom, skill, develops=True)
    give_skill(uma, skill, develops=True)
    set_organisation_allowance(observing=6, hosting=8)
    db.session.add(LearningAllowance(person_id=tom.id, observing_hours=4))
    _request(tom, "2026-10", 8, RequestState.APPROVED)
    _request(tom, "2026-09", 10, RequestState.DECLINED)
    _request(uma, "2026-09", 9, RequestState.WAITING)  # waiting: counted neither way
    db.session.commit()
    make_month_plan(tom, "2026-09", observation_hours=5)
    make_month_plan(uma, "2026-09", observation_hours=6)
    make_month_plan(amara, "2026-09", max_hosting_hours=10)
    observed(amara, tom, datetime(2026, 9, 10, 10, tzinfo=UTC), hours=3)
    observed(amara, tom, datetime(2026, 10, 8, 10, tzinfo=UTC), hours=2)
    observed(amara, uma, datetime(2026, 10, 15, 9, tzinfo=UTC), hours=6)
    # Outside the period: counts nowhere.
    observed(amara, uma, datetime(2026, 11, 3, 9, tzinfo=UTC), hours=5)
    return {"grace": grace, "amara": amara, "tom": tom, "uma": uma}


def _csv(client, slug):
    response = client.get(f"/admin/reports/learning-time/{slug}.csv{PERIOD}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert (
        f'filename="mentor-match-{slug}-2026-09-to-2026-10.csv"'
        in response.headers["Content-Disposition"]
    )
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


HEADER = [
    "People",
    "Observing granted",
    "Observing planned",
    "Observed (verified)",
    "Hosting granted",
    "Hosting planned",
    "Hosted (verified)",
    "Requests approved",
    "Requests declined",
]
TOTAL = ["All", "4", "24.00", "11.00", "11.00", "32.00", "10.00", "11.00", "1", "1"]


def test_by_team(login, client, organisation):
    login(make_admin())
    assert _csv(client, "learning-time-by-team") == [
        ["Team (manager)", *HEADER],
        # Tom: 4 granted in September, 8 (approved) in October; Uma 6 and 6.
        [
            "Grace Manager",
            "2",
            "24.00",
            "11.00",
            "11.00",
            "0.00",
            "0.00",
            "0.00",
            "1",
            "1",
        ],
        # Grace and Amara host: 8 a month each; Amara's verified sessions, 3 + 2 + 6 hours.
        [
            "No manager (the admins)",
            "2",
            "0.00",
            "0.00",
            "0.00",
            "32.00",
            "10.00",
            "11.00",
            "0",
            "0",
        ],
        TOTAL,
    ]


def test_by_site_and_by_month(login, client, organisation):
    login(make_admin())
    assert _csv(client, "learning-time-by-site") == [
        ["Site", *HEADER],
        ["North", "2", "12.00", "5.00", "5.00", "16.00", "10.00", "11.00", "1", "1"],
        ["Remote (no site)", "2", "12.00", "6.00", "6.00", "16.00", "0.00", "0.00", "0", "0"],
        TOTAL,
    ]
    assert _csv(client, "learning-time-by-month") == [
        ["Month", *HEADER],
        ["September 2026", "4", "10.00", "11.00", "3.00", "16.00", "10.00", "3.00", "0", "1"],
        ["October 2026", "4", "14.00", "0.00", "8.00", "16.00", "0.00", "8.00", "1", "0"],
        TOTAL,
    ]


def test_allowances_running_out_for_apprentices_waiting_on_a_scarce_skill(
    login, client, organisation
):
    login(make_admin())
    assert _csv(client, "allowances-run-out") == [
        [
            "Apprentice",
            "Month",
            "Observing granted",
            "Planned",
            "Observed (verified)",
            "Why",
            "Scarce micro skills they develop",
        ],
        # Tom planned 5 hours against his 4 in September.
        [
            "Tom Gallagher",
            "September 2026",
            "4.00",
            "5.00",
            "3.00",
            "plan capped by the allowance",
            "Negotiation: Anchoring (1 master)",
        ],
        # Uma used all her 6 in October.
        [
            "Uma Reyes",
            "October 2026",
            "6.00",
            "",
            "6.00",
            "granted hours used up",
            "Negotiation: Anchoring (1 master)",
        ],
    ]


def test_a_skill_with_three_masters_is_not_scarce(login, client, organisation):
    skill = organisation["amara"].skills[0].micro_skill
    for name in ("Second Master", "Third Master"):
        give_skill(make_master(name), skill, Stage.MASTER, hosts=True)
    login(make_admin())
    assert len(_csv(client, "allowances-run-out")) == 1  # the header alone


def test_the_page_shows_every_table_and_the_charts(login, client, organisation):
    login(make_admin())
    page = client.get(f"/admin/reports/learning-time{PERIOD}").get_data(as_text=True)
    for title in (
        "Learning time by team",
        "Learning time by site",
        "Learning time by month",
        "Where allowances run out while apprentices wait for scarce skills",
        "Hours observed (verified)",
        "Hours hosted (verified)",
    ):
        assert title in page
    assert "24.00" in page


def test_reads_do_not_grow_with_the_number_of_people(login, client, organisation):
    login(make_admin())
    client.get(f"/admin/reports/learning-time{PERIOD}")
    with recorded_statements() as seen:
        client.get(f"/admin/reports/learning-time{PERIOD}")
    few = len(seen)
    for n in range(6):
        person = make_apprentice(f"Extra {n}", site=organisation["tom"].site)
        person.manager_id = organisation["grace"].id
        make_month_plan(person, "2026-09", observation_hours=3)
    db.session.commit()
    with recorded_statements() as seen:
        client.get(f"/admin/reports/learning-time{PERIOD}")
    assert len(seen) == few


def test_an_unknown_table_is_not_found_and_non_admins_are_refused(login, client, organisation):
    login(organisation["grace"])
    assert client.get("/admin/reports/learning-time").status_code == 403
    assert client.get("/admin/reports/learning-time/learning-time-by-team.csv").status_code == 403
    client.post("/logout")
    login(make_admin())
    assert client.get("/admin/reports/learning-time/nothing.csv").status_code == 404


def test_two_managers_of_one_name_are_two_teams_told_apart(login, client, organisation):
    grace, amara = organisation["grace"], organisation["amara"]
    namesake = make_master("Grace Manager")
    db.session.flush()
    amara.manager_id = namesake.id
    db.session.commit()
    login(make_admin())
    teams = [row[0] for row in _csv(client, "learning-time-by-team")[1:]]
    assert sorted(teams[:2]) == sorted(
        [f"Grace Manager (#{grace.id})", f"Grace Manager (#{namesake.id})"]
    )
