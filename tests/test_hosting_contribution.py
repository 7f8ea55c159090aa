"""A master's contribution: host-verified hours hosted and apprentices hosted, on the hosting
page and on the mastery record (version 3); records of version 2 still verify."""

import json
from datetime import UTC, datetime

from mentor_match.extensions import db
from mentor_match.models import MasteryRecord
from mentor_match.progress.services import hosting_contribution
from mentor_match.records import services
from mentor_match.records.content import RECORD_VERSION
from mentor_match.records.credential import credential_for
from mentor_match.records.services import RecordStatus

from .factories import make_apprentice, make_master
from .learning_time import observed, seat_in, session_of, set_organisation_allowance


def _hosted(amara):
    tom, uma = make_apprentice("Tom"), make_apprentice("Uma")
    # Two observers in one 3-hour session count its hours once; one absent seat counts nothing.
    shared = session_of(amara, datetime(2026, 9, 10, 9, tzinfo=UTC), 3)
    seat_in(shared, tom, minutes=180)
    seat_in(shared, uma, minutes=120)
    observed(amara, tom, datetime(2026, 10, 1, 9, tzinfo=UTC), hours=2)
    absent = session_of(amara, datetime(2026, 10, 2, 9, tzinfo=UTC), 4)
    seat_in(absent, make_apprentice("Vic"), minutes=0)


def test_the_contribution_counts_hosted_hours_once_and_distinct_apprentices():
    amara = make_master("Amara")
    _hosted(amara)
    contribution = hosting_contribution(amara)
    assert (contribution.hours, contribution.apprentices) == (5.0, 2)
    assert contribution.line == "hosted 5 h, 2 apprentices"


def test_the_hosting_page_shows_the_contribution_and_this_months_figure(login, client):
    amara = make_master("Amara")
    _hosted(amara)
    set_organisation_allowance(hosting=8)
    login(amara)
    page = client.get("/progress/hosting").get_data(as_text=True)
    assert "You hosted 5 h, 2 apprentices." in page
    assert "of the 8 h of hosting time you are granted" in page


def test_the_record_states_the_hosting_and_its_credential_says_it(client):
    amara = make_master("Amara")
    _hosted(amara)
    record = services.publish_record(amara)
    content = json.loads(record.content_json)
    assert content["version"] == RECORD_VERSION == "mentor-match/mastery-record@3"
    assert content["hosting"] == {"verified_hours": 5.0, "apprentices": 2}
    assert services.verify(record.code).status is RecordStatus.AUTHENTIC
    narrative = json.dumps(credential_for(record))
    assert "hosted 5 h, 2 apprentices (host-verified)" in narrative
    page = client.get(f"/r/{record.code}").get_data(as_text=True)
    assert "Hosted as a master" in page and "5 h, 2 apprentices" in page


def test_an_apprentices_record_states_no_hosting_line():
    tom = make_apprentice("Tom")
    content = json.loads(services.publish_record(tom).content_json)
    assert content["hosting"] == {"verified_hours": 0.0, "apprentices": 0}
    assert "Hosted as a master" not in json.dumps(credential_for(services.publish_record(tom)))


def test_a_version_2_record_still_verifies_and_shows_its_verified_stages(client):
    tom = make_apprentice("Tom")
    v2 = {
        "version": "mentor-match/mastery-record@2",
        "code": services.new_code(),
        "issued_at": "2026-06-10T10:00:00Z",
        "issued_by": "Mentor Match",
        "person": {"name": "Tom"},
        "micro_skills": [
            {
                "micro_skill": "Negotiation: Anchoring",
                "verified_stage": {
                    "stage": "journeyman",
                    "source": "admin",
                    "by": "Morgan",
                    "at": "2026-06-01T10:00:00Z",
                },
                "verified_hours": 2.0,
                "practice_feedback": {"count": 0, "average_rating": None},
            }
        ],
        "self_declared_stages": [],
        "hours_without_micro_skill": 0.0,
        "total_verified_hours": 2.0,
        "masters_observed": [{"name": "Amara", "verified_hours": 2.0}],
        "endorsements": [],
    }
    content_json = services.canonical_json(v2)
    record = MasteryRecord(
        person_id=tom.id,
        code=v2["code"],
        content_json=content_json,
        signature=services.sign(content_json),
        created_at=datetime(2026, 6, 10, 10, tzinfo=UTC),
    )
    db.session.add(record)
    db.session.commit()
    assert services.verify(record.code).status is RecordStatus.AUTHENTIC
    downloaded = client.get(f"/r/{record.code}.json").get_data(as_text=True)
    assert services.verify(record.code, downloaded).status is RecordStatus.AUTHENTIC
    page = client.get(f"/r/{record.code}").get_data(as_text=True)
    assert "Verified stages" in page and "Hosted as a master" not in page
