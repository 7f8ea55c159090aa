"""Stages earned, not claimed: who hosts, the verification queue, endorsements, admin rulings."""

import json

import pytest
from sqlalchemy import select

from mentor_match.booking import actions, offers
from mentor_match.errors import Refusal
from mentor_match.extensions import db
from mentor_match.models import (
    ChangeRecord,
    Endorsement,
    Notification,
    OrganisationSettings,
    PersonSkill,
    SessionMode,
    SessionObserver,
    ShadowingSession,
    Stage,
    StageSource,
)
from mentor_match.profiles import services as profiles
from mentor_match.progress import endorsement as progress
from mentor_match.rounds import runs, solving
from mentor_match.rounds.encoder import encode_round
from mentor_match.rounds.publication import publish
from mentor_match.stages import services

from .conftest import log_in
from .database import count
from .factories import (
    first_open_slot,
    give_skill,
    make_admin,
    make_confirmed_plan,
    make_master,
    make_micro_skill,
    make_round,
    make_small_round_organisation,
    make_weekly_window,
)


def changes(action: str) -> list[ChangeRecord]:
    return list(db.session.scalars(select(ChangeRecord).where(ChangeRecord.action == action)))


@pytest.fixture
def newcomer(office):
    """A master who signed up and declared themself master in the office's skill."""
    person = make_master("New Claimant", site=office["site"], open_to_bookings=True)
    held = give_skill(
        person, office["skill"], "master", hosts=True, source=StageSource.SELF_DECLARED
    )
    return held


def test_a_self_declared_master_is_not_bookable_until_an_admin_verifies_them(office, newcomer):
    tom, admin = office["apprentices"][0], make_admin()
    master = newcomer.person
    assert master.name not in [c.master.name for c in offers.bookable_masters(tom)]
    with pytest.raises(Refusal, match="does not host a micro skill you are developing"):
        actions.book(tom, master, *_an_hour_next_month(office), SessionMode.VIRTUAL)
    assert services.stages_to_verify() == [newcomer] and services.masters_waiting() == 1

    services.approve(
        admin, master.id, office["skill"].id, stage_seen=Stage.MASTER, note="Seen her close deals"
    )

    held = db.session.get(PersonSkill, (master.id, office["skill"].id))
    assert (held.stage, held.stage_source, held.stage_set_by_id) == (
        Stage.MASTER,
        StageSource.ADMIN,
        admin.id,
    )
    assert held.stage_note == "Seen her close deals"
    assert master.name in [c.master.name for c in offers.bookable_masters(tom)]
    assert services.stages_to_verify() == [] and services.masters_waiting() == 0
    [logged] = changes("verified")
    assert (logged.actor_id, logged.subject_id) == (admin.id, master.id)
    assert logged.before == f"{office['skill'].key}: master (self-declared)"
    assert logged.after == f"{office['skill'].key}: master (set by an admin)"
    [notice] = db.session.scalars(select(Notification).where(Notification.person_id == master.id))
    assert "verified your stage: master in Negotiation: Anchoring" in notice.text


def _an_hour_next_month(office):
    slot = first_open_slot(office["master"], office["apprentices"][0])
    return slot.starts_at, slot.ends_at


def test_the_round_leaves_unverified_masters_out_unless_the_organisation_allows_them():
    org = make_small_round_organisation()
    claimant = make_master("Claimant", site=org["site"])
    give_skill(claimant, org["skill"], "master", hosts=True, source=StageSource.SELF_DECLARED)
    make_weekly_window(
        claimant,
        weekday=1,
        start=org["masters"][0].weekly_windows[0].start_time,
        end=org["masters"][0].weekly_windows[0].end_time,
    )
    make_confirmed_plan(claimant, max_hosting_hours=6, max_apprentices=2)
    round_ = make_round()
    hosts = {m["id"] for m in encode_round(round_)["masters"]}
    assert f"m-{claimant.id}" not in hosts and len(hosts) == 2

    db.session.add(OrganisationSettings(id=1, only_verified_hosts=False))
    db.session.commit()
    assert f"m-{claimant.id}" in {m["id"] for m in encode_round(round_)["masters"]}


