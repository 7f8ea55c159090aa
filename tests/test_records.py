"""Mastery records: what a record states, its public page and JSON, verification, revocation."""

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mentor_match.extensions import db
from mentor_match.models import (
    Attendance,
    ChangeRecord,
    Endorsement,
    Feedback,
    FeedbackKind,
    MasteryRecord,
    SessionMode,
    SessionObserver,
    ShadowingSession,
    Stage,
    StageSource,
)
from mentor_match.records import services
from mentor_match.records.services import RecordStatus

from .database import count
from .factories import (
    give_skill,
    make_admin,
    make_apprentice,
    make_area,
    make_master,
    make_person,
    make_site,
)

PRIVATE_NOTE = "Private: your anchoring was timid"
ENDORSEMENT_NOTE = "Private endorsement remark"
STYLESHEET = Path(__file__).resolve().parents[1] / "static" / "style.css"


def _observed(master, apprentice, skill, starts_at, minutes=None, hours=2, confirmed_by=None):
    """A session of the master's with the apprentice's seat and, given minutes, its attendance."""
    ends_at = starts_at + timedelta(hours=hours)
    session = ShadowingSession(
        master_id=master.id,
        starts_at=starts_at,
        ends_at=ends_at,
        mode=SessionMode.IN_PERSON,
        seats=2,
        micro_skill_id=skill.id if skill else None,
    )
    seat = SessionObserver(apprentice_id=apprentice.id, starts_at=starts_at, ends_at=ends_at)
    session.observers.append(seat)
    db.session.add(session)
    db.session.flush()
    if minutes is not None:
        db.session.add(
            Attendance(
                seat_id=seat.id, minutes=minutes, confirmed_by_id=(confirmed_by or master).id
            )
        )
    db.session.commit()
    return seat


def _practice_feedback(master, apprentice, skill, rating, note=PRIVATE_NOTE):
    db.session.add(
        Feedback(
            kind=FeedbackKind.PRACTICE,
            giver_id=master.id,
            receiver_id=apprentice.id,
            micro_skill_id=skill.id,
            rating=rating,
            note=note,
        )
    )
    db.session.commit()


@pytest.fixture
def journey():
    """Tom observed Amara (2 h, anchoring) and Ben (1.5 h, listening), amid rows not counted.

    Amara endorsed him journeyman in anchoring; he calls himself a master in closing.
    """
    site = make_site("Records HQ")
    area = make_area("Negotiation", skills=("Anchoring", "Active listening", "Closing"))
    listening, anchoring, closing = area.micro_skills  # ordered by name
    tom = make_apprentice("Tom Apprentice", site=site)
    other = make_apprentice("Priya Apprentice", site=site)
    amara = make_master("Amara Master", site=site)
    ben = make_master("Ben Master", site=site)
    endorsed = give_skill(tom, anchoring, Stage.JOURNEYMAN, source=StageSource.ENDORSED)
    endorsed.stage_set_by_id = amara.id
    endorsed.stage_set_at = datetime(2026, 3, 20, 12, tzinfo=UTC)
    give_skill(tom, listening, Stage.APPRENTICE, develops=True)  # his own word, and no claim
    give_skill(tom, closing, Stage.MASTER)  # his own word
    day = datetime(2026, 3, 2, 9, tzinfo=UTC)

    _observed(amara, tom, anchoring, day, minutes=120)
    _observed(ben, tom, listening, day + timedelta(days=1), minutes=90, hours=1.5)
    _observed(amara, tom, anchoring, day + timedelta(days=2), minutes=0)  # absent: no hours
    _observed(ben, tom, anchoring, day + timedelta(days=3))  # not yet confirmed: no hours
    _observed(amara, other, anchoring, day + timedelta(days=4), minutes=120)  # someone else's

    _practice_feedback(amara, tom, anchoring, 4)
    _practice_feedback(ben, tom, anchoring, 5, note="Private: much firmer this time")
    _practice_feedback(amara, other, anchoring, 1)
    # A session rating Tom gave is about the master, not about Tom's practice.
    db.session.add(
        Feedback(
            kind=FeedbackKind.SESSION,
            giver_id=tom.id,
            receiver_id=amara.id,
            micro_skill_id=anchoring.id,
            rating=2,
            note="Private: too fast",
        )
    )
    db.session.add(
        Endorsement(
            person_id=tom.id,
            micro_skill_id=anchoring.id,
            from_stage=Stage.APPRENTICE,
            to_stage=Stage.JOURNEYMAN,
            endorsed_by_id=amara.id,
            verified_hours=2.0,
            average_rating=4.5,
            note=ENDORSEMENT_NOTE,
            created_at=datetime(2026, 3, 20, 12, tzinfo=UTC),
        )
    )
    db.session.commit()
    return {
        "tom": tom,
        "other": other,
        "amara": amara,
        "ben": ben,
        "anchoring": anchoring,
        "listening": listening,
        "closing": closing,
    }


