"""A database populated as a site in use is, for the backup and migration tests: the demo
organisation, and a row in the tables the demo leaves empty (a published mastery record,
a round's run and pairing, an API token, a failed log-in, an event, a mail)."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from mentor_match.api.tokens import create_token
from mentor_match.busy.services import SEALING_PURPOSE
from mentor_match.demo.seed import seed_demo_organisation
from mentor_match.extensions import db
from mentor_match.integrations.events import SESSION_BOOKED, record_event
from mentor_match.mail.services import send_mail
from mentor_match.models import (
    BusyInterval,
    CalendarFeed,
    Endorsement,
    FailedLogin,
    MasteryRecord,
    Pairing,
    PersonSkill,
    Round,
)
from mentor_match.records.credential import signed_credential
from mentor_match.records.services import publish_record
from mentor_match.sealing import seal

from .factories import make_finished_run


@dataclass(frozen=True)
class Populated:
    """The published record, as stored, and the Open Badges credential issued from it."""

    record_code: str
    record_content: str
    record_signature: str
    credential: str


def populate() -> Populated:
    """Seed the demo organisation and the rows it lacks; commits."""
    seed_demo_organisation()
    endorsed = db.session.scalars(select(Endorsement).order_by(Endorsement.id)).first().person
    record = publish_record(endorsed)
    round_ = db.session.scalars(select(Round)).one()
    run = make_finished_run(round_)
    hosting = db.session.scalars(
        select(PersonSkill).where(PersonSkill.hosts).order_by(PersonSkill.person_id)
    ).first()
    developing = db.session.scalars(
        select(PersonSkill)
        .where(PersonSkill.develops, PersonSkill.micro_skill_id == hosting.micro_skill_id)
        .order_by(PersonSkill.person_id)
    ).first()
    pairing = Pairing(
        round_id=round_.id,
        run_id=run.id,
        apprentice_id=developing.person_id,
        master_id=hosting.person_id,
    )
    pairing.micro_skills = [hosting.micro_skill]
    db.session.add(pairing)
    create_token(endorsed, "Backup check")
    db.session.add(FailedLogin(person_id=endorsed.id, client="192.0.2.7"))
    db.session.add(
        CalendarFeed(
            person_id=endorsed.id,
            sealed_address=seal(
                "https://calendar.example/private-abc/basic.ics", purpose=SEALING_PURPOSE
            ),
            host="calendar.example",
        )
    )
    db.session.add(
        BusyInterval(
            person_id=endorsed.id,
            starts_at=datetime(2027, 1, 4, 10, tzinfo=UTC),
            ends_at=datetime(2027, 1, 4, 11, tzinfo=UTC),
        )
    )
    record_event(SESSION_BOOKED, session_id=1)
    send_mail(endorsed.email, "Your record", "It is published.")
    db.session.commit()
    record = db.session.get(MasteryRecord, record.id)
    return Populated(
        record_code=record.code,
        record_content=record.content_json,
        record_signature=record.signature,
        credential=signed_credential(record),
    )
