"""What a person should see first when they sign in."""
from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import Select, bindparam, exists, func, literal, select

from ..booking.services import Appointment, upcoming
from ..extensions import db
from ..models import Pairing, Person, PersonSkill, Response, Site, WeeklyWindow, utcnow
from ..rounds.services import RoundCall, round_call_for
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
def _setup_facts_query(master: bool) -> Select:
    """What the checklist and the counts need, as one statement rather than a query each.

    Built once (for masters and for others) and run with :person_id, :site_id and :now bound:
    the dashboard is the most visited page, and building the statement costs more CPU
    than running it.
    """
    person_id = bindparam("person_id")
    skills = select(PersonSkill.micro_skill_id).where(PersonSkill.person_id == person_id)
    pending_pairings = select(func.count(Pairing.id)).where(
        ((Pairing.apprentice_id == person_id) & (Pairing.apprentice_response == Response.PENDING))
        | ((Pairing.master_id == person_id) & (Pairing.master_response == Response.PENDING))
    )
    seats_to_confirm = count_seats_to_confirm(person_id, bindparam("now")) if master else literal(0)
    windows = select(WeeklyWindow.id).where(WeeklyWindow.person_id == person_id)
    site_name = select(Site.name).where(Site.id == bindparam("site_id"))
    return select(
        exists(skills).label("has_skills"),
        exists(skills.where(PersonSkill.hosts)).label("hosts"),
        exists(skills.where(PersonSkill.develops)).label("develops"),
        exists(windows).label("has_windows"),
        pending_pairings.scalar_subquery().label("pairings_to_answer"),
        seats_to_confirm.label("seats_to_confirm"),
        site_name.scalar_subquery().label("site_name"),
    )


def dashboard_for(person: Person) -> Dashboard:
    """Build the checklist of next steps for a person."""
    facts = db.session.execute(
        _setup_facts_query(person.is_master),
        {"person_id": person.id, "site_id": person.site_id, "now": utcnow()},
    ).one()
    board = Dashboard(person=person, site_name=facts.site_name)
    board.steps.append(("Add your micro skills and stages", "profiles.skills", facts.has_skills))
    if person.is_master:
        board.steps.append(
            ("Choose the micro skills you can be observed doing", "profiles.skills", facts.hosts)
        )
    if person.is_apprentice:
        board.steps.append(
            ("Choose the micro skills you want to develop", "profiles.skills", facts.develops)
        )
    board.steps.append(("Set your weekly availability", "availability.weekly", facts.has_windows))
    board.steps.append(("Write a short bio", "profiles.edit", bool(person.bio.strip())))
    board.round_call = round_call_for(person)
    board.next_sessions = upcoming(person, limit=NEXT_SESSIONS)
    board.seats_to_confirm = facts.seats_to_confirm
    board.pairings_to_answer = facts.pairings_to_answer
    return board