def _changes(record, action):
    return db.session.scalars(
        select(ChangeRecord).where(
            ChangeRecord.subject == "mastery_record",
            ChangeRecord.subject_id == record.id,
            ChangeRecord.action == action,
        )
    ).all()


# What a record states --------------------------------------------------------------------


def test_content_states_verified_hours_masters_endorsements_and_feedback(journey):
    record = services.publish_record(journey["tom"])
    content = json.loads(record.content_json)

    assert content["version"] == "mentor-match/mastery-record@3"
    assert content["code"] == record.code
    assert content["person"] == {"name": "Tom Apprentice"}
    assert content["issued_at"] == record.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    # A stage is stated only when verified, with where it comes from; his own word stands apart.
    assert content["micro_skills"] == [
        {
            "micro_skill": "Negotiation: Active listening",
            "verified_stage": None,
            "verified_hours": 1.5,
            "practice_feedback": {"count": 0, "average_rating": None},
        },
        {
            "micro_skill": "Negotiation: Anchoring",
            "verified_stage": {
                "stage": "journeyman",
                "source": "endorsed",
                "by": "Amara Master",
                "at": "2026-03-20T12:00:00Z",
            },
            "verified_hours": 2.0,
            "practice_feedback": {"count": 2, "average_rating": 4.5},
        },
    ]
    assert content["self_declared_stages"] == [
        {"micro_skill": "Negotiation: Closing", "stage": "master"},
    ]
    assert content["total_verified_hours"] == 3.5
    assert content["hours_without_micro_skill"] == 0.0
    assert content["masters_observed"] == [
        {"name": "Amara Master", "verified_hours": 2.0},
        {"name": "Ben Master", "verified_hours": 1.5},
    ]
    assert content["endorsements"] == [
        {
            "micro_skill": "Negotiation: Anchoring",
            "from_stage": "apprentice",
            "to_stage": "journeyman",
            "endorsed_by": "Amara Master",
            "endorsed_at": "2026-03-20T12:00:00Z",
        },
    ]


def test_content_leaves_out_every_private_note(journey):
    record = services.publish_record(journey["tom"])
    for note in (PRIVATE_NOTE, "much firmer", "too fast", ENDORSEMENT_NOTE, "Private"):
        assert note not in record.content_json
    assert "note" not in record.content_json


def test_content_is_canonical_json_signed_with_a_key_derived_from_the_secret_key(app, journey):
    import hashlib
    import hmac

    record = services.publish_record(journey["tom"])
    content = json.loads(record.content_json)
    assert record.content_json == json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    key = hmac.new(app.config["SECRET_KEY"].encode(), b"mastery-record", hashlib.sha256).digest()
    expected = hmac.new(key, record.content_json.encode(), hashlib.sha256).hexdigest()
    assert record.signature == expected


def test_codes_are_four_groups_of_five_crockford_characters_and_typed_loosely(journey):
    record = services.publish_record(journey["tom"])
    assert re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{5}-){3}[0-9A-HJKMNP-TV-Z]{5}", record.code)
    assert services.publish_record(journey["tom"]).code != record.code
    loose = " " + record.code.lower().replace("-", " ").replace("0", "o").replace("1", "l") + " "
    assert services.normalise_code(loose) == record.code
    assert services.normalise_code(record.code.replace("-", "")) == record.code
    assert services.normalise_code("ABCDE-ABCDE") is None
    assert services.normalise_code("UUUUU-UUUUU-UUUUU-UUUUU") is None  # U is not in the alphabet


