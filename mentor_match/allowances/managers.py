"""Who manages whom: the one way a person's manager is set, from the profile, the admin's page,
the CSV import and the API alike."""

from __future__ import annotations

from sqlalchemy import func, select

from ..errors import Refusal
from ..extensions import db
from ..models import Person
from ..tracking.hours import record_change
from .requests import hand_over_requests

CHANGE_SUBJECT = "person_manager"
NOT_YOURS = "You can set only your own manager; an admin can set anyone's."
OWN_MANAGER = "You cannot be your own manager."
NO_SUCH_PERSON = "No one has that name or email; check it, or leave it empty."
SEVERAL_NAMED = "More than one person has that name; enter their email instead."


def _said(person: Person | None) -> str:
    """A person as the change log keeps them: name and email, or "none"."""
    return f"{person.name} <{person.email}>" if person else "none"


def _reports_to(manager: Person, person: Person) -> bool:
    """Whether `manager` is managed by `person`, directly or through others, as the database
    has it now (each step is read, not taken from rows this session loaded earlier)."""
    seen: set[int] = set()
    current: int | None = manager.id
    while current is not None and current not in seen:
        seen.add(current)
        current = db.session.scalar(select(Person.manager_id).where(Person.id == current))
        if current == person.id:
            return True
    return False


def _lock(*people: Person) -> None:
    """Lock the rows of the two people a change joins (on PostgreSQL), in id order, so that two
    people naming each other at the same moment are checked one after the other."""
    db.session.execute(
        select(Person.id)
        .where(Person.id.in_(sorted({person.id for person in people})))
        .order_by(Person.id)
        .with_for_update()
    ).all()


def set_manager(
    actor: Person, person: Person, manager: Person | None, *, commit: bool = True
) -> bool:
    """Make `manager` the manager of `person` (None: no manager, the admins decide); logged.

    `actor` is who asks: the person themself or an active admin. Refuses, with a
    `Refusal` and nothing changed: anyone else; the person as their own manager; a deactivated
    manager; and a manager who reports to the person, directly or through others (a cycle of
    any length). Requests the old manager had still to decide for this person go to the admins,
    who are told. Returns whether anything changed. With `commit=False` the caller (a bulk
    import) commits, or rolls back on a later refusal.
    """
    if not actor.active or not (actor.is_admin or actor.id == person.id):
        raise Refusal(NOT_YOURS)
    if manager is not None:
        if manager.id == person.id:
            raise Refusal(
                OWN_MANAGER
                if actor.id == person.id
                else f"{person.name} cannot be their own manager."
            )
        _lock(person, manager)
        if not manager.active:
            raise Refusal(
                f"{manager.name} is deactivated and cannot be a manager; choose someone active."
            )
        if _reports_to(manager, person):
            if actor.id == person.id:
                raise Refusal(
                    f"{manager.name} reports to you, directly or through others, "
                    "so cannot be your manager."
                )
            raise Refusal(
                f"{manager.name} reports to {person.name}, directly or through others, "
                f"so cannot be {person.name}'s manager."
            )
    new_id = manager.id if manager else None
    if person.manager_id == new_id:
        return False
    old = person.manager
    person.manager = manager
    record_change(actor, CHANGE_SUBJECT, person.id, "changed", _said(old), _said(manager))
    if old is not None:
        hand_over_requests(old, person=person, why=f"{old.name} no longer manages {person.name}")
    if commit:
        db.session.commit()
    return True


def person_named(text: str) -> Person | None:
    """The person with that email or name (any case); None for empty text.

    Refuses a name or email that matches no one, and a name several people share. A
    deactivated person is found, so that set_manager can say why they cannot manage.
    """
    text = text.strip()
    if not text:
        return None
    if "@" in text:
        found = db.session.scalars(
            select(Person).where(func.lower(Person.email) == text.lower())
        ).all()
    else:
        found = db.session.scalars(
            select(Person).where(func.lower(Person.name) == text.lower())
        ).all()
    if not found:
        raise Refusal(NO_SUCH_PERSON, problems={"manager": NO_SUCH_PERSON})
    if len(found) > 1:
        raise Refusal(SEVERAL_NAMED, problems={"manager": SEVERAL_NAMED})
    return found[0]


def active_people_choices() -> list[tuple[str, str]]:
    """Every active person as (email, "Name <email>"), for a list the browser completes from."""
    return [
        (email, f"{name} <{email}>")
        for name, email in db.session.execute(
            select(Person.name, Person.email).where(Person.active.is_(True)).order_by(Person.name)
        )
    ]
