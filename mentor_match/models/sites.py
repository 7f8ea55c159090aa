"""Workplaces: where people can be observed in person."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db

if TYPE_CHECKING:
    from .people import Person


class Site(db.Model):
    """An office or other workplace, with the IANA time zone it keeps."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))

    people: Mapped[list[Person]] = relationship(back_populates="site")

    def __repr__(self) -> str:
        return f"<Site {self.name} ({self.timezone})>"