def _set_stage(person, skill, stage, source, by=None, at=datetime(2026, 2, 1, 9, tzinfo=UTC)):
    held = give_skill(person, skill, stage, source=source)
    held.stage_set_by_id, held.stage_set_at = (by.id if by else None), at
    db.session.commit()
    return held


def test_each_source_of_a_verified_stage_is_stated_with_who_and_when(client):
    area = make_area("Facilitation", skills=("Framing", "Pacing", "Summarising", "Voice"))
    framing, pacing, summarising, voice = area.micro_skills
    ada, gone = make_admin("Ada Admin"), make_master("Gone Master")
    person = make_apprentice("Lena Learner")
    _set_stage(person, framing, Stage.MASTER, StageSource.ADMIN, by=ada)
    _set_stage(person, pacing, Stage.JOURNEYMAN, StageSource.IMPORTED)
    _set_stage(person, summarising, Stage.JOURNEYMAN, StageSource.ENDORSED, by=gone)
    _set_stage(person, voice, Stage.APPRENTICE, StageSource.ENDORSED, by=gone)
    db.session.delete(gone)  # an endorser who has since left
    db.session.commit()

    record = services.publish_record(person)
    stated = {
        skill["micro_skill"]: skill["verified_stage"]
        for skill in json.loads(record.content_json)["micro_skills"]
    }
    assert stated == {
        "Facilitation: Framing": {
            "stage": "master",
            "source": "admin",
            "by": "Ada Admin",
            "at": "2026-02-01T09:00:00Z",
        },
        "Facilitation: Pacing": {
            "stage": "journeyman",
            "source": "imported",
            "by": None,
            "at": "2026-02-01T09:00:00Z",
        },
        "Facilitation: Summarising": {
            "stage": "journeyman",
            "source": "endorsed",
            "by": None,
            "at": "2026-02-01T09:00:00Z",
        },
        "Facilitation: Voice": {
            "stage": "apprentice",
            "source": "endorsed",
            "by": None,
            "at": "2026-02-01T09:00:00Z",
        },
    }
    page = client.get(f"/r/{record.code}").get_data(as_text=True)
    for words in (
        "set by an admin (Ada Admin) on 2026-02-01",
        "imported by the organisation on 2026-02-01",
        "endorsed by a former member on 2026-02-01",
    ):
        assert words in page
    assert "self-declared" not in page.lower()


def test_self_declared_stages_stand_apart_and_never_under_the_word_verified(client, journey):
    record = services.publish_record(journey["tom"])
    document = client.get(f"/r/{record.code}.json").get_json()
    listed = [skill["micro_skill"] for skill in document["record"]["micro_skills"]]
    assert "Negotiation: Closing" not in listed
    assert document["record"]["self_declared_stages"] == [
        {"micro_skill": "Negotiation: Closing", "stage": "master"}
    ]

    page = client.get(f"/r/{record.code}").get_data(as_text=True)
    verified_part, _, declared_part = page.partition('<section class="self-declared"')
    assert "Verified by Mentor Match: authentic" in verified_part
    assert "Closing" not in verified_part
    declared = declared_part[: declared_part.index("</section>")]
    assert "Self-declared, not verified by the site" in declared
    assert "Negotiation: Closing: Master (self-declared)" in declared
    assert "authentic" not in declared.lower() and "Verified" not in declared
    # His own word of "apprentice" in listening claims nothing, and is not listed at all.
    assert "Apprentice (self-declared)" not in page


def test_a_record_of_only_self_declared_stages_certifies_no_stage(client):
    skill = make_area("Sales", skills=("Cold calls",)).micro_skills[0]
    person = make_person(name="Sam Newcomer")
    give_skill(person, skill, Stage.MASTER, hosts=True, source=StageSource.SELF_DECLARED)
    record = services.publish_record(person)
    content = json.loads(record.content_json)
    assert content["micro_skills"] == []
    assert content["self_declared_stages"] == [
        {"micro_skill": "Sales: Cold calls", "stage": "master"}
    ]
    page = client.get(f"/r/{record.code}").get_data(as_text=True)
    verified_part = page.partition('<section class="self-declared"')[0]
    assert "Cold calls" not in verified_part and "badge master" not in verified_part