def test_declining_needs_a_reason_takes_the_stage_out_of_the_queue_and_tells_them(office, newcomer):
    admin, master = make_admin(), newcomer.person
    with pytest.raises(Refusal, match="Give a reason"):
        services.decline(admin, master.id, office["skill"].id, stage_seen=Stage.MASTER, reason="  ")
    assert newcomer.declined_at is None and count(Notification) == 0

    services.decline(
        admin,
        master.id,
        office["skill"].id,
        stage_seen=Stage.MASTER,
        reason="Nobody here has seen you negotiate yet.",
    )
    assert newcomer.declined_at is not None and newcomer.stage_source is StageSource.SELF_DECLARED
    assert services.stages_to_verify() == []
    [notice] = db.session.scalars(select(Notification).where(Notification.person_id == master.id))
    assert notice.text.endswith("Nobody here has seen you negotiate yet.")
    # Declaring again (another stage) puts it back in the queue.
    profiles.change_skill(master, newcomer, Stage.JOURNEYMAN, hosts=True, develops=False)
    assert services.stages_to_verify() == [newcomer] and newcomer.declined_at is None


def test_a_ruling_on_a_claim_that_changed_meanwhile_is_refused(office, newcomer):
    admin, master = make_admin(), newcomer.person
    profiles.change_skill(master, newcomer, Stage.JOURNEYMAN, hosts=True, develops=False)
    with pytest.raises(Refusal, match="changed their stage in Negotiation: Anchoring meanwhile"):
        services.approve(admin, master.id, office["skill"].id, stage_seen=Stage.MASTER)
    assert newcomer.stage_source is StageSource.SELF_DECLARED
    services.approve(admin, master.id, office["skill"].id, stage_seen=Stage.JOURNEYMAN)
    with pytest.raises(Refusal, match="no longer waiting for verification"):
        services.approve(admin, master.id, office["skill"].id, stage_seen=Stage.JOURNEYMAN)
    with pytest.raises(Refusal, match="Only admins verify stages"):
        services.approve(office["master"], master.id, office["skill"].id, stage_seen=None)


def test_a_verified_master_endorses_a_peer_and_no_one_endorses_themself(office, newcomer):
    verified, claimant = office["master"], newcomer.person
    with pytest.raises(Refusal, match="You cannot endorse yourself"):
        services.endorse_peer(claimant, claimant.id, office["skill"].id, stage_seen=Stage.MASTER)
    other_claimant = make_master("Other Claimant")
    give_skill(
        other_claimant, office["skill"], "master", hosts=True, source=StageSource.SELF_DECLARED
    )
    with pytest.raises(
        Refusal, match="Only a master whose own stage in this micro skill is verified"
    ):
        services.endorse_peer(
            other_claimant, claimant.id, office["skill"].id, stage_seen=Stage.MASTER
        )
    assert count(Endorsement) == 0 and newcomer.stage_source is StageSource.SELF_DECLARED

    assert set(services.stages_to_endorse(verified)) == {newcomer, other_claimant.skills[0]}
    services.endorse_peer(
        verified,
        claimant.id,
        office["skill"].id,
        stage_seen=Stage.MASTER,
        note="Watched her anchor a supplier.",
    )
    assert (newcomer.stage_source, newcomer.stage_set_by_id) == (StageSource.ENDORSED, verified.id)
    endorsement = db.session.scalar(select(Endorsement))
    assert (endorsement.from_stage, endorsement.to_stage, endorsement.endorsed_by_id) == (
        Stage.MASTER,
        Stage.MASTER,
        verified.id,
    )
    assert [c.after for c in changes("endorsed")] == [f"{office['skill'].key}: master (endorsed)"]
    # Now verified, she can endorse the other claimant in turn.
    services.endorse_peer(claimant, other_claimant.id, office["skill"].id, stage_seen=Stage.MASTER)
    assert other_claimant.skills[0].stage_source is StageSource.ENDORSED


