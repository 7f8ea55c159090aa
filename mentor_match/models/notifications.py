"""Messages shown to a person on the site, beside the mail that carries the same news."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .people import Person
from .types import UTCDateTime, utcnow


class Notification(db.Model):
    """News for one person; with a mail subject it also goes out by mail, once."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(300))
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mail_subject: Mapped[str] = mapped_column(String(200), default="")
    mail_body: Mapped[str] = mapped_column(Text, default="")
    # Set when its mail is put in the outbox (which sends and retries it), in the same
    # transaction, so a second delivery job never queues it again; set at once when there is
    # no mail, so only notifications with mail to queue are unset.
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    person: Mapped[Person] = relationship()