def test_a_record_issued_before_stages_had_a_source_still_verifies(client, journey):
    """Version 1 records stay authentic (what was signed is what is kept), said with care."""
    v1 = {
        "version": "mentor-match/mastery-record@1",
        "code": services.new_code(),
        "issued_at": "2026-01-10T10:00:00Z",
        "issued_by": "Mentor Match",
        "person": {"name": "Tom Apprentice"},
        "micro_skills": [
            {
                "micro_skill": "Negotiation: Anchoring",
                "stage": "master",
                "verified_hours": 2.0,
                "practice_feedback": {"count": 0, "average_rating": None},
            }
        ],
        "hours_without_micro_skill": 0.0,
        "total_verified_hours": 2.0,
        "masters_observed": [{"name": "Amara Master", "verified_hours": 2.0}],
        "endorsements": [],
    }
    content_json = services.canonical_json(v1)
    record = MasteryRecord(
        person_id=journey["tom"].id,
        code=v1["code"],
        content_json=content_json,
        signature=services.sign(content_json),
        created_at=datetime(2026, 1, 10, 10, tzinfo=UTC),
    )
    db.session.add(record)
    db.session.commit()

    assert services.verify(record.code).status is RecordStatus.AUTHENTIC
    downloaded = client.get(f"/r/{record.code}.json").get_data(as_text=True)
    assert services.verify(record.code, downloaded).status is RecordStatus.AUTHENTIC
    page = client.get(f"/r/{record.code}").get_data(as_text=True)
    assert "Verified by Mentor Match: authentic" in page and "Master" in page
    assert ">Stage</th>" in page and "Verified stage" not in page
    assert "its stages may be the person's own word" in page


# Public page and JSON --------------------------------------------------------------------