def test_a_self_declared_master_cannot_endorse_an_apprentices_next_stage(office, newcomer):
    tom = office["apprentices"][0]
    with pytest.raises(Refusal):
        progress.endorse(newcomer.person, tom.id, office["skill"].id)
    assert tom.skills[0].stage is Stage.APPRENTICE and count(Endorsement) == 0


def _book_seats(office, how_many: int) -> list[SessionObserver]:
    seats = []
    for n, apprentice in enumerate(office["apprentices"][:how_many]):
        slot = first_open_slot(office["master"], apprentice, day_offset=n)
        seats.append(
            actions.book(
                apprentice, office["master"], slot.starts_at, slot.ends_at, SessionMode.VIRTUAL
            )
        )
    return seats


def test_an_admin_demoting_a_master_cancels_their_upcoming_seats_and_tells_everyone(office):
    admin, master = make_admin(), office["master"]
    seats = _book_seats(office, 2)
    held = master.skills[0]
    assert services.upcoming_hosted_seats(master, office["skill"].id) == 2
    notices_before = count(Notification)

    change = services.set_stage(
        admin,
        master.id,
        office["skill"].id,
        Stage.APPRENTICE,
        reason="Moved to another team's work.",
    )

    assert change.seats_cancelled == 2
    assert (held.stage, held.stage_source) == (Stage.APPRENTICE, StageSource.ADMIN)
    assert count(SessionObserver, SessionObserver.cancelled_at.is_(None)) == 0
    assert count(ShadowingSession, ShadowingSession.cancelled_at.is_(None)) == 0
    # In the order written: without ORDER BY, PostgreSQL may skip any rows, not the first ones.
    newest = select(Notification).order_by(Notification.id).offset(notices_before)
    told = {n.person_id for n in db.session.scalars(newest)}
    assert told == {seats[0].apprentice_id, seats[1].apprentice_id, master.id}
    assert "Moved to another team's work." in db.session.scalar(
        select(Notification.text)
        .where(Notification.person_id == seats[0].apprentice_id)
        .order_by(Notification.id.desc())
        .limit(1)
    )
    [logged] = changes("set_by_admin")
    assert (
        logged.after
        == f"{office['skill'].key}: apprentice (set by an admin); Moved to another team's work."
    )


def test_lowering_a_master_to_a_stage_that_still_hosts_leaves_sessions_alone(office):
    admin, master = make_admin(), office["master"]
    _book_seats(office, 1)
    change = services.set_stage(
        admin,
        master.id,
        office["skill"].id,
        Stage.JOURNEYMAN,
        reason="Still learning the hard cases.",
    )
    assert change.seats_cancelled == 0  # a journeyman above an apprentice still hosts
    assert count(SessionObserver, SessionObserver.cancelled_at.is_(None)) == 1


def test_a_master_whose_verification_is_revoked_mid_round_is_not_published(verify_round):
    org = make_small_round_organisation()
    admin = make_admin()
    round_ = make_round()
    run = runs.start_run(round_, None, time_limit=5)
    assert solving.perform_run(run.id) is True
    db.session.refresh(run)
    masters_paired = {p["master"] for p in json.loads(run.solution_json)["pairings"]}
    revoked = next(m for m in org["masters"] if f"m-{m.id}" in masters_paired)

    change = services.revoke(admin, revoked.id, org["skill"].id, reason="Certificate withdrawn.")
    assert change.seats_cancelled == 0  # nothing was published yet
    assert change.held.stage_source is StageSource.SELF_DECLARED and change.held.declined_at
    assert services.stages_to_verify() == []  # revoked, so not waiting again

    with pytest.raises(Refusal, match="may no longer host the skills paired"):
        publish(db.session.get(type(run), run.id))
    assert runs.active_run(round_) is None and count(SessionObserver) == 0


