"""Progress: verified hours by month and skill, feedback, eligibility, endorsement, thresholds."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mentor_match.extensions import db
from mentor_match.models import (
    ChangeRecord,
    Endorsement,
    Feedback,
    FeedbackKind,
    Notification,
    PersonSkill,
    SessionObserver,
    Stage,
    StageSource,
    StageThreshold,
)
from mentor_match.progress import services, thresholds

from .browser import PHONE, overflows_sideways, serious_accessibility_faults
from .conftest import log_in
from .database import count
from .factories import (
    DEFAULT_PASSWORD,
    give_skill,
    make_admin,
    make_apprentice,
    make_area,
    make_master,
    make_seat,
    make_session,
)

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def _month_start(moment: datetime, months_back: int = 0) -> datetime:
    """The first instant of the month `months_back` before `moment`'s, in `moment`'s zone."""
    index = moment.year * 12 + moment.month - 1 - months_back
    return moment.replace(year=index // 12, month=index % 12 + 1, day=1, hour=0)


def _observe(master, apprentice, starts_at, minutes, skill, hours=None) -> SessionObserver:
    session = make_session(master, starts_at, hours or max(1, -(-minutes // 60)), skill)
    return make_seat(session, apprentice, minutes=minutes)


def _rate(master, apprentice, skill, rating, note="", at=None) -> Feedback:
    feedback = Feedback(
        kind=FeedbackKind.PRACTICE,
        giver_id=master.id,
        receiver_id=apprentice.id,
        micro_skill_id=skill.id,
        rating=rating,
        note=note,
        created_at=at or NOW,
    )
    db.session.add(feedback)
    db.session.commit()
    return feedback


def _hours_for(master, apprentice, skill, total_minutes, first_day) -> None:
    """`total_minutes` of verified observation in 8-hour days (the last day shorter)."""
    day = 0
    while total_minutes > 0:
        minutes = min(480, total_minutes)
        _observe(master, apprentice, first_day + timedelta(days=day), minutes, skill, hours=8)
        total_minutes -= minutes
        day += 1


def _client_for(app, person):
    client = app.test_client()
    response = log_in(client, person)
    assert response.status_code == 302
    return client


def _page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return re.sub(r"\s+", " ", unescape(response.get_data(as_text=True)))


def _chart_rows(html: str, chart_id: str) -> dict[str, str]:
    """The data table under a chart, label -> hours as shown."""
    figure = html.split(f'id="{chart_id}"', 1)[1].split("</figure>", 1)[0]
    return dict(re.findall(r'<tr><th scope="row">(.*?)</th><td>(.*?)</td></tr>', figure))


def _counts() -> tuple:
    return tuple(
        count(model) for model in (Endorsement, ChangeRecord, Notification, StageThreshold)
    )


def _stage(person, skill) -> Stage:
    db.session.expire_all()
    return db.session.get(PersonSkill, (person.id, skill.id)).stage


@pytest.fixture
def negotiation():
    return make_area("Negotiation", skills=("Anchoring", "Closing"))


# Hours ----------------------------------------------------------------------------------------


def test_verified_hours_by_month_and_micro_skill(app, negotiation):
    anchoring, closing = negotiation.micro_skills
    master = make_master("Amara Master", timezone="UTC")
    tom = make_apprentice("Tom Apprentice", timezone="UTC")
    give_skill(tom, anchoring, develops=True)
    last, before = _month_start(NOW, 1), _month_start(NOW, 2)
    _observe(master, tom, last + timedelta(days=2, hours=10), 120, anchoring)
    _observe(master, tom, last + timedelta(days=4, hours=10), 90, closing, hours=2)
    _observe(master, tom, before + timedelta(days=3, hours=9), 180, anchoring)
    _observe(master, tom, _month_start(NOW, 14) + timedelta(days=3, hours=9), 60, anchoring)
    # Neither an unconfirmed seat nor one confirmed as "did not attend" counts.
    make_seat(make_session(master, last + timedelta(days=6, hours=9), 5, anchoring), tom)
    _observe(master, tom, last + timedelta(days=8, hours=9), 0, anchoring, hours=5)

    html = _page(_client_for(app, tom), "/progress")

    months = _chart_rows(html, "hours-by-month")
    assert len(months) == 12
    assert months[last.strftime("%B %Y")] == "3.5"
    assert months[before.strftime("%B %Y")] == "3"
    assert months[NOW.strftime("%B %Y")] == "0"
    assert _month_start(NOW, 14).strftime("%B %Y") not in months
    assert _chart_rows(html, "hours-by-skill") == {
        "Negotiation: Anchoring": "6",
        "Negotiation: Closing": "1.5",
    }
    assert "<dd>7.5 h</dd>" in html
    # Each chart is a labelled image with a description, and its figures are also a table.
    for chart in ("hours-by-month", "hours-by-skill"):
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in html
        assert f'<title id="{chart}-title">' in html
    assert html.count('role="img"') == 2
    # (in the page's main part: on a phone, the site's menu is a <details> too)
    assert html.split('<main id="main"')[1].count("<details") == 2
    # The month chart covers the last 12 months only; the skill chart, all time.
    assert "6.5 verified hours in all; the most, 3.5, in " + last.strftime("%B %Y") in html
    assert "7.5 verified hours in all; the most, 6, in Negotiation: Anchoring" in html
    # The master, with the verified hours observed of them and the sessions.
    assert re.search(r"Amara Master</a></th>\s*<td>7.5</td><td>4</td>", html)


def test_months_are_the_persons_own(app, negotiation):
    anchoring = negotiation.micro_skills[0]
    tokyo = ZoneInfo("Asia/Tokyo")
    master = make_master(timezone="UTC")
    aiko = make_apprentice("Aiko", timezone="Asia/Tokyo")
    this_month = _month_start(NOW.astimezone(tokyo))
    # 03:00 on the 1st in Tokyo is still the previous month in UTC.
    starts = this_month + timedelta(hours=3)
    assert starts.astimezone(UTC).month != this_month.month
    _observe(master, aiko, starts.astimezone(UTC), 60, anchoring)

    months = _chart_rows(_page(_client_for(app, aiko), "/progress"), "hours-by-month")
    assert months[this_month.strftime("%B %Y")] == "1"
    assert months[_month_start(this_month, 1).strftime("%B %Y")] == "0"


def test_unverified_and_zero_minute_seats_count_nothing(app, negotiation):
    anchoring = negotiation.micro_skills[0]
    master = make_master("Amara Master")
    tom = make_apprentice("Tom Apprentice")
    give_skill(master, anchoring, Stage.MASTER, hosts=True)
    give_skill(tom, anchoring, develops=True)
    make_seat(make_session(master, NOW - timedelta(days=10), 3, anchoring), tom)
    _observe(master, tom, NOW - timedelta(days=5), 0, anchoring, hours=3)

    progress = services.apprentice_progress(tom)
    assert progress.total_hours == 0
    assert progress.hours_by_skill == [] and progress.masters == []
    assert progress.skills[0].verified_hours == 0
    html = _page(_client_for(app, tom), "/progress")
    assert "No verified hours yet" in html
    assert "No master has confirmed a session you observed yet." in html

    hosting = services.hosting_overview(master)
    assert hosting.total_hours == 0 and hosting.apprentices == []


def test_hosting_hours_count_each_hour_once(app, negotiation):
    anchoring = negotiation.micro_skills[0]
    master = make_master("Amara Master", timezone="UTC")
    tom, priya, lena, sam = (make_apprentice(name) for name in ("Tom", "Priya", "Lena", "Sam"))
    last = _month_start(NOW, 1)
    first = make_session(master, last + timedelta(days=2, hours=10), 2, anchoring)
    make_seat(first, tom, minutes=120)
    make_seat(first, priya, minutes=60)
    make_seat(first, sam)  # not confirmed
    # Overlaps the first by an hour: together they span 10:00 to 13:00.
    make_seat(
        make_session(master, last + timedelta(days=2, hours=11), 2, anchoring),
        lena,
        minutes=120,
    )
    # Only a "did not attend": no hosting hour.
    make_seat(
        make_session(master, last + timedelta(days=4, hours=10), 4, anchoring),
        tom,
        minutes=0,
    )
    make_seat(
        make_session(master, last + timedelta(days=6, hours=10), 1, anchoring),
        tom,
        minutes=30,
    )

    html = _page(_client_for(app, master), "/progress/hosting")

    assert _chart_rows(html, "hosting-by-month")[last.strftime("%B %Y")] == "4"
    assert "<dd>4 h</dd>" in html
    rows = dict(re.findall(r">(Tom|Priya|Lena)</a></th>\s*<td>(.*?)</td>", html))
    assert rows == {"Tom": "2.5", "Priya": "1", "Lena": "2"}
    assert "Sam" not in html
    assert (last + timedelta(days=6)).strftime("%d %b %Y") in html


# Feedback -------------------------------------------------------------------------------------


def test_feedback_received_newest_first_with_master_skill_and_note(app, negotiation):
    anchoring, closing = negotiation.micro_skills
    amara, james = make_master("Amara Master"), make_master("James Master")
    tom = make_apprentice("Tom Apprentice")
    _rate(amara, tom, anchoring, 2, "Anchor higher next time.", at=NOW - timedelta(days=30))
    _rate(james, tom, closing, 5, "A clean close.", at=NOW - timedelta(days=2))

    html = _page(_client_for(app, tom), "/progress")
    feedback = html.split('id="feedback-heading"', 1)[1]
    assert feedback.index("A clean close.") < feedback.index("Anchor higher next time.")
    assert "<strong>5 of 5</strong> · Negotiation: Closing" in feedback
    assert (
        "James Master, " + (NOW - timedelta(days=2)).astimezone(tom.zone).strftime("%d %b %Y")
        in feedback
    )
    assert "<strong>2 of 5</strong> · Negotiation: Anchoring" in feedback


# Eligibility ----------------------------------------------------------------------------------


def _eligible_case(master, name, skill, minutes, ratings, start):
    person = make_apprentice(name)
    give_skill(person, skill, Stage.APPRENTICE, develops=True)
    _hours_for(master, person, skill, minutes, start)
    for rating in ratings:
        _rate(master, person, skill, rating)
    return person


def test_eligible_exactly_at_the_default_thresholds(app, negotiation):
    anchoring = negotiation.micro_skills[0]
    master = make_master("Amara Master")
    give_skill(master, anchoring, Stage.MASTER, hosts=True)
    start = NOW - timedelta(days=60)
    at_both = _eligible_case(master, "At Both", anchoring, 40 * 60, (3, 4), start)
    short_of_hours = _eligible_case(master, "Short Hours", anchoring, 40 * 60 - 30, (3, 4), start)
    short_of_rating = _eligible_case(
        master, "Short Rating", anchoring, 40 * 60, (3, 3, 4, 4, 3), start
    )

    rows = {
        person.name: services.apprentice_progress(person).skills[0]
        for person in (at_both, short_of_hours, short_of_rating)
    }
    assert (rows["At Both"].verified_hours, rows["At Both"].average_rating) == (40, 3.5)
    assert rows["At Both"].eligible and rows["At Both"].next_stage is Stage.JOURNEYMAN
    assert not rows["Short Hours"].hours_met and rows["Short Hours"].rating_met
    assert not rows["Short Hours"].eligible
    assert rows["Short Rating"].hours_met and not rows["Short Rating"].rating_met
    assert not rows["Short Rating"].eligible

    html = _page(_client_for(app, at_both), "/progress")
    assert "40 of 40" in html and "3.50 from 2 ratings" in html and "needs 3.5" in html
    assert '<span class="badge eligible">Eligible</span>' in html
    html = _page(_client_for(app, short_of_hours), "/progress")
    assert "39.5 of 40" in html and "Not yet eligible" in html and "Eligible</span>" not in html

    # The master is offered exactly the one who is eligible.
    ready = [
        (row.person.name, row.micro_skill.id) for row in services.hosting_overview(master).ready
    ]
    assert ready == [("At Both", anchoring.id)]
    hosting = _page(_client_for(app, master), "/progress/hosting")
    assert "At Both: Negotiation: Anchoring" in hosting and "Short Hours:" not in hosting
    assert "Endorse as journeyman" in hosting


def test_a_master_is_offered_only_steps_they_may_endorse(app, negotiation):
    anchoring, closing = negotiation.micro_skills
    db.session.add_all(
        [
            StageThreshold(stage=Stage.JOURNEYMAN, verified_hours=1, average_rating=1),
            StageThreshold(stage=Stage.MASTER, verified_hours=1, average_rating=1),
        ]
    )
    db.session.commit()
    journeyman = make_master("Jo Journeyman")
    give_skill(journeyman, anchoring, Stage.JOURNEYMAN, hosts=True)
    give_skill(journeyman, closing, Stage.APPRENTICE)
    tom, priya, lena = (make_apprentice(name) for name in ("Tom", "Priya", "Lena"))
    give_skill(tom, anchoring, Stage.APPRENTICE, develops=True)  # to journeyman: allowed
    give_skill(priya, anchoring, Stage.JOURNEYMAN, develops=True)  # to master: too high
    give_skill(lena, closing, Stage.APPRENTICE, develops=True)  # the master is an apprentice too
    for index, person in enumerate((tom, priya, lena)):
        skill = closing if person is lena else anchoring
        _observe(journeyman, person, NOW - timedelta(days=10 + index), 120, skill)
        _rate(journeyman, person, skill, 4)

    ready = [
        (row.person.name, row.next_stage) for row in services.hosting_overview(journeyman).ready
    ]
    assert ready == [("Tom", Stage.JOURNEYMAN)]


# Endorsing ------------------------------------------------------------------------------------


@pytest.fixture
def ready_apprentice(negotiation):
    """A master of anchoring and an apprentice of theirs exactly eligible for journeyman."""
    anchoring = negotiation.micro_skills[0]
    master = make_master("Amara Master")
    give_skill(master, anchoring, Stage.MASTER, hosts=True)
    tom = _eligible_case(
        master, "Tom Apprentice", anchoring, 40 * 60, (3, 4), NOW - timedelta(days=60)
    )
    return master, tom, anchoring


def test_endorsing_moves_the_stage_logs_it_and_tells_the_apprentice(app, ready_apprentice):
    master, tom, anchoring = ready_apprentice
    client = _client_for(app, master)

    response = client.post(
        "/progress/endorse",
        data={
            "person_id": tom.id,
            "micro_skill_id": anchoring.id,
            "note": "Ready to anchor alone.",
        },
    )

    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/progress/hosting"
    )
    assert "You endorsed Tom Apprentice as a journeyman" in _page(client, "/progress/hosting")
    assert _stage(tom, anchoring) is Stage.JOURNEYMAN
    endorsement = db.session.scalar(select(Endorsement))
    assert (endorsement.person_id, endorsement.micro_skill_id, endorsement.endorsed_by_id) == (
        tom.id,
        anchoring.id,
        master.id,
    )
    assert (endorsement.from_stage, endorsement.to_stage) == (Stage.APPRENTICE, Stage.JOURNEYMAN)
    assert (endorsement.verified_hours, endorsement.average_rating) == (40, 3.5)
    assert endorsement.note == "Ready to anchor alone."
    changes = {record.subject: record for record in db.session.scalars(select(ChangeRecord))}
    assert set(changes) == {"endorsement", "person_skill"}
    assert changes["endorsement"].subject_id == endorsement.id
    assert changes["person_skill"].subject_id == tom.id
    assert changes["person_skill"].before == f"{anchoring.key}: apprentice (self-declared)"
    assert changes["person_skill"].after == f"{anchoring.key}: journeyman (endorsed)"
    held = db.session.get(PersonSkill, (tom.id, anchoring.id))
    assert (held.stage_source, held.stage_set_by_id) == (StageSource.ENDORSED, master.id)
    assert {record.actor_id for record in changes.values()} == {master.id}
    notice = db.session.scalar(select(Notification))
    assert notice.person_id == tom.id and "journeyman in Negotiation: Anchoring" in notice.text
    assert notice.link.endswith("/progress") and "Ready to anchor alone." in notice.mail_body

    # Now a journeyman, Tom sees the endorsement and the next step, to master.
    html = _page(_client_for(app, tom), "/progress")
    assert "Journeyman, endorsed by Amara Master" in html and "Ready to anchor alone." in html
    assert "of 120" in html and "needs 4.2" in html
    # And the master is no longer offered the step.
    assert services.hosting_overview(master).ready == []


def test_endorsing_twice_moves_one_stage_only(app, ready_apprentice):
    master, tom, anchoring = ready_apprentice
    client = _client_for(app, master)
    for _ in range(2):
        client.post("/progress/endorse", data={"person_id": tom.id, "micro_skill_id": anchoring.id})
    assert _stage(tom, anchoring) is Stage.JOURNEYMAN
    assert count(Endorsement) == 1


def _refusal(app, master, person, skill) -> str:
    """Post an endorsement that must be refused; check nothing changed; return the message."""
    before, stage = _counts(), _stage(person, skill)
    client = _client_for(app, master)
    response = client.post(
        "/progress/endorse", data={"person_id": person.id, "micro_skill_id": skill.id}
    )
    assert response.status_code == 302
    assert _counts() == before and _stage(person, skill) is stage
    return _page(client, "/progress/hosting")


def test_no_endorsement_short_of_the_threshold(app, ready_apprentice):
    master, tom, anchoring = ready_apprentice
    db.session.add(StageThreshold(stage=Stage.JOURNEYMAN, verified_hours=40.5, average_rating=3.5))
    db.session.commit()
    html = _refusal(app, master, tom, anchoring)
    assert "Tom Apprentice is not yet eligible for journeyman" in html
    assert "it takes 40.5 verified hours (they have 40.0)" in html


def test_no_endorsement_above_the_masters_own_stage(app, ready_apprentice):
    master, tom, anchoring = ready_apprentice
    held = db.session.get(PersonSkill, (master.id, anchoring.id))
    held.stage = Stage.APPRENTICE
    db.session.commit()
    html = _refusal(app, master, tom, anchoring)
    assert "you must be at least a journeyman in it yourself" in html


def test_no_endorsement_in_a_skill_the_master_does_not_hold(app, ready_apprentice):
    master, tom, anchoring = ready_apprentice
    db.session.delete(db.session.get(PersonSkill, (master.id, anchoring.id)))
    db.session.commit()
    assert "you must be at least a journeyman in it yourself" in _refusal(
        app, master, tom, anchoring
    )


def test_a_journeyman_cannot_endorse_a_step_to_master(app, negotiation):
    anchoring = negotiation.micro_skills[0]
    db.session.add(StageThreshold(stage=Stage.MASTER, verified_hours=1, average_rating=1))
    db.session.commit()
    journeyman = make_master("Jo Journeyman")
    give_skill(journeyman, anchoring, Stage.JOURNEYMAN, hosts=True)
    priya = make_apprentice("Priya")
    give_skill(priya, anchoring, Stage.JOURNEYMAN, develops=True)
    _observe(journeyman, priya, NOW - timedelta(days=3), 120, anchoring)
    _rate(journeyman, priya, anchoring, 5)
    assert services.apprentice_progress(priya).skills[0].eligible
    assert "you must be at least a master in it yourself" in _refusal(
        app, journeyman, priya, anchoring
    )


def test_no_endorsement_of_oneself_or_of_a_stranger(app, ready_apprentice):
    master, tom, anchoring = ready_apprentice
    closing = anchoring.area.micro_skills[1]
    give_skill(master, closing, Stage.APPRENTICE)
    assert "You cannot endorse yourself." in _refusal(app, master, master, closing)
    # Another master of anchoring, who never hosted or rated Tom, may not endorse him.
    stranger = make_master("Stranger Master")
    give_skill(stranger, anchoring, Stage.MASTER, hosts=True)
    assert services.hosting_overview(stranger).ready == []
    assert "only apprentices who have observed you or whose practice you rated" in _refusal(
        app, stranger, tom, anchoring
    )


def test_only_masters_see_hosting_and_endorse(app, ready_apprentice, client):
    master, tom, anchoring = ready_apprentice
    assert client.get("/progress/hosting").status_code == 302  # to log in
    assert _client_for(app, master).get("/progress/hosting").status_code == 200
    apprentice_client = _client_for(app, tom)
    assert apprentice_client.get("/progress/hosting").status_code == 403
    before = _counts()
    response = apprentice_client.post(
        "/progress/endorse", data={"person_id": tom.id, "micro_skill_id": anchoring.id}
    )
    assert response.status_code == 403
    assert _counts() == before and _stage(tom, anchoring) is Stage.APPRENTICE


# Thresholds -----------------------------------------------------------------------------------

VALID = {
    "journeyman_hours": "30",
    "journeyman_rating": "3",
    "master_hours": "100.5",
    "master_rating": "4.5",
}


def test_thresholds_show_the_defaults_and_only_admins_may_change_them(app):
    admin, master = make_admin("Morgan Admin"), make_master()
    html = _page(_client_for(app, admin), "/admin/stages")
    for name, value in (
        ("journeyman_hours", "40.0"),
        ("journeyman_rating", "3.5"),
        ("master_hours", "120.0"),
        ("master_rating", "4.2"),
    ):
        assert re.search(rf'name="{name}"[^>]*value="{re.escape(value)}"', html), name
    master_client = _client_for(app, master)
    assert master_client.get("/admin/stages").status_code == 403
    assert master_client.post("/admin/stages", data=VALID).status_code == 403
    assert _counts() == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("journeyman_hours", "-1", "Enter from 0 to 10000 hours."),
        ("master_hours", "10000.5", "Enter from 0 to 10000 hours."),
        ("journeyman_rating", "0.9", "Enter an average rating from 1 to 5."),
        ("master_rating", "5.1", "Enter an average rating from 1 to 5."),
        ("master_rating", "nan", "Enter a number, such as 40 or 3.5."),
        ("journeyman_hours", "forty", "Enter a number, such as 40 or 3.5."),
        ("journeyman_hours", "", "Enter the hours."),
    ],
)
def test_thresholds_are_validated(app, field, value, message):
    client = _client_for(app, make_admin())
    response = client.post("/admin/stages", data={**VALID, field: value})
    assert response.status_code == 200
    assert message in unescape(response.get_data(as_text=True))
    assert _counts() == (0, 0, 0, 0)


def test_thresholds_save_log_and_apply(app, negotiation):
    anchoring = negotiation.micro_skills[0]
    admin = make_admin("Morgan Admin")
    master = make_master()
    tom = make_apprentice()
    give_skill(tom, anchoring, develops=True)
    _hours_for(master, tom, anchoring, 30 * 60, NOW - timedelta(days=40))
    _rate(master, tom, anchoring, 3)
    assert not services.apprentice_progress(tom).skills[0].eligible
    client = _client_for(app, admin)

    response = client.post("/admin/stages", data=VALID)

    assert response.status_code == 302
    assert thresholds.stage_thresholds() == {
        Stage.JOURNEYMAN: thresholds.Threshold(30, 3),
        Stage.MASTER: thresholds.Threshold(100.5, 4.5),
    }
    records = {
        record.before: record
        for record in db.session.scalars(
            select(ChangeRecord).where(ChangeRecord.subject == "stage_threshold")
        )
    }
    assert set(records) == {"journeyman: 40 h, average 3.5", "master: 120 h, average 4.2"}
    assert records["journeyman: 40 h, average 3.5"].after == "journeyman: 30 h, average 3"
    assert records["master: 120 h, average 4.2"].after == "master: 100.5 h, average 4.5"
    assert {record.actor_id for record in records.values()} == {admin.id}
    assert services.apprentice_progress(tom).skills[0].eligible
    # Saving the same figures again changes and logs nothing.
    client.post("/admin/stages", data=VALID)
    assert "Nothing changed." in _page(client, "/admin/stages")
    assert count(ChangeRecord) == 2


# Privacy --------------------------------------------------------------------------------------


def test_each_page_shows_only_the_signed_in_persons_own_data(app, negotiation):
    anchoring, closing = negotiation.micro_skills
    amara, james = make_master("Amara Master"), make_master("James Master")
    give_skill(amara, anchoring, Stage.MASTER, hosts=True)
    give_skill(james, closing, Stage.MASTER, hosts=True)
    tom, priya = make_apprentice("Tom Apprentice"), make_apprentice("Priya Apprentice")
    give_skill(tom, anchoring, develops=True)
    give_skill(priya, closing, develops=True)
    _observe(amara, tom, NOW - timedelta(days=20), 120, anchoring)
    _observe(james, priya, NOW - timedelta(days=21), 300, closing, hours=5)
    _rate(amara, tom, anchoring, 4, "Tom's private note.")
    _rate(james, priya, closing, 2, "Priya's private note.")

    tom_page = _page(_client_for(app, tom), f"/progress?person_id={priya.id}")
    assert "Tom's private note." in tom_page and "Amara Master" in tom_page
    for other in ("Priya", "James Master", "Negotiation: Closing", ">5</td>"):
        assert other not in tom_page, other

    amara_page = _page(_client_for(app, amara), f"/progress/hosting?master_id={james.id}")
    assert "Tom Apprentice" in amara_page and "Tom's private note." in amara_page
    for other in ("Priya", "James Master", "Negotiation: Closing"):
        assert other not in amara_page, other


# In a browser ---------------------------------------------------------------------------------


@pytest.mark.browser
def test_progress_pages_are_accessible_and_fit_a_phone(
    app, chromium, live_server, ready_apprentice
):
    master, tom, anchoring = ready_apprentice
    admin = make_admin("Morgan Admin")
    _rate(master, tom, anchoring, 5, "Firm and calm.")
    problems = []
    for viewport in ({"width": 1280, "height": 900}, PHONE):
        for person, paths in (
            (tom, ["/progress"]),
            (master, ["/progress", "/progress/hosting"]),
            (admin, ["/admin/stages"]),
        ):
            context = chromium.new_context(viewport=viewport)
            page = context.new_page()
            page.set_default_timeout(10_000)
            page.goto(live_server + "/login")
            page.get_by_label("Email").fill(person.email)
            page.get_by_label("Password").fill(DEFAULT_PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(lambda url: "/login" not in url)
            for path in paths:
                response = page.goto(live_server + path)
                if response.status != 200:
                    problems.append(f"{path}: HTTP {response.status}")
                    continue
                if viewport is PHONE and overflows_sideways(page):
                    problems.append(f"{path}: scrolls sideways at phone width")
                problems += [f"{path}: {fault}" for fault in serious_accessibility_faults(page)]
            context.close()
    assert problems == [], "\n".join(problems)
    # The chart's figures open from their summary, with no script needed.
    context = chromium.new_context()
    page = context.new_page()
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill(tom.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(live_server + "/progress")
    assert page.get_by_role("img", name="Verified hours by micro skill").is_visible()
    page.get_by_text("Verified hours by micro skill as a table").click()
    assert page.get_by_role("cell", name="40").first.is_visible()
    context.close()
