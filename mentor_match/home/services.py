"""What a person should see first when they sign in."""

from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import Select, bindparam, exists, func, literal, select, true

from ..booking.diary import Appointment, live_hosting, live_seats, upcoming
from ..extensions import db
from ..models import (
    OrganisationSettings,
    Pairing,
    Person,
    PersonSkill,
    Response,
    SessionObserver,
    ShadowingSession,
    Site,
    Stage,
    StageSource,
    WeeklyWindow,
    utcnow,
)
from ..rounds.calls import RoundCall, round_call_from, round_call_query
from ..tracking.services import count_seats_to_confirm

NEXT_SESSIONS = 3


@dataclass
class Dashboard:
    """A signed-in person's checklist of what is set up and what is missing."""

    person: Person
    steps: list[tuple[str, str, bool]] = field(default_factory=list)  # (label, endpoint, done)
    round_call: RoundCall | None = None
    pairings_to_answer: int = 0
    next_sessions: list[Appointment] = field(default_factory=list)
    seats_to_confirm: int = 0
    site_name: str | None = None  # None: the person works remotely


@cache
def _setup_facts_query(*, master: bool) -> Select:
    """Everything the dashboard needs but the person and their sessions, in one statement.

    Built once (for masters and for others) and run with :person_id, :site_id and :now bound:
    the dashboard is the most visited page, building the statement costs more CPU than
    running it, and another statement's round trip costs more than another subquery.
    The row also says whether the person hosts or observes anything ahead, so the dashboard
    asks for the halves of the diary that have sessions and skips the others, and brings the
    first open round with the person's confirmation of it.
    """
    person_id, now = bindparam("person_id"), bindparam("now")
    skills = select(PersonSkill.micro_skill_id).where(PersonSkill.person_id == person_id)
    pending_pairings = select(func.count(Pairing.id)).where(
        ((Pairing.apprentice_id == person_id) & (Pairing.apprentice_response == Response.PENDING))
        | ((Pairing.master_id == person_id) & (Pairing.master_response == Response.PENDING))
    )
    seats_to_confirm = count_seats_to_confirm(person_id, now) if master else literal(0)
    windows = select(WeeklyWindow.id).where(WeeklyWindow.person_id == person_id)
    site_name = select(Site.name).where(Site.id == bindparam("site_id"))
    # The same live sessions booking.upcoming lists, from :now on.
    hosting_ahead = select(ShadowingSession.id).where(*live_hosting(person_id, now))
    observing_ahead = select(SessionObserver.id).where(*live_seats(person_id, now))
    # The round call rounds.round_call_for finds: the first open round, with :person_id's
    # confirmation of it.
    call = round_call_query(of_month=False).subquery("round_call")
    return (
        select(
            exists(skills).label("has_skills"),
            exists(skills.where(PersonSkill.hosts)).label("hosts"),
            exists(
                skills.where(
                    PersonSkill.hosts,
                    PersonSkill.stage != Stage.APPRENTICE,
                    PersonSkill.stage_source != StageSource.SELF_DECLARED,
                )
            ).label("hosts_verified"),
            # The organisation's rule, read in the same statement (a fresh site: true).
            func.coalesce(
                select(OrganisationSettings.only_verified_hosts)
                .where(OrganisationSettings.id == 1)
                .scalar_subquery(),
                true(),
            ).label("only_verified_hosts"),
            exists(skills.where(PersonSkill.develops)).label("develops"),
            exists(windows).label("has_windows"),
            pending_pairings.scalar_subquery().label("pairings_to_answer"),
            seats_to_confirm.label("seats_to_confirm"),
            site_name.scalar_subquery().label("site_name"),
            exists(hosting_ahead).label("hosting_ahead"),
            exists(observing_ahead).label("observing_ahead"),
            call.c.month.label("round_month"),
            call.c.confirm_by.label("round_confirm_by"),
            call.c.confirmed_at,
        )
        .select_from(Person)
        .outerjoin(call, true())
        .where(Person.id == person_id)
    )


def dashboard_for(person: Person) -> Dashboard:
    """Build the checklist of next steps for a person."""
    now = utcnow()
    facts = db.session.execute(
        _setup_facts_query(master=person.is_master),
        {"person_id": person.id, "site_id": person.site_id, "now": now},
    ).one()
    board = Dashboard(person=person, site_name=facts.site_name)
    board.steps.append(("Add your micro skills and stages", "profiles.skills", facts.has_skills))
    if person.is_master:
        board.steps.append(
            ("Choose the micro skills you can be observed doing", "profiles.skills", facts.hosts)
        )
        if facts.hosts and facts.only_verified_hosts:
            board.steps.append(
                (
                    "Have a stage you host verified by an admin or a verified master in the skill",
                    "profiles.skills",
                    facts.hosts_verified,
                )
            )
    if person.is_apprentice:
        board.steps.append(
            ("Choose the micro skills you want to develop", "profiles.skills", facts.develops)
        )
    board.steps.append(("Set your weekly availability", "availability.weekly", facts.has_windows))
    board.steps.append(("Write a short bio", "profiles.edit", bool(person.bio.strip())))
    board.round_call = round_call_from(
        person, facts.round_month, facts.round_confirm_by, facts.confirmed_at
    )
    if facts.hosting_ahead or facts.observing_ahead:
        board.next_sessions = upcoming(
            person,
            start=now,
            limit=NEXT_SESSIONS,
            hosting=facts.hosting_ahead,
            observing=facts.observing_ahead,
        )
    board.seats_to_confirm = facts.seats_to_confirm
    board.pairings_to_answer = facts.pairings_to_answer
    return board
