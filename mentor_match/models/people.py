"""People: everyone who signs in, whether master, apprentice, both, or admin."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from .availability import AvailabilityChange, MonthPlan, WeeklyWindow
    from .sites import Site
    from .skills import PersonArea, PersonSkill


def new_session_token() -> str:
    """A fresh random token; changing it ends every signed-in session of the person."""
    return secrets.token_urlsafe(24)


class Person(UserMixin, db.Model):
    """Someone who signs in. Masters host observers; apprentices observe; admins run rounds."""

    __tablename__ = "people"
    # A cycle through several people is refused by people.managers.set_manager; the
    # database can only refuse the shortest one.
    __table_args__ = (
        CheckConstraint("manager_id IS NULL OR manager_id <> id", name="not_own_manager"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_master: Mapped[bool] = mapped_column(default=False)
    is_apprentice: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    # None means the person works remotely and can only observe or host on video.
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("sites.id", ondelete="SET NULL"), index=True
    )
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Who grants this person's learning time and decides their requests for more; None means
    # the admins do. Kept NULL, not deleted with the manager, when a manager's row goes.
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), index=True
    )
    bio: Mapped[str] = mapped_column(Text, default="")
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    # SHA-256 of the secret in the person's calendar feed URL (the URL is shown once, when
    # made); None until they make one. A new one voids the old URL.
    calendar_token_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    # As a master: whether any apprentice wanting a micro skill they teach may book them,
    # not only apprentices a round paired with them.
    open_to_bookings: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # None while a self sign-up waits for its mailed link to be followed: such a person cannot
    # log in. People added by an admin or an import start confirmed (the admin knows them).
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    site: Mapped[Site | None] = relationship(back_populates="people")
    manager: Mapped[Person | None] = relationship(remote_side=[id], back_populates="team")
    team: Mapped[list[Person]] = relationship(back_populates="manager", order_by="Person.name")
    skills: Mapped[list[PersonSkill]] = relationship(
        back_populates="person",
        cascade="all, delete-orphan",
        foreign_keys="PersonSkill.person_id",
    )
    areas: Mapped[list[PersonArea]] = relationship(
        back_populates="person", cascade="all, delete-orphan"
    )
    weekly_windows: Mapped[list[WeeklyWindow]] = relationship(
        back_populates="person",
        cascade="all, delete-orphan",
        order_by="(WeeklyWindow.weekday, WeeklyWindow.start_time)",
    )
    availability_changes: Mapped[list[AvailabilityChange]] = relationship(
        back_populates="person",
        cascade="all, delete-orphan",
        order_by="(AvailabilityChange.day, AvailabilityChange.start_time)",
    )
    month_plans: Mapped[list[MonthPlan]] = relationship(
        back_populates="person", cascade="all, delete-orphan"
    )

    # Flask-Login: inactive people cannot sign in, and the id carries the session token so
    # that rotating the token (log-out, password change, deactivation) voids old cookies.
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def end_sessions(self) -> None:
        """Void every session cookie issued to this person so far."""
        self.session_token = new_session_token()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_remote(self) -> bool:
        return self.site_id is None

    @property
    def roles(self) -> list[str]:
        return [
            role
            for role, held in (
                ("admin", self.is_admin),
                ("master", self.is_master),
                ("apprentice", self.is_apprentice),
            )
            if held
        ]

    def __repr__(self) -> str:
        return f"<Person {self.email}>"


class FailedLogin(db.Model):
    """One failed log-in attempt, from one client: too many from it lock that client out.

    Counted per account and client, so a stranger's guessing locks only the stranger out,
    never the owner signing in from elsewhere (mentor_match.accounts.services.authenticate).
    """

    __tablename__ = "failed_logins"
    __table_args__ = (Index("ix_failed_logins_person_client_at", "person_id", "client", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    # The client's address as the site saw it (see PROXY_HOPS); 45 holds any IPv6 text form.
    client: Mapped[str] = mapped_column(String(45), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
