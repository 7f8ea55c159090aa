"""Importing people from CSV: preview, bad rows, confirm, idempotence, export round trip."""

import io
import os
import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from mentor_match.extensions import db
from mentor_match.imports import people_file, services
from mentor_match.models import (
    ChangeRecord,
    MonthPlan,
    Notification,
    OutboxMessage,
    Person,
    PersonSkill,
    Stage,
)
from mentor_match.rounds.queue import wait_for_background_jobs

from .database import count
from .factories import (
    give_skill,
    make_admin,
    make_apprentice,
    make_master,
    make_month_plan,
    next_month,
)

HEADER = "name,email,site,timezone,roles,skills,observation_hours,hosting_hours\n"


pytestmark = pytest.mark.usefixtures("imports_folder")


def _upload(client, text, filename="people.csv"):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return client.post(
        "/admin/import",
        data={"people": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def _token(response) -> str:
    match = re.search(
        r'name="token" type="hidden" value="([^"]+)"', response.get_data(as_text=True)
    )
    assert match, response.get_data(as_text=True)[:3000]
    return match.group(1)


def _import(client, text):
    """Preview then confirm; returns the confirmation's page after the redirect."""
    preview = _upload(client, text)
    assert preview.status_code == 200
    token = _token(preview)
    response = client.post("/admin/import/confirm", data={"token": token}, follow_redirects=True)
    wait_for_background_jobs()
    # The confirmed upload is deleted: the same token cannot apply it twice.
    again = client.post("/admin/import/confirm", data={"token": token}, follow_redirects=True)
    assert "already been applied" in _page(again)
    return response


def _page(response) -> str:
    return re.sub(r"\s+", " ", unescape(response.get_data(as_text=True)))


GOOD = HEADER + (
    "Ada Lovelace,Ada@Example.org,London,Europe/London,master;apprentice,"
    "Negotiation/Anchoring:master:hosts;coaching/listening:apprentice:develops,5,10\n"
    "Remote Rita,rita@example.org,,Asia/Kathmandu,apprentice,"
    "negotiation/closing:apprentice:develops,,\n"
)


def test_preview_lists_creations_and_changes_and_writes_nothing(client, login, world):
    make_master("Old Name", email="rita@example.org", timezone="Europe/London")
    login(world["admin"])
    before = (count(Person), count(PersonSkill), count(MonthPlan), count(ChangeRecord))

    page = _page(_upload(client, GOOD))

    assert "1 created, 1 changed, 0 unchanged, 0 bad row(s)" in page
    assert "Ada Lovelace" in page and "negotiation/anchoring" in page and "master:hosts" in page
    assert "Old Name" in page and "Remote Rita" in page  # name: old -> new
    assert "Europe/London" in page and "Asia/Kathmandu" in page
    assert (count(Person), count(PersonSkill), count(MonthPlan), count(ChangeRecord)) == before


def test_bad_rows_are_reported_with_line_and_field(client, login, world):
    login(world["admin"])
    lines = [
        "Good,good@example.org,London,Europe/London,master,,,",  # line 2
        "Bad Email,not-an-email,,UTC,master,,,",  # 3
        "Bad Site,site@example.org,Atlantis,UTC,master,,,",  # 4
        "Bad Zone,zone@example.org,,Mars/Olympus,master,,,",  # 5
        "Bad Skill,skill@example.org,,UTC,master,Cooking/Baking:master:hosts,,",  # 6
        "Bad Stage,stage@example.org,,UTC,master,Negotiation/Anchoring:guru:hosts,,",  # 7
        "Bad Role,role@example.org,,UTC,boss,,,",  # 8
        "Duplicate,GOOD@example.org,,UTC,master,,,",  # 9
        "Bad Hours,hours@example.org,,UTC,apprentice,,six,1.5",  # 10
        "Bad Skill Role,skrole@example.org,,UTC,master,"  # 11
        "Negotiation/Anchoring:master:teaches,,",
    ]
    text = HEADER + "".join(f"{line}\n" for line in lines)

    response = _upload(client, text)
    page = _page(response)

    for expected in (
        "line 3, email: not an email address",
        'line 4, site: no site named "Atlantis"',
        'line 5, timezone: "Mars/Olympus" is not a time zone',
        'line 6, skills: no micro skill "Cooking/Baking"',
        'line 7, skills: "guru" is not a stage',
        'line 8, roles: "boss" is not master, apprentice or master;apprentice',
        "line 9, email: also on line 2",
        "line 10, observation_hours: not a whole number",
        "line 10, hosting_hours: not a whole number",
        'line 11, skills: "teaches" is not a skill role',
    ):
        assert expected in page, expected
    assert "line 2," not in page
    assert 'name="token"' not in page  # nothing to confirm
    assert count(Person) == 1


def test_a_preview_with_bad_rows_offers_the_upload_again(client, login, world):
    login(world["admin"])
    bad = HEADER + "Bad Zone,zone@example.org,,Mars/Olympus,master,,,\n"

    page = _page(_upload(client, bad))

    assert "Fix the bad rows below and upload the file again" in page
    assert "<h2>Upload the corrected file</h2>" in page
    form = re.search(r'<form method="post" action="/admin/import" [^>]*>.*?</form>', page)
    assert form and 'enctype="multipart/form-data"' in form.group(0)
    assert 'type="file"' in form.group(0) and 'name="people"' in form.group(0)
    assert "Please correct the fields marked below" not in page  # the new upload has no error
    # The corrected file, sent from that form, previews like any other.
    fixed = _page(_upload(client, bad.replace("Mars/Olympus", "Europe/London")))
    assert "1 created, 0 changed, 0 unchanged, 0 bad row(s)" in fixed


def test_the_import_page_says_how_long_an_invitation_link_lasts(client, login, world, app):
    login(world["admin"])
    page = _page(client.get("/admin/import"))
    assert (
        "An invitation's link to choose a password works for 7 days from when its mail is sent"
        in page
    )
    assert "one hour" not in page
    previous = app.config["INVITATION_MAX_AGE"]
    app.config["INVITATION_MAX_AGE"] = timedelta(days=3)
    try:
        assert "works for 3 days from when" in _page(client.get("/admin/import"))
    finally:
        app.config["INVITATION_MAX_AGE"] = previous


def test_an_imported_legacy_zone_is_stored_under_its_current_name(client, login, world):
    login(world["admin"])
    _import(client, HEADER + "Priya Nair,priya@example.org,,Asia/Calcutta,apprentice,,,\n")
    priya = db.session.scalar(select(Person).where(Person.email == "priya@example.org"))
    assert priya.timezone == "Asia/Kolkata"


def test_confirm_refuses_a_file_with_bad_rows(client, login, world, app):
    """Even with a valid token (forged here), a bad file is not applied at all."""
    from mentor_match.imports.views import _serializer

    login(world["admin"])
    with app.test_request_context():
        token = _serializer().dumps({"file": "a" * 32, "by": world["admin"].id})
    folder = app.config["IMPORTS_FOLDER"]
    os.makedirs(folder, exist_ok=True)
    with open(f"{folder}/{'a' * 32}.csv", "w", encoding="utf-8") as handle:
        handle.write(GOOD + "Bad,bad,,UTC,master,,,\n")

    page = _page(client.post("/admin/import/confirm", data={"token": token}, follow_redirects=True))

    assert "1 bad row(s)" in page
    assert count(Person) == 1


def test_confirm_creates_people_skills_plans_invitations_and_change_records(
    client, login, world, sent_mail
):
    login(world["admin"])

    page = _page(_import(client, GOOD))

    assert "2 created, 0 changed, 0 unchanged" in page
    ada = db.session.scalar(select(Person).where(Person.email == "ada@example.org"))
    rita = db.session.scalar(select(Person).where(Person.email == "rita@example.org"))
    assert (
        ada.name,
        ada.site_id,
        ada.timezone,
        ada.is_master,
        ada.is_apprentice,
        ada.is_admin,
    ) == ("Ada Lovelace", world["site"].id, "Europe/London", True, True, False)
    assert (rita.site_id, rita.timezone, rita.is_master, rita.is_apprentice) == (
        None,
        "Asia/Kathmandu",
        False,
        True,
    )
    skills = {(s.micro_skill_id, s.stage, s.hosts, s.develops) for s in ada.skills}
    assert skills == {
        (world["anchoring"].id, Stage.MASTER, True, False),
        (world["listening"].id, Stage.APPRENTICE, False, True),
    }
    plan = db.session.scalar(select(MonthPlan).where(MonthPlan.person_id == ada.id))
    assert (plan.month, plan.observation_hours, plan.max_hosting_hours) == (next_month(), 5, 10)
    assert db.session.scalar(select(MonthPlan).where(MonthPlan.person_id == rita.id)) is None
    notices = db.session.scalars(select(Notification)).all()
    assert {n.person_id for n in notices} == {ada.id, rita.id}
    assert all(n.mail_subject == services.INVITATION_SUBJECT for n in notices)
    # The link is made as the mail goes out: neither the notice nor the outbox holds it.
    assert all("[set-password link, made when the mail is sent]" in n.mail_body for n in notices)
    mails = db.session.scalars(select(OutboxMessage)).all()
    assert sorted(m.recipient for m in mails) == ["ada@example.org", "rita@example.org"]
    assert not any("/reset-password/" in m.body for m in mails)
    assert all("[set-password link, made when the mail is sent]" in m.body for m in mails)
    records = db.session.scalars(select(ChangeRecord).where(ChangeRecord.subject == "person")).all()
    assert {(r.subject_id, r.action, r.actor_id) for r in records} == {
        (ada.id, "imported", world["admin"].id),
        (rita.id, "imported", world["admin"].id),
    }
    stages = db.session.scalars(
        select(ChangeRecord).where(ChangeRecord.subject == "person_skill")
    ).all()
    assert sorted(
        (r.subject_id, r.action, r.actor_id, r.before, r.after) for r in stages
    ) == sorted(
        [
            (
                ada.id,
                "stage_changed",
                world["admin"].id,
                "",
                "negotiation/anchoring: master (self-declared)",
            ),
            (
                ada.id,
                "stage_changed",
                world["admin"].id,
                "",
                "coaching/listening: apprentice (self-declared)",
            ),
            (
                rita.id,
                "stage_changed",
                world["admin"].id,
                "",
                "negotiation/closing: apprentice (self-declared)",
            ),
        ]
    )
    # The invitation link really lets the new person choose a password.
    assert sorted(mail.recipient for mail in sent_mail) == ["ada@example.org", "rita@example.org"]
    link = re.search(r"(/reset-password/\S+)", sent_mail[0].body).group(1)
    assert client.get(link).status_code == 200


def test_reimporting_the_same_file_changes_nothing(client, login, world):
    login(world["admin"])
    _import(client, GOOD)
    counts = (
        count(Person),
        count(PersonSkill),
        count(MonthPlan),
        count(ChangeRecord),
        count(Notification),
    )

    assert "0 created, 0 changed, 2 unchanged" in _page(_upload(client, GOOD))
    assert "0 created, 0 changed, 2 unchanged" in _page(_import(client, GOOD))
    assert (
        count(Person),
        count(PersonSkill),
        count(MonthPlan),
        count(ChangeRecord),
        count(Notification),
    ) == counts


def test_a_changed_row_changes_only_that_field(client, login, world):
    login(world["admin"])
    _import(client, GOOD)
    ada = db.session.scalar(select(Person).where(Person.email == "ada@example.org"))
    password_hash = ada.password_hash
    notices = count(Notification)

    changed = GOOD.replace("Europe/London,master;apprentice", "America/New_York,master;apprentice")
    page = _page(_import(client, changed))

    assert "0 created, 1 changed, 1 unchanged" in page
    db.session.expire_all()
    ada = db.session.get(Person, ada.id)
    assert (ada.timezone, ada.name, ada.site_id, ada.password_hash) == (
        "America/New_York",
        "Ada Lovelace",
        world["site"].id,
        password_hash,
    )
    record = db.session.scalar(
        select(ChangeRecord).where(ChangeRecord.action == "changed by import")
    )
    assert (record.subject_id, record.before, record.after) == (
        ada.id,
        "timezone: Europe/London",
        "timezone: America/New_York",
    )
    assert count(Notification) == notices  # existing people are not invited again


def test_export_then_import_changes_nothing(client, login, world):
    london = world["site"]
    master = make_master("=Formula Name", email="amara@example.org", site=london)
    give_skill(master, world["anchoring"], "master", hosts=True)
    give_skill(master, world["closing"], "journeyman", hosts=True, develops=True)
    make_month_plan(master, next_month(), observation_hours=3, max_hosting_hours=12)
    apprentice = make_apprentice("-Dash", email="Tom@Example.org", timezone="Asia/Kolkata")
    give_skill(apprentice, world["listening"], "apprentice")
    make_apprentice("Gone", email="gone@example.org", active=False)
    login(world["admin"])

    response = client.get("/admin/export.csv")
    text = response.get_data(as_text=True)

    assert response.mimetype == "text/csv"
    assert "'=Formula Name" in text and "'-Dash" in text
    assert "gone@example.org" not in text and "admin@example.org" not in text
    assert "negotiation/closing:journeyman:both" in text
    counts = (count(PersonSkill), count(MonthPlan), count(ChangeRecord))
    assert "0 created, 0 changed, 2 unchanged" in _page(_import(client, text))
    assert (count(PersonSkill), count(MonthPlan), count(ChangeRecord)) == counts
    db.session.expire_all()
    assert db.session.get(Person, master.id).name == "=Formula Name"


def test_a_tampered_or_expired_token_is_refused(client, login, world, app, monkeypatch):
    login(world["admin"])
    token = _token(_upload(client, GOOD))

    payload, _, signature = token.partition(".")
    forged = payload[:-3] + ("A" if payload[-3] != "A" else "B") + payload[-2:] + "." + signature
    tampered = client.post("/admin/import/confirm", data={"token": forged}, follow_redirects=True)
    assert "That import is not valid" in _page(tampered)

    from mentor_match.imports import views

    monkeypatch.setattr(views, "TOKEN_MAX_AGE", -1)
    expired = client.post("/admin/import/confirm", data={"token": token}, follow_redirects=True)
    assert "more than an hour old" in _page(expired)
    assert count(Person) == 1

    other_admin = make_admin("Other", email="other@example.org")
    monkeypatch.setattr(views, "TOKEN_MAX_AGE", 3600)
    client.post("/logout")
    login(other_admin)
    stolen = client.post("/admin/import/confirm", data={"token": token}, follow_redirects=True)
    assert "That import is not valid" in _page(stolen)
    assert count(Person) == 2


def test_non_admins_are_refused(client, login, world):
    login(make_master("Master", email="m@example.org"))
    assert client.get("/admin/import").status_code == 403
    assert _upload(client, GOOD).status_code == 403
    assert client.post("/admin/import/confirm", data={"token": "x"}).status_code == 403
    assert client.get("/admin/export.csv").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    assert client.get("/admin/export.csv").status_code == 302


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe binary", "not UTF-8 text"),
        (b"name;email\nx;y\n", "The first line must name the columns"),
        (b"", "The file is empty"),
        (b"   \r\n", "The file is empty"),
        (HEADER.encode() + b'"unclosed,quote\n', "not valid CSV"),
    ],
)
def test_a_file_that_is_not_csv_gets_a_clear_error(client, login, world, data, message):
    login(world["admin"])
    page = _page(_upload(client, data))
    assert message in page
    assert count(Person) == 1


def test_a_bom_and_escaped_cells_are_accepted(client, login, world):
    login(world["admin"])
    text = "\ufeff" + HEADER + "'@Handle,handle@example.org,london,UTC,Master,,,\n"
    assert "1 created" in _page(_import(client, text))
    person = db.session.scalar(select(Person).where(Person.email == "handle@example.org"))
    assert (person.name, person.site_id) == ("@Handle", world["site"].id)


def test_too_large_a_file_is_refused(client, login, world, monkeypatch):
    login(world["admin"])
    monkeypatch.setattr(people_file, "MAX_ROWS", 1)
    assert "more than 1 rows" in _page(_upload(client, GOOD))
    monkeypatch.setattr(people_file, "MAX_BYTES", 10)
    assert "larger than 5 MB" in _page(_upload(client, GOOD))


def test_posts_without_a_csrf_token_are_refused(client, login, world, app):
    login(world["admin"])
    app.config["WTF_CSRF_ENABLED"] = True  # after logging in; the suite's fixture resets it
    assert _upload(client, GOOD).status_code == 400
    assert client.post("/admin/import/confirm", data={"token": "x"}).status_code == 400
