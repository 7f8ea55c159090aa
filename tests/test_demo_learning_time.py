"""The demo's learning time: managers with teams, the organisation's allowance, requests
waiting and decided, and two months of history the team page and report show."""

from datetime import UTC, datetime

from sqlalchemy import select

from mentor_match.demo.roster import DEMO_PASSWORD
from mentor_match.demo.seed import seed_demo_organisation
from mentor_match.extensions import db
from mentor_match.models import (
    AllowanceRequest,
    LearningAllowance,
    OrganisationSettings,
    Person,
    RequestState,
)
from mentor_match.reports.learning_time import learning_time_table
from mentor_match.reports.period import Period, add_months

from .conftest import log_in


def _person(name):
    return db.session.scalar(select(Person).where(Person.name == name))


def test_the_demo_has_managers_allowances_and_requests(client):
    seed_demo_organisation()
    settings = db.session.get(OrganisationSettings, 1)
    assert (settings.observing_allowance_hours, settings.hosting_allowance_hours) == (6, 8)
    amara, tom = _person("Amara Okafor"), _person("Tom Gallagher")
    assert tom.manager_id == amara.id and len(amara.team) == 5
    assert len(_person("Rebecca Stein").team) == 6
    own = db.session.scalar(select(LearningAllowance).where(LearningAllowance.person_id == tom.id))
    assert own.observing_hours == 8
    states = [r.state for r in db.session.scalars(select(AllowanceRequest))]
    assert states.count(RequestState.WAITING) == 4
    assert states.count(RequestState.APPROVED) == states.count(RequestState.DECLINED) == 1
    assert log_in(client, amara, DEMO_PASSWORD).status_code == 302
    page = client.get("/team").get_data(as_text=True)
    assert "Tom Gallagher" in page and "James Whitfield" in page


def test_the_report_shows_real_figures_for_the_last_two_months():
    seed_demo_organisation()
    today = datetime.now(UTC).date().replace(day=1)
    period = Period(add_months(today, -2), add_months(today, -1))
    table = learning_time_table("learning-time-by-team", period, today)
    rows = {row[0]: row for row in table.rows}
    team = rows["Amara Okafor"]
    granted, planned, observed = team[2], team[3], team[4]
    assert granted > 0 and planned > 0 and observed > 0
    assert table.total[8] == 1 and table.total[9] == 1  # Tom approved, Tyler declined
