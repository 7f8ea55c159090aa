"""No usable secret at rest: what acts for a person is in their mail or screen, not the database."""

import re

from sqlalchemy import String, select

from mentor_match.accounts.registration import person_to_confirm
from mentor_match.accounts.services import person_for_reset_token
from mentor_match.api import tokens
from mentor_match.calendars import services as calendars
from mentor_match.extensions import db
from mentor_match.imports.services import apply_import
from mentor_match.rounds.notices import deliver_pending_mail
from mentor_match.rounds.queue import wait_for_background_jobs

from .factories import make_admin, make_apprentice

IMPORT = (
    "name,email,site,timezone,roles,skills,observation_hours,hosting_hours\n"
    "Invited Ines,ines@example.org,,Europe/Lisbon,apprentice,,,\n"
)


def _reset_token(mail) -> str:
    return re.search(r"/reset-password/(\S+)", mail.body).group(1)


def _stored_text():
    """Every value of every string or text column of every table, with where it is."""
    for table in db.metadata.sorted_tables:
        columns = [column for column in table.columns if isinstance(column.type, String)]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)):
            for column, value in zip(columns, row, strict=True):
                if value:
                    yield f"{table.name}.{column.name}", value


def test_no_usable_secret_at_rest(client, sent_mail):
    """A reset mail, a sign-up confirmation, an invitation, an API token and a calendar feed:
    none is stored usable."""
    person = make_apprentice("Reset Rosa", email="rosa@example.org")
    client.post("/forgot-password", data={"email": "rosa@example.org"})
    client.post(
        "/signup",
        data={
            "name": "New Nia",
            "email": "nia@example.org",
            "password": "a long sign-up phrase",
            "confirm": "a long sign-up phrase",
            "is_apprentice": "y",
            "site": "0",
            "timezone": "Europe/London",
        },
    )
    apply_import(IMPORT, make_admin())
    deliver_pending_mail()
    wait_for_background_jobs()
    (reset_mail,) = [mail for mail in sent_mail if mail.recipient == "rosa@example.org"]
    (confirm_mail,) = [mail for mail in sent_mail if mail.recipient == "nia@example.org"]
    confirmation = re.search(r"/signup/confirm/(\S+)", confirm_mail.body).group(1)
    (invitation_mail,) = [mail for mail in sent_mail if mail.recipient == "ines@example.org"]
    reset, invitation = _reset_token(reset_mail), _reset_token(invitation_mail)
    _, api_token = tokens.create_token(person, "Reporting")
    feed_token = calendars.new_feed_token(person)

    # Each token works: the test reads the database for live secrets, not stale ones.
    assert person_for_reset_token(reset).id == person.id
    assert person_for_reset_token(invitation).email == "ines@example.org"
    assert tokens.person_for_token(api_token).id == person.id
    assert client.get(f"/calendar/{feed_token}.ics").status_code == 200
    assert person_to_confirm(confirmation).email == "nia@example.org"

    live = {
        "reset": reset,
        "invitation": invitation,
        "API": api_token,
        "feed": feed_token,
        "sign-up confirmation": confirmation,
    }
    found = [
        f"the {name} token in {where}"
        for where, value in _stored_text()
        for name, token in live.items()
        # The tail too: a copy cut or wrapped at its start would still carry the signature.
        if token in value or token[-16:] in value
    ]
    assert found == []