def test_changing_your_own_verified_stage_makes_it_self_declared_or_is_refused_with_the_count(
    office,
):
    master = office["master"]
    held = master.skills[0]
    _book_seats(office, 2)
    with pytest.raises(Refusal, match="you host 2 upcoming seats in it"):
        profiles.change_skill(master, held, Stage.JOURNEYMAN, hosts=True, develops=False)
    db.session.rollback()
    assert (held.stage, held.stage_source) == (Stage.MASTER, StageSource.ADMIN)
    # Same stage, other flags: the verification stays.
    profiles.change_skill(master, held, Stage.MASTER, hosts=True, develops=False)
    assert held.stage_source is StageSource.ADMIN


def test_the_queue_page_is_for_admins_and_a_bad_ruling_changes_nothing(
    app, client, office, newcomer
):
    master_client = app.test_client()
    log_in(master_client, office["master"])
    assert master_client.get("/admin/verification").status_code == 403
    assert (
        master_client.post(
            "/admin/verification", data={"person_id": newcomer.person_id}
        ).status_code
        == 403
    )
    admin = make_admin()
    log_in(client, admin)
    page = client.get("/admin/verification").get_data(as_text=True)
    assert "New Claimant" in page and "master in Negotiation: Anchoring" in page
    for form in (
        {
            "person_id": "x",
            "micro_skill_id": office["skill"].id,
            "stage_seen": "master",
            "decision": "approve",
        },
        {
            "person_id": newcomer.person_id,
            "micro_skill_id": office["skill"].id,
            "stage_seen": "grandmaster",
            "decision": "approve",
        },
        {
            "person_id": newcomer.person_id,
            "micro_skill_id": office["skill"].id,
            "stage_seen": "master",
            "decision": "decline",
            "reason": "",
        },
    ):
        response = client.post("/admin/verification", data=form, follow_redirects=True)
        assert response.status_code == 200
    assert newcomer.stage_source is StageSource.SELF_DECLARED and newcomer.declined_at is None
    assert count(ChangeRecord) == 0
    response = client.post(
        "/admin/verification",
        follow_redirects=True,
        data={
            "person_id": newcomer.person_id,
            "micro_skill_id": office["skill"].id,
            "stage_seen": "master",
            "decision": "approve",
            "reason": "",
        },
    )
    assert (
        "New Claimant&#39;s stage master in Negotiation: Anchoring is verified"
        in response.get_data(as_text=True)
    )


def test_the_admin_stage_page_sets_a_stage_and_refuses_without_a_reason(client, office):
    admin, master = make_admin(), office["master"]
    log_in(client, admin)
    url = f"/admin/people/{master.id}/stages/{office['skill'].id}"
    assert client.get(url).status_code == 200
    assert client.get(f"/admin/people/{master.id}/stages/999999").status_code == 404
    response = client.post(url, data={"action": "set", "set-stage": "journeyman", "set-reason": ""})
    assert response.status_code == 200 and "Give a reason" in response.get_data(as_text=True)
    assert master.skills[0].stage is Stage.MASTER
    response = client.post(
        url,
        data={"action": "set", "set-stage": "journeyman", "set-reason": "Needs another year."},
        follow_redirects=True,
    )
    assert (
        "Amara Master is now a journeyman in Negotiation: Anchoring (set by an admin)"
        in response.get_data(as_text=True)
    )
    db.session.expire_all()
    assert db.session.get(PersonSkill, (master.id, office["skill"].id)).stage is Stage.JOURNEYMAN


