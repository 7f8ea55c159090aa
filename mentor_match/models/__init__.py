"""Typed SQLAlchemy models, one module per concept; imported here so Alembic sees them all."""

from .allowances import AllowanceKind, AllowanceRequest, LearningAllowance, RequestState
from .availability import AvailabilityChange, ChangeKind, MonthPlan, WeeklyWindow
from .busy import BusyInterval, CalendarFeed
from .integrations import ApiToken, Event
from .mail import MailState, OutboxMessage
from .notifications import Notification
from .organisation import OrganisationSettings, SignUpPolicy
from .people import FailedLogin, Person
from .rounds import (
    Pairing,
    Response,
    Round,
    RoundExclusion,
    RoundRun,
    RoundStatus,
    RunKind,
    RunStatus,
    pairing_skills,
)
from .sessions import BookingSettings, SessionMode, SessionObserver, ShadowingSession
from .sites import Site
from .skills import (
    Area,
    AreaIntent,
    MicroSkill,
    PersonArea,
    PersonSkill,
    Stage,
    StageSource,
    slugify,
)
from .sso import SingleSignOnLink, SingleSignOnSettings
from .tracking import (
    Attendance,
    ChangeRecord,
    Endorsement,
    Feedback,
    FeedbackKind,
    MasteryRecord,
    Observation,
    PracticeAttempt,
    StageThreshold,
    observation_skills,
)
from .types import UTCDateTime, utcnow
from .webhooks import DeliveryState, EndpointKind, WebhookDelivery, WebhookEndpoint

__all__ = [
    "AllowanceKind",
    "AllowanceRequest",
    "ApiToken",
    "Area",
    "AreaIntent",
    "Attendance",
    "AvailabilityChange",
    "BookingSettings",
    "BusyInterval",
    "CalendarFeed",
    "ChangeKind",
    "ChangeRecord",
    "DeliveryState",
    "Endorsement",
    "EndpointKind",
    "Event",
    "FailedLogin",
    "Feedback",
    "FeedbackKind",
    "LearningAllowance",
    "MasteryRecord",
    "MicroSkill",
    "MonthPlan",
    "Notification",
    "Observation",
    "OrganisationSettings",
    "MailState",
    "OutboxMessage",
    "Pairing",
    "Person",
    "PersonArea",
    "PersonSkill",
    "PracticeAttempt",
    "RequestState",
    "Response",
    "Round",
    "RoundExclusion",
    "RoundRun",
    "RoundStatus",
    "RunKind",
    "RunStatus",
    "SessionMode",
    "SessionObserver",
    "ShadowingSession",
    "SignUpPolicy",
    "SingleSignOnLink",
    "SingleSignOnSettings",
    "Site",
    "Stage",
    "StageSource",
    "StageThreshold",
    "UTCDateTime",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WeeklyWindow",
    "observation_skills",
    "pairing_skills",
    "slugify",
    "utcnow",
]
