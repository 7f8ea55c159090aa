"""The review's "Where masters are scarce" table on a round seeded as the rounds benchmark
seeds one (issue 24): every row it shows keeps hours delivered within both "at most" columns.

Through the site as an admin sees it: the benchmark's bulk seed, a run performed as a worker
performs it (snapshot by the encoder, the optimizer, the solution stored), then the review page.
"""

import re
from datetime import UTC, datetime
from html import unescape

from sqlalchemy import select

from benchmarks.rounds import seed
from mentor_match.demo.roster import DEMO_PASSWORD
from mentor_match.extensions import db
from mentor_match.models import Person, Round, RunStatus
from mentor_match.rounds import runs, solving

SCARCE_SECTION = re.compile(r"<h2>Where masters are scarce</h2>(.*?)</section>", re.S)
ROW = re.compile(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', re.S)
CELL = re.compile(r"<td>(.*?)</td>", re.S)


def scarce_rows(page: str) -> dict[str, list[str]]:
    """The table's rows (both parts, the first ten and those folded away), by micro skill."""
    (section,) = SCARCE_SECTION.findall(page)
    return {
        unescape(skill): [cell.strip() for cell in CELL.findall(cells)]
        for skill, cells in ROW.findall(section)
    }


def test_the_scarce_table_of_a_seeded_round_never_shows_more_delivered_than_possible(login):
    seeded = seed(160, 50, rng_seed=11, today=datetime.now(UTC).date())
    round_ = db.session.get(Round, seeded.round_id)
    run = runs.start_run(round_, None, time_limit=5)
    assert solving.perform_run(run.id) is True
    db.session.refresh(run)
    assert run.status is RunStatus.SUCCEEDED, run.error
    admin = db.session.scalar(select(Person).where(Person.is_admin))

    page = login(admin, DEMO_PASSWORD).get(f"/admin/rounds/{round_.month}/runs/{run.id}")
    assert page.status_code == 200
    rows = scarce_rows(page.get_data(as_text=True))

    # Every micro skill of the default taxonomy that someone wants or teaches has its row.
    assert len(rows) >= 30
    delivered_in_all = 0.0
    for skill, (_, wanted, masters, hosted, delivered, _) in rows.items():
        wanted_hours, hosted_hours, hours = float(wanted), float(hosted), float(delivered)
        assert hours <= hosted_hours, (skill, rows[skill])
        assert hours <= wanted_hours, (skill, rows[skill])
        if masters == "0":
            assert hours == 0, (skill, rows[skill])
        delivered_in_all += hours
    # The round delivered hours, shown to one decimal in each row.
    assert delivered_in_all > 0
    assert abs(delivered_in_all - run.observation_hours) <= 0.05 * len(rows)
    # The scarce skills the seed made (wanted by many, hosted by few) lead the table.
    leading = list(rows)[: len(seeded.scarce) + 3]
    assert any(name.endswith(scarce) for scarce in seeded.scarce for name in leading), (
        leading,
        seeded.scarce,
    )
