"""Setting a person's manager: never themselves, never in a cycle.

A minimal version for the import and the API on this branch; the full service (with its
change log and notices) comes with the allowance pages, and the lead reconciles the two.
"""

from __future__ import annotations

from ..errors import Refusal
from ..extensions import db
from ..models import Person


def manages_through(manager: Person, person: Person) -> bool:
    """Whether `person` is `manager`'s manager, directly or through others (as now held)."""
    seen: set[int] = set()
    current: Person | None = manager
    while current is not None and current.id not in seen:
        if current.id == person.id:
            return True
        seen.add(current.id)
        current = db.session.get(Person, current.manager_id) if current.manager_id else None
    return False


def set_manager(actor: Person, person: Person, manager: Person | None) -> None:
    """Make `manager` the person's manager (None: the admins decide for them); the caller
    commits. Refuses self-management and any cycle (A manages B manages A)."""
    if manager is not None:
        if manager.id == person.id:
            raise Refusal(f"{person.name} cannot be their own manager.")
        if manages_through(manager, person):
            raise Refusal(
                f"{person.name} already manages {manager.name}, directly or through others; "
                "a manager cannot be managed by their own team."
            )
    person.manager_id = manager.id if manager is not None else None
