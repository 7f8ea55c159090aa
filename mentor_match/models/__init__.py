"""Typed SQLAlchemy models, one module per concept; imported here so Alembic sees them all."""
from .availability import AvailabilityChange, ChangeKind, MonthPlan, WeeklyWindow
from .mail import OutboxMessage
from .people import FailedLogin, Person
from .sites import Site
from .skills import Area, AreaIntent, MicroSkill, PersonArea, PersonSkill, Stage, slugify
from .types import UTCDateTime, utcnow

__all__ = [
    "Area", "AreaIntent", "AvailabilityChange", "ChangeKind", "FailedLogin", "MicroSkill",
    "MonthPlan", "OutboxMessage", "Person", "PersonArea", "PersonSkill", "Site", "Stage",
    "UTCDateTime", "WeeklyWindow", "slugify", "utcnow",
]
