"""Stages an import gives: self-declared unless the admin trusts the file, logged, never undoing
an endorsement."""

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mentor_match.errors import Refusal
from mentor_match.extensions import db
from mentor_match.imports import services
from mentor_match.models import ChangeRecord, Person, PersonSkill, Stage, StageSource
from mentor_match.rounds.queue import wait_for_background_jobs

from .database import count
from .factories import give_skill, make_master
from .test_imports import GOOD, _page, _token

pytestmark = pytest.mark.usefixtures("imports_folder")

TODAY_NOTE = 'Imported from the file "people.csv" on {day}'


def _text(response) -> str:
    """The page's words without tags, so a sentence with a <strong> part reads whole."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", _page(response)))


def _preview(client, text, filename="people.csv"):
    response = client.post(
        "/admin/import",
        data={"people": (io.BytesIO(text.encode()), filename)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    return response


def _confirm(client, preview, *, trust: bool):
    data = {"token": _token(preview)}
    if trust:
        data["trust_stages"] = "y"
    response = client.post("/admin/import/confirm", data=data, follow_redirects=True)
    wait_for_background_jobs()
    return _page(response)


def _person(email: str) -> Person:
    return db.session.scalar(select(Person).where(Person.email == email))


def _held(email: str) -> dict[str, PersonSkill]:
    db.session.expire_all()
    return {held.micro_skill.key: held for held in _person(email).skills}


def _stage_log() -> list[tuple[int, int | None, str, str]]:
    rows = db.session.scalars(
        select(ChangeRecord).where(ChangeRecord.subject == "person_skill").order_by(ChangeRecord.id)
    )
    return [(r.subject_id, r.actor_id, r.before, r.after) for r in rows]


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def test_without_trust_imported_stages_are_self_declared_and_the_preview_says_who_waits(
    client, login, world
):
    login(world["admin"])
    preview = _preview(client, GOOD)
    page = _text(preview)
    assert "This file gives or changes 3 stage(s)." in page
    assert (
        "1 hosting stage(s) of masters will arrive self-declared and so wait for verification: "
        "until an admin or a verified master verifies them, those masters do not host them."
    ) in page
    assert (
        "If you tick the box below, 3 stage(s) are marked verified (imported) by you instead."
        in page
    )
    assert (
        "Trust these stages: the stages in this file were verified by the organisation; "
        "mark them as verified (imported)"
    ) in page

    done = _confirm(client, preview, trust=False)

    assert (
        "2 created, 0 changed, 0 unchanged. The new people have been invited by mail. "
        "1 hosting stage(s) arrived self-declared and wait for verification."
    ) in done
    note = TODAY_NOTE.format(day=_today())
    for email in ("ada@example.org", "rita@example.org"):
        for held in _held(email).values():
            assert (held.stage_source, held.stage_set_by_id, held.stage_note) == (
                StageSource.SELF_DECLARED,
                None,
                note,
            )
            assert not held.stage_verified
    assert _held("ada@example.org")["negotiation/anchoring"].stage == Stage.MASTER


def test_a_trusted_import_gives_verified_stages_set_by_the_admin(client, login, world):
    login(world["admin"])
    started = datetime.now(UTC)
    # Browsers may send a path; only the file's own name goes into the note.
    preview = _preview(client, GOOD, filename="/home/admin/people\x07.csv")

    done = _confirm(client, preview, trust=True)

    assert "2 created, 0 changed, 0 unchanged." in done
    assert "3 stage(s) marked verified (imported)." in done
    ada, rita = _person("ada@example.org"), _person("rita@example.org")
    for email in ("ada@example.org", "rita@example.org"):
        for held in _held(email).values():
            assert (held.stage_source, held.stage_set_by_id, held.stage_note) == (
                StageSource.IMPORTED,
                world["admin"].id,
                TODAY_NOTE.format(day=_today()),
            )
            assert held.stage_verified
            assert started - timedelta(seconds=1) <= held.stage_set_at <= datetime.now(UTC)
    assert sorted(_stage_log()) == sorted(
        [
            (ada.id, world["admin"].id, "", "negotiation/anchoring: master (imported)"),
            (ada.id, world["admin"].id, "", "coaching/listening: apprentice (imported)"),
            (rita.id, world["admin"].id, "", "negotiation/closing: apprentice (imported)"),
        ]
    )


@pytest.mark.parametrize("trust", [False, True])
def test_reimporting_a_stage_keeps_its_endorsement(client, login, world, trust):
    endorser = make_master("Endorser", email="endorser@example.org")
    ada = make_master("Ada Lovelace", email="ada@example.org", timezone="Europe/London")
    held = give_skill(ada, world["anchoring"], "master", hosts=False)
    held.set_stage(
        Stage.MASTER, StageSource.ENDORSED, by=endorser, note="Watched her close three deals."
    )
    db.session.commit()
    set_at = held.stage_set_at
    login(world["admin"])

    # The file repeats her stage and starts her hosting it: the role changes, not the source.
    _confirm(client, _preview(client, GOOD), trust=trust)

    anchoring = _held("ada@example.org")["negotiation/anchoring"]
    assert (
        anchoring.stage,
        anchoring.hosts,
        anchoring.stage_source,
        anchoring.stage_set_by_id,
        anchoring.stage_note,
        anchoring.stage_set_at,
    ) == (
        Stage.MASTER,
        True,
        StageSource.ENDORSED,
        endorser.id,
        "Watched her close three deals.",
        set_at,
    )
    assert not [entry for entry in _stage_log() if "anchoring" in entry[3]]


def test_changing_a_stage_without_trust_makes_it_self_declared_and_logs_both_sides(
    client, login, world
):
    endorser = make_master("Endorser", email="endorser@example.org")
    ada = make_master("Ada Lovelace", email="ada@example.org", timezone="Europe/London")
    held = give_skill(ada, world["anchoring"], "journeyman", hosts=True)
    held.set_stage(Stage.JOURNEYMAN, StageSource.ENDORSED, by=endorser)
    db.session.commit()
    login(world["admin"])

    preview = _preview(client, GOOD)
    assert "1 hosting stage(s) of masters will arrive self-declared" in _text(preview)
    done = _confirm(client, preview, trust=False)

    assert "1 hosting stage(s) arrived self-declared and wait for verification." in done
    anchoring = _held("ada@example.org")["negotiation/anchoring"]
    assert (anchoring.stage, anchoring.stage_source, anchoring.stage_set_by_id) == (
        Stage.MASTER,
        StageSource.SELF_DECLARED,
        None,
    )
    assert (
        ada.id,
        world["admin"].id,
        "negotiation/anchoring: journeyman (endorsed)",
        "negotiation/anchoring: master (self-declared)",
    ) in _stage_log()


def test_a_trusted_reimport_verifies_stages_held_only_self_declared(client, login, world):
    login(world["admin"])
    _confirm(client, _preview(client, GOOD), trust=False)
    ada = _person("ada@example.org")
    declined = _held("ada@example.org")["negotiation/anchoring"]
    declined.declined_at, declined.decline_reason = datetime.now(UTC), "Not yet"
    db.session.commit()
    logged = len(_stage_log())

    preview = _preview(client, GOOD)
    page = _text(preview)
    assert "0 created, 0 changed, 2 unchanged" in page
    assert (
        "If you tick the box below, 3 stage(s) are marked verified (imported) by you instead, "
        "3 of them stages people already hold on their own word."
    ) in page
    done = _confirm(client, preview, trust=True)

    assert "0 created, 0 changed, 2 unchanged. 3 stage(s) marked verified (imported)." in done
    anchoring = _held("ada@example.org")["negotiation/anchoring"]
    assert (
        anchoring.stage_source,
        anchoring.stage_set_by_id,
        anchoring.declined_at,
        anchoring.decline_reason,
    ) == (StageSource.IMPORTED, world["admin"].id, None, "")
    assert (
        ada.id,
        world["admin"].id,
        "negotiation/anchoring: master (self-declared)",
        "negotiation/anchoring: master (imported)",
    ) in _stage_log()[logged:]
    assert len(_stage_log()) == logged + 3


def test_reimporting_without_trust_changes_no_stage_and_logs_nothing(client, login, world):
    login(world["admin"])
    _confirm(client, _preview(client, GOOD), trust=True)
    logged = _stage_log()

    page = _page(_preview(client, GOOD))
    assert "If you tick the box below" not in page and 'name="trust_stages"' not in page
    _confirm(client, _preview(client, GOOD), trust=False)

    assert _stage_log() == logged
    assert {h.stage_source for h in _held("ada@example.org").values()} == {StageSource.IMPORTED}


def test_only_an_admin_can_trust_the_stages_of_an_import(client, login, world, app):
    from mentor_match.imports.views import _serializer

    master = make_master("Master", email="m@example.org")
    with app.test_request_context():
        token = _serializer().dumps({"file": "a" * 32, "by": master.id, "name": "people.csv"})
    login(master)
    response = client.post("/admin/import/confirm", data={"token": token, "trust_stages": "y"})
    assert response.status_code == 403

    # The service refuses too, whoever calls it, and writes nothing.
    counts = (
        count(Person),
        count(ChangeRecord),
    )
    with pytest.raises(Refusal, match="^Only an admin can mark imported stages as verified.$"):
        services.apply_import(GOOD, master, trust_stages=True, filename="people.csv")
    db.session.rollback()
    assert (
        count(Person),
        count(ChangeRecord),
    ) == counts
