"""Tell people about their rounds on the site and by mail, without sending anything twice."""

from __future__ import annotations

import logging

from sqlalchemy import insert, select, update

from ..accounts.services import INVITATION_LINK, invitation_link
from ..extensions import db
from ..mail.services import send_mail
from ..models import Notification, Person, utcnow

log = logging.getLogger(__name__)


def notify_many(notices: list[dict]) -> None:
    """Add notifications in bulk: dicts of person_id, text, link, mail_subject, mail_body.

    The caller commits, so the news is part of the same transaction as what it reports.
    """
    if notices:
        db.session.execute(insert(Notification), notices)


def notify(person: Person, text: str, link: str = "", subject: str = "", body: str = "") -> None:
    notify_many(
        [
            {
                "person_id": person.id,
                "text": text,
                "link": link,
                "mail_subject": subject,
                "mail_body": body or text,
            }
        ]
    )


def deliver_pending_mail(batch: int = 500) -> int:
    """Send the mail of every notification not yet mailed; returns how many were sent.

    Each one is claimed by a conditional update before it is sent, so two deliveries
    running at once (or a job delivered twice) never send the same mail twice.
    """
    sent = 0
    while True:
        pending = db.session.execute(
            select(
                Notification.id,
                Person.id,
                Person.email,
                Notification.mail_subject,
                Notification.mail_body,
            )
            .join(Person, Person.id == Notification.person_id)
            .where(Notification.mail_subject != "", Notification.mailed_at.is_(None))
            .order_by(Notification.id)
            .limit(batch)
        ).all()
        if not pending:
            return sent
        for notice_id, person_id, email, subject, body in pending:
            claimed = db.session.execute(
                update(Notification)
                .where(Notification.id == notice_id, Notification.mailed_at.is_(None))
                .values(mailed_at=utcnow())
            ).rowcount
            if claimed:
                secrets = []
                if INVITATION_LINK in body:
                    link = invitation_link(db.session.get_one(Person, person_id))
                    body, secrets = body.replace(INVITATION_LINK, link), [link]
                send_mail(email, subject, body, secrets=secrets)
                sent += 1
            db.session.commit()
        log.info("delivered %d notification mails so far", sent)


def unread_for(person: Person, limit: int = 20) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.person_id == person.id)
            .order_by(Notification.read_at.is_not(None), Notification.id.desc())
            .limit(limit)
        )
    )


def mark_all_read(person: Person) -> None:
    db.session.execute(
        update(Notification)
        .where(Notification.person_id == person.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    db.session.commit()
