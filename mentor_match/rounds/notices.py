"""Tell people about their rounds on the site and by mail, without sending anything twice."""

from __future__ import annotations

import logging

from sqlalchemy import insert, select, update

from ..accounts.services import INVITATION_LINK
from ..extensions import db
from ..mail import links
from ..mail.services import deliver_due_mail, queue_mail
from ..models import Notification, Person, utcnow

log = logging.getLogger(__name__)


def notify_many(notices: list[dict]) -> None:
    """Add notifications in bulk: dicts of person_id, text, link, mail_subject, mail_body.

    The caller commits, so the news is part of the same transaction as what it reports. A
    notice with no mail is marked mailed at once, so the index on mailed_at holds only mail
    still to queue and the every-minute delivery pass reads nothing else.
    """
    if notices:
        now = utcnow()
        rows = [
            {**notice, "mailed_at": None if notice.get("mail_subject") else now}
            for notice in notices
        ]
        db.session.execute(insert(Notification), rows)


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
    """Put the mail of every notification not yet mailed in the outbox, then send every mail
    that is due there (new ones and retries); returns how many went out.

    Run every minute by the schedule; with nothing to do it is two indexed queries (the
    notifications with mailed_at unset, the outbox's mail that is due).
    """
    queue_notification_mail(batch)
    return deliver_due_mail(batch=batch)


def queue_notification_mail(batch: int = 500) -> int:
    """Move the mail of notifications not yet mailed into the outbox; returns how many.

    Each notification is claimed (mailed_at set by a conditional update) in the transaction
    that adds its mail, so two deliveries running at once never queue the same mail twice.
    An invitation's set-password link is made when the mail is sent, not stored.
    """
    queued = 0
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
            .where(Notification.mailed_at.is_(None), Notification.mail_subject != "")
            .order_by(Notification.id)
            .limit(batch)
        ).all()
        if not pending:
            return queued
        for notice_id, person_id, email, subject, body in pending:
            claimed = db.session.execute(
                update(Notification)
                .where(Notification.id == notice_id, Notification.mailed_at.is_(None))
                .values(mailed_at=utcnow())
            ).rowcount
            if claimed:
                link_kind = links.INVITATION if INVITATION_LINK in body else ""
                queue_mail(email, subject, body, person_id=person_id, link_kind=link_kind)
                queued += 1
        db.session.commit()
        log.info("queued %d notification mails so far", queued)


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