def test_public_page_shows_the_record_without_logging_in(client, journey):
    record = services.publish_record(journey["tom"])
    response = client.get(f"/r/{record.code}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Verified by Mentor Match: authentic" in page
    assert "issued " + record.created_at.strftime("%d %B %Y") in page
    assert record.code in page
    for shown in (
        "Tom Apprentice",
        "Negotiation: Anchoring",
        "Amara Master",
        "Ben Master",
        "Journeyman",
        "endorsed by Amara Master on 2026-03-20",
        "4.5",
        "3.5",
    ):
        assert shown in page
    assert PRIVATE_NOTE not in page and ENDORSEMENT_NOTE not in page
    assert f"/r/{record.code}.json" in page
    assert "Print" in page and "A4" in page
    assert response.headers["X-Robots-Tag"] == "noindex"


def test_public_page_accepts_a_loosely_typed_code_and_hides_unknown_ones(client, journey):
    record = services.publish_record(journey["tom"])
    response = client.get(f"/r/{record.code.lower()}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/r/{record.code}")
    assert client.get("/r/" + services.new_code()).status_code == 404
    assert client.get("/r/not-a-code").status_code == 404
    assert client.get("/r/" + services.new_code() + ".json").status_code == 404


def test_json_download_carries_the_signed_content_signature_and_code(client, journey):
    record = services.publish_record(journey["tom"])
    response = client.get(f"/r/{record.code}.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="mastery-record-{record.code}.json"'
    )
    document = response.get_json()
    assert document["record"] == json.loads(record.content_json)
    assert document["signature"] == record.signature
    assert document["code"] == record.code
    assert document["signature_algorithm"] == "HMAC-SHA256"
    assert PRIVATE_NOTE not in response.get_data(as_text=True)


# Verification ----------------------------------------------------------------------------


def test_an_untouched_record_verifies_as_authentic(client, journey):
    record = services.publish_record(journey["tom"])
    assert services.verify(record.code).status is RecordStatus.AUTHENTIC

    typed = record.code.lower().replace("-", " ")
    page = client.post("/verify", data={"code": typed}).get_data(as_text=True)
    assert "Authentic" in page and record.code in page


def test_a_downloaded_document_pasted_back_verifies_as_authentic(client, journey):
    record = services.publish_record(journey["tom"])
    downloaded = client.get(f"/r/{record.code}.json").get_data(as_text=True)
    assert services.verify(record.code, downloaded).status is RecordStatus.AUTHENTIC
    # The bare signed content and a document without a typed code work too.
    assert services.verify(record.code, record.content_json).status is RecordStatus.AUTHENTIC
    page = client.post("/verify", data={"code": "", "document": downloaded}).get_data(as_text=True)
    assert "Authentic" in page


def test_content_tampered_in_the_database_verifies_as_altered(client, journey):
    record = services.publish_record(journey["tom"])
    record.content_json = record.content_json.replace(
        '"total_verified_hours":3.5', '"total_verified_hours":35.0'
    )
    db.session.commit()

    verification = services.verify(record.code)
    assert verification.status is RecordStatus.ALTERED
    page = client.get(f"/r/{record.code}").get_data(as_text=True)
    assert "altered" in page and "Verified by Mentor Match: authentic" not in page
    assert "35.0" not in page


def test_a_pasted_document_one_character_off_verifies_as_altered(client, journey):
    record = services.publish_record(journey["tom"])
    downloaded = client.get(f"/r/{record.code}.json").get_data(as_text=True)
    one_off = downloaded.replace("Tom Apprentice", "Tim Apprentice")
    assert len(one_off) == len(downloaded) and one_off != downloaded

    verification = services.verify(record.code, one_off)
    assert verification.status is RecordStatus.ALTERED
    page = client.post("/verify", data={"code": record.code, "document": one_off}).get_data(
        as_text=True
    )
    assert "Altered" in page and "Authentic" not in page

    bare_one_off = record.content_json.replace('"verified_hours":2.0', '"verified_hours":3.0', 1)
    assert services.verify(record.code, bare_one_off).status is RecordStatus.ALTERED


def test_a_pasted_document_with_a_forged_signature_or_another_code_is_altered(client, journey):
    record = services.publish_record(journey["tom"])
    other = services.publish_record(journey["other"])
    document = client.get(f"/r/{record.code}.json").get_json()
    forged = json.dumps({**document, "signature": "0" * 64})
    assert services.verify(record.code, forged).status is RecordStatus.ALTERED
    assert services.verify(other.code, json.dumps(document)).status is RecordStatus.ALTERED


def test_a_new_secret_key_makes_old_records_fail_verification(app, journey):
    record = services.publish_record(journey["tom"])
    previous = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "a-rotated-secret"
    try:
        assert services.verify(record.code).status is RecordStatus.ALTERED
    finally:
        app.config["SECRET_KEY"] = previous
    assert services.verify(record.code).status is RecordStatus.AUTHENTIC


def test_a_random_code_is_unknown(client, journey):
    services.publish_record(journey["tom"])
    assert services.verify(services.new_code()).status is RecordStatus.UNKNOWN
    page = client.post("/verify", data={"code": services.new_code()}).get_data(as_text=True)
    assert "Unknown" in page and "No mastery record has this code" in page


def test_the_check_page_explains_malformed_input(client):
    assert client.get("/verify").status_code == 200
    page = client.post("/verify", data={"code": "ABC"}).get_data(as_text=True)
    assert "20 letters and digits" in page
    page = client.post("/verify", data={"code": "", "document": ""}).get_data(as_text=True)
    assert "Enter the verification code" in page
    page = client.post(
        "/verify", data={"code": services.new_code(), "document": "{not json"}
    ).get_data(as_text=True)
    assert "not a JSON document" in page
    page = client.post(
        "/verify", data={"code": services.new_code(), "document": '{"a": 1}'}
    ).get_data(as_text=True)
    assert "not a mastery record" in page


# Revocation and ownership ----------------------------------------------------------------


def test_after_revoking_the_record_says_revoked_everywhere(client, login, journey):
    record = services.publish_record(journey["tom"])
    login(journey["tom"])
    response = client.post(f"/records/{record.id}/revoke")
    assert response.status_code == 302
    db.session.refresh(record)
    assert record.revoked_at is not None

    verification = services.verify(record.code)
    assert verification.status is RecordStatus.REVOKED
    client.post("/logout")
    page = client.get(f"/r/{record.code}").get_data(as_text=True)
    assert "REVOKED on " + record.revoked_at.strftime("%d %B %Y") in page
    assert "Verified by Mentor Match: authentic" not in page
    assert "Amara Master" not in page  # a withdrawn record no longer shows its content
    assert client.get(f"/r/{record.code}.json").status_code == 410
    assert "Revoked" in client.post("/verify", data={"code": record.code}).get_data(as_text=True)


def test_only_the_owner_can_revoke(client, login, journey):
    record = services.publish_record(journey["tom"])
    changes_before = count(ChangeRecord)

    anonymous = client.post(f"/records/{record.id}/revoke")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    login(journey["other"])
    assert client.post(f"/records/{record.id}/revoke").status_code == 404
    assert client.post("/records/999999/revoke").status_code == 404

    db.session.expire_all()
    assert db.session.get(MasteryRecord, record.id).revoked_at is None
    assert count(ChangeRecord) == changes_before
    assert services.verify(record.code).status is RecordStatus.AUTHENTIC
    with pytest.raises(services.NotOwner):
        services.revoke(journey["other"], record)


def test_publishing_and_revoking_are_kept_in_the_change_log(journey):
    tom = journey["tom"]
    record = services.publish_record(tom)
    [published] = _changes(record, "published")
    assert published.actor_id == tom.id and published.after == record.code

    assert services.revoke(tom, record) is True
    [revoked] = _changes(record, "revoked")
    assert revoked.actor_id == tom.id and (revoked.before, revoked.after) == ("active", "revoked")
    # Revoking twice changes nothing more.
    assert services.revoke(tom, record) is False
    assert len(_changes(record, "revoked")) == 1


def test_my_records_page_publishes_and_lists_records(client, login, journey):
    login(journey["tom"])
    assert "not published a record yet" in client.get("/records").get_data(as_text=True)
    response = client.post("/records")
    assert response.status_code == 302
    [record] = db.session.scalars(select(MasteryRecord)).all()
    assert record.person_id == journey["tom"].id
    page = client.get("/records").get_data(as_text=True)
    assert record.code in page and "Active" in page and f"/records/{record.id}/revoke" in page

    services.revoke(journey["tom"], record)
    page = client.get("/records").get_data(as_text=True)
    assert "Revoked" in page and f"/records/{record.id}/revoke" not in page


def test_my_records_page_says_which_stages_a_record_certifies(client, login, journey):
    login(journey["tom"])
    page = client.get("/records").get_data(as_text=True)
    verified_part, _, declared_part = page.partition('class="self-declared"')
    assert (
        "Negotiation: Anchoring: Journeyman, endorsed by Amara Master on 2026-03-20"
        in verified_part
    )
    assert "Closing" not in verified_part
    assert "Self-declared, not verified by the site." in declared_part
    assert "Negotiation: Closing: Master (self-declared)" in declared_part


def test_my_records_page_needs_a_login(client):
    response = client.get("/records")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post("/records").status_code == 302
    assert count(MasteryRecord) == 0


# Print -----------------------------------------------------------------------------------


def test_the_stylesheet_lays_records_out_for_one_a4_page():
    css = STYLESHEET.read_text()
    records_css = css[css.index("/* Mastery records */") :]
    assert "@page { size: A4; margin: 15mm; }" in records_css
    print_block = records_css[records_css.index("@media print") :]
    assert ".site-header" in print_block and ".site-footer" in print_block
    assert "display: none" in print_block


def test_the_check_page_s_example_code_has_the_shape_of_a_real_code(client):
    page = client.get("/verify").get_data(as_text=True)
    assert "As printed on the record, e.g. 7K3QX-M9D2P-4TZ8W-HN6CA. " in page
    example, real = services.EXAMPLE_CODE, services.new_code()
    assert [len(group) for group in example.split("-")] == [5, 5, 5, 5]
    assert [len(group) for group in real.split("-")] == [5, 5, 5, 5]
    assert services.normalise_code(example) == example