def test_the_round_review_says_how_many_masters_wait(client):
    org = make_small_round_organisation("Review HQ")
    claimant = make_master("Claimant")
    give_skill(claimant, org["skill"], "master", hosts=True, source=StageSource.SELF_DECLARED)
    admin = make_admin()
    round_ = make_round()
    run = runs.start_run(round_, None, time_limit=5)
    assert solving.perform_run(run.id) is True
    log_in(client, admin)
    page = " ".join(
        client.get(f"/admin/rounds/{round_.month}/runs/{run.id}").get_data(as_text=True).split()
    )
    assert "1 master is waiting for verification</a>: they were left out of this run" in page
    assert (
        f'{org["skill"].full_name} (master, <span class="source source-verified">set by an admin on'
        in page
    )


def test_the_round_page_warns_before_a_run_and_not_when_self_declared_masters_may_host(client):
    make_small_round_organisation("Round page HQ")
    claimant = make_master("Claimant")
    give_skill(claimant, make_micro_skill(), "master", hosts=True, source=StageSource.SELF_DECLARED)
    round_ = make_round()
    log_in(client, make_admin())
    warning = "1 master is waiting for verification</a>: a run leaves them out"
    page = " ".join(client.get(f"/admin/rounds/{round_.month}").get_data(as_text=True).split())
    assert warning in page
    db.session.add(OrganisationSettings(id=1, only_verified_hosts=False))
    db.session.commit()
    page = " ".join(client.get(f"/admin/rounds/{round_.month}").get_data(as_text=True).split())
    assert "waiting for verification" not in page


def test_a_peers_endorsement_reads_as_a_confirmation_on_the_record(client, office, newcomer):
    from mentor_match.records.services import publish_record

    claimant = newcomer.person
    services.endorse_peer(
        office["master"], claimant.id, office["skill"].id, stage_seen=Stage.MASTER
    )
    record = publish_record(claimant)
    content = json.loads(record.content_json)
    assert [
        (e["from_stage"], e["to_stage"], e["endorsed_by"]) for e in content["endorsements"]
    ] == [("master", "master", "Amara Master")]
    page = " ".join(client.get(f"/r/{record.code}").get_data(as_text=True).split())
    assert "Negotiation: Anchoring: confirmed as master, by Amara Master" in page


def test_a_persons_own_stage_changes_go_to_the_change_log_as_self_declared(office):
    claimant = make_master("Claimant")
    held = profiles.add_skill(
        claimant, office["skill"], Stage.JOURNEYMAN, hosts=True, develops=False
    )
    assert held.stage_source is StageSource.SELF_DECLARED
    profiles.change_skill(claimant, held, Stage.MASTER, hosts=True, develops=False)
    profiles.remove_skill(claimant, held)
    logged = [
        (c.action, c.before, c.after)
        for c in db.session.scalars(
            select(ChangeRecord)
            .where(ChangeRecord.subject_id == claimant.id)
            .order_by(ChangeRecord.id)
        )
    ]
    key = office["skill"].key
    assert logged == [
        ("declared", "", f"{key}: journeyman (self-declared)"),
        ("declared", f"{key}: journeyman (self-declared)", f"{key}: master (self-declared)"),
        ("removed", f"{key}: master (self-declared)", ""),
    ]


def test_an_admin_cannot_verify_or_set_their_own_stage(office):
    admin = make_admin()
    admin.is_master = True
    held = give_skill(
        admin, office["skill"], "master", hosts=True, source=StageSource.SELF_DECLARED
    )
    for attempt in (
        lambda: services.approve(admin, admin.id, office["skill"].id, stage_seen=Stage.MASTER),
        lambda: services.set_stage(admin, admin.id, office["skill"].id, Stage.MASTER, reason="Me."),
    ):
        with pytest.raises(Refusal, match="You cannot verify or set your own stage"):
            attempt()
    assert held.stage_source is StageSource.SELF_DECLARED and count(ChangeRecord) == 0
    services.approve(
        make_admin("Second Admin"), admin.id, office["skill"].id, stage_seen=Stage.MASTER
    )
    assert held.stage_source is StageSource.ADMIN
