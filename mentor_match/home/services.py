"""What a person should see first when they sign in."""
from dataclasses import dataclass, field

from sqlalchemy import select

from ..booking.services import upcoming
from ..extensions import db
from ..models import Pairing, Person, Response
from ..rounds.services import RoundCall, round_call_for
from ..tracking.services import seats_to_confirm


@dataclass
class Dashboard:
    """A signed-in person's checklist of what is set up and what is missing."""

    person: Person
    steps: list[tuple[str, str, bool]] = field(default_factory=list)  # (label, endpoint, done)
    round_call: RoundCall | None = None
    pairings_to_answer: int = 0
    next_sessions: list = field(default_factory=list)
    seats_to_confirm: int = 0


def dashboard_for(person: Person) -> Dashboard:
    """Build the checklist of next steps for a person."""
    board = Dashboard(person=person)
    hosted = any(skill.hosts for skill in person.skills)
    developed = any(skill.develops for skill in person.skills)
    board.steps.append(("Add your micro skills and stages", "profiles.skills", bool(person.skills)))
    if person.is_master:
        board.steps.append(("Choose the micro skills you can be observed doing", "profiles.skills", hosted))
    if person.is_apprentice:
        board.steps.append(("Choose the micro skills you want to develop", "profiles.skills", developed))
    board.steps.append(("Set your weekly availability", "availability.weekly", bool(person.weekly_windows)))
    board.steps.append(("Write a short bio", "profiles.edit", bool(person.bio.strip())))
    board.round_call = round_call_for(person)
    board.next_sessions = upcoming(person)[:3]
    if person.is_master:
        board.seats_to_confirm = len(seats_to_confirm(person))
    board.pairings_to_answer = len(db.session.scalars(
        select(Pairing.id).where(
            ((Pairing.apprentice_id == person.id) & (Pairing.apprentice_response == Response.PENDING))
            | ((Pairing.master_id == person.id) & (Pairing.master_response == Response.PENDING))
        )
    ).all())
    return board
