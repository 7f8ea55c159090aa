"""Requests for more learning time: asked by saving a month plan above the granted figure,
decided by the person's manager (or the admins), and handed to the admins when a manager goes.

Everyone concerned is told on the site and by mail, in the transaction of the change itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..availability.expansion import Month
from ..errors import Refusal
from ..extensions import db
from ..links import absolute_url
from ..models import AllowanceKind, AllowanceRequest, Person, RequestState, utcnow
from ..rounds.notices import notify_many
from ..tracking.hours import record_change
from .figures import Granted, granted

log = logging.getLogger(__name__)

CHANGE_SUBJECT = "allowance_request"
# The month plan's field each kind of learning time bounds, and the role that plans it.
PLAN_FIELD = {
    AllowanceKind.OBSERVING: "observation_hours",
    AllowanceKind.HOSTING: "max_hosting_hours",
}
NOT_YOURS_TO_DECIDE = "Only the person's manager or an admin can decide this request."
OWN_REQUEST = "You cannot decide your own request; your manager or another admin does."
DECLINE_NEEDS_REASON = "Say why you decline, so they know what to do next."
MAX_REASON = 1000


def kinds_planned_by(person: Person) -> list[AllowanceKind]:
    """The kinds of learning time this person's month plan sets: observing as an apprentice,
    hosting as a master."""
    kinds = []
    if person.is_apprentice:
        kinds.append(AllowanceKind.OBSERVING)
    if person.is_master:
        kinds.append(AllowanceKind.HOSTING)
    return kinds


def approver_for(person: Person) -> Person | None:
    """Who decides this person's requests: their manager while active, else the admins (None)."""
    manager = person.manager
    return manager if manager is not None and manager.active else None


def _active_admins() -> list[Person]:
    return list(
        db.session.scalars(select(Person).where(Person.is_admin.is_(True), Person.active.is_(True)))
    )


def _deciders(approver: Person | None) -> list[Person]:
    return [approver] if approver is not None else _active_admins()


def _tell(people: list[Person], text: str, link: str, *, subject: str, detail: str = "") -> None:
    """A notice on the site and by mail for each person; the caller commits."""
    notify_many(
        [
            {
                "person_id": person.id,
                "text": text[:300],
                "link": link,
                "mail_subject": subject[:200],
                "mail_body": f"Hello {person.name},\n\n{text}\n{detail}\n{link}\n",
            }
            for person in people
        ]
    )


def _label(request: AllowanceRequest) -> str:
    return f"{request.hours} h {request.kind.label} in {Month.parse(request.month).label}"


# --- Asking --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    """What saving a plan did about one kind of learning time."""

    kind: AllowanceKind
    granted: Granted
    planned: int
    # The request waiting now (new or kept), or None when the plan is within the figure.
    waiting: AllowanceRequest | None
    # A waiting request this save withdrew (replaced, or no longer needed).
    withdrew: bool

    @property
    def above(self) -> bool:
        return self.waiting is not None


def _waiting(person: Person, month: Month, kind: AllowanceKind) -> AllowanceRequest | None:
    return db.session.scalar(
        select(AllowanceRequest).where(
            AllowanceRequest.person_id == person.id,
            AllowanceRequest.month == str(month),
            AllowanceRequest.kind == kind,
            AllowanceRequest.state == RequestState.WAITING,
        )
    )


def _withdraw(request: AllowanceRequest, person: Person, why: str) -> None:
    request.state = RequestState.WITHDRAWN
    request.decided_at = utcnow()
    record_change(person, CHANGE_SUBJECT, request.id, "withdrawn", _label(request), why)
    # The state must reach the database before a new waiting row for the month is inserted.
    db.session.flush()


def _ask_one(person: Person, month: Month, kind: AllowanceKind, planned: int, reason: str) -> Asked:
    figure = granted(person, month, kind)
    waiting = _waiting(person, month, kind)
    if figure.within(planned):
        if waiting is not None:
            _withdraw(waiting, person, "the plan is within the granted figure")
        return Asked(kind, figure, planned, None, waiting is not None)
    approver = approver_for(person)
    if (
        waiting is not None
        and waiting.hours == planned
        and waiting.approver_id == (approver.id if approver else None)
    ):
        # The same ask saved again: no new question for the manager, only a better reason.
        if reason and reason != waiting.reason:
            waiting.reason = reason
        return Asked(kind, figure, planned, waiting, False)
    if waiting is not None:
        _withdraw(waiting, person, f"replaced by a request for {planned} h")
    request = AllowanceRequest(
        person=person,
        month=str(month),
        kind=kind,
        hours=planned,
        allowance_hours=figure.hours,
        reason=reason,
        approver=approver,
    )
    db.session.add(request)
    db.session.flush()
    record_change(person, CHANGE_SUBJECT, request.id, "asked", "", _label(request))
    allowance = f"{figure.hours} h granted"
    _tell(
        _deciders(approver),
        f"{person.name} asks for {_label(request)} ({allowance}).",
        absolute_url("allowances.requests_list"),
        subject=f"{person.name} asks for more learning time in {month.label}",
        detail=f"\nTheir reason: {reason}\n" if reason else "",
    )
    return Asked(kind, figure, planned, request, waiting is not None)


def ask_for_plan(
    person: Person, month: Month, planned: dict[str, int], *, reason: str = ""
) -> list[Asked]:
    """After a month plan is saved: ask for the hours above the granted figure, or withdraw
    the waiting ask a plan within it no longer needs; commits.

    `planned` is the saved plan's numbers by MonthPlan column. For each kind the person plans
    (observing as an apprentice, hosting as a master), a figure above the granted one makes a
    request (approver: their active manager, else the admins, who are told), replacing a
    waiting one for the same month and kind; saving the same figure again asks nothing new.
    """
    reason = (reason or "").strip()[:MAX_REASON]
    for attempt in range(2):
        try:
            asked = [
                _ask_one(person, month, kind, planned[PLAN_FIELD[kind]], reason)
                for kind in kinds_planned_by(person)
                if PLAN_FIELD[kind] in planned
            ]
            db.session.commit()
            return asked
        except IntegrityError:
            # Two saves at once: the other made the month's waiting request; read it again.
            db.session.rollback()
            if attempt:
                raise
            log.info("allowance request for person %s, %s asked twice at once", person.id, month)
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class PlanAllowance:
    """One kind of learning time on the month plan page: the figure, and any question open."""

    kind: AllowanceKind
    granted: Granted
    waiting: AllowanceRequest | None
    # The latest decided request for the month and kind, to say what came of it.
    decided: AllowanceRequest | None


def plan_allowances(person: Person, month: Month) -> list[PlanAllowance]:
    """The granted figure and open or decided requests for each kind the person plans."""
    shown = []
    for kind in kinds_planned_by(person):
        decided = db.session.scalar(
            select(AllowanceRequest)
            .where(
                AllowanceRequest.person_id == person.id,
                AllowanceRequest.month == str(month),
                AllowanceRequest.kind == kind,
                AllowanceRequest.state.in_([RequestState.APPROVED, RequestState.DECLINED]),
            )
            .order_by(AllowanceRequest.decided_at.desc(), AllowanceRequest.id.desc())
            .limit(1)
        )
        shown.append(
            PlanAllowance(
                kind, granted(person, month, kind), _waiting(person, month, kind), decided
            )
        )
    return shown


# --- Deciding ------------------------------------------------------------------------------


def may_decide(actor: Person, request: AllowanceRequest) -> bool:
    """Whether the actor may approve or decline: the approver, or any admin (for requests
    with no approver, and for oversight); never the person who asked."""
    if not actor.active or actor.id == request.person_id:
        return False
    return actor.is_admin or (request.approver_id is not None and request.approver_id == actor.id)


def _decide(actor: Person, request: AllowanceRequest, state: RequestState, reason: str) -> None:
    if actor.id == request.person_id and actor.active:
        raise Refusal(OWN_REQUEST)
    if not may_decide(actor, request):
        raise Refusal(NOT_YOURS_TO_DECIDE)
    # Claimed by a conditional update: of two deciders at once, one wins and one looks again.
    claimed = db.session.execute(
        update(AllowanceRequest)
        .where(AllowanceRequest.id == request.id, AllowanceRequest.state == RequestState.WAITING)
        .values(state=state, decided_by_id=actor.id, decided_at=utcnow(), decision_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        db.session.rollback()
        db.session.refresh(request)
        raise Refusal(
            f"This request is no longer waiting (it is {request.state.value}); look again at "
            "the list."
        )
    db.session.refresh(request)
    person = request.person
    record_change(actor, CHANGE_SUBJECT, request.id, state.value, _label(request), reason)
    month = Month.parse(request.month)
    link = absolute_url("availability.plan", month=request.month)
    if state is RequestState.APPROVED:
        text = (
            f"{actor.name} approved {_label(request)}: "
            f"rounds and booking now use {request.hours} h."
        )
        subject = f"Your learning time for {month.label} is approved"
    else:
        text = (
            f"{actor.name} declined {_label(request)}: rounds and booking keep "
            f"{request.allowance_hours} h."
        )
        subject = f"Your request for more learning time in {month.label} is declined"
    _tell([person], text, link, subject=subject, detail=f"\nWhy: {reason}\n" if reason else "")
    db.session.commit()


def approve(actor: Person, request: AllowanceRequest, *, reason: str = "") -> None:
    """Grant the hours asked for the month; the person is told; commits.

    Refuses anyone but the approver or an admin, the person themself, and a request already
    decided or withdrawn (look again)."""
    _decide(actor, request, RequestState.APPROVED, (reason or "").strip()[:MAX_REASON])


def decline(actor: Person, request: AllowanceRequest, *, reason: str) -> None:
    """Refuse the hours asked, saying why (required); the person is told; commits."""
    reason = (reason or "").strip()[:MAX_REASON]
    if not reason:
        raise Refusal(DECLINE_NEEDS_REASON, problems={"reason": DECLINE_NEEDS_REASON})
    _decide(actor, request, RequestState.DECLINED, reason)


# --- Handing over --------------------------------------------------------------------------


def hand_over_requests(manager: Person, *, person: Person | None = None, why: str) -> int:
    """Give the admins the requests `manager` still has to decide (only `person`'s, if given),
    and tell every active admin; the caller commits. Returns how many were handed over."""
    query = select(AllowanceRequest).where(
        AllowanceRequest.approver_id == manager.id,
        AllowanceRequest.state == RequestState.WAITING,
    )
    if person is not None:
        query = query.where(AllowanceRequest.person_id == person.id)
    requests = list(db.session.scalars(query))
    for request in requests:
        request.approver_id = None
        record_change(None, CHANGE_SUBJECT, request.id, "handed to the admins", manager.name, why)
    if requests:
        count = len(requests)
        _tell(
            _active_admins(),
            f"{why}: {count} request(s) for more learning time now wait for the admins.",
            absolute_url("allowances.requests_list"),
            subject="Requests for learning time to decide",
        )
    return len(requests)


# --- The requests page ---------------------------------------------------------------------


@dataclass(frozen=True)
class RequestsPage:
    """What the requests page shows one person."""

    for_you: list[AllowanceRequest]  # waiting, and theirs to decide
    for_others: list[AllowanceRequest]  # waiting for another manager (admins only: oversight)
    decided: list[AllowanceRequest]  # decided lately, by them or (for admins) anyone
    is_admin: bool


RECENT_DECISIONS = 30


def requests_page(actor: Person) -> RequestsPage:
    """The waiting requests an actor decides, others' for an admin's oversight, and recent
    decisions."""
    loads = (
        selectinload(AllowanceRequest.person),
        selectinload(AllowanceRequest.approver),
        selectinload(AllowanceRequest.decided_by),
    )
    waiting = select(AllowanceRequest).where(AllowanceRequest.state == RequestState.WAITING)
    mine = AllowanceRequest.approver_id == actor.id
    if actor.is_admin:
        mine = or_(mine, AllowanceRequest.approver_id.is_(None))
    order = (AllowanceRequest.month, AllowanceRequest.created_at, AllowanceRequest.id)
    for_you = list(
        db.session.scalars(
            waiting.where(mine, AllowanceRequest.person_id != actor.id)
            .options(*loads)
            .order_by(*order)
        )
    )
    for_others = (
        list(
            db.session.scalars(
                waiting.where(~mine | (AllowanceRequest.person_id == actor.id))
                .options(*loads)
                .order_by(*order)
            )
        )
        if actor.is_admin
        else []
    )
    decided_query = select(AllowanceRequest).where(
        AllowanceRequest.state.in_([RequestState.APPROVED, RequestState.DECLINED])
    )
    if not actor.is_admin:
        decided_query = decided_query.where(AllowanceRequest.decided_by_id == actor.id)
    decided = list(
        db.session.scalars(
            decided_query.options(*loads)
            .order_by(AllowanceRequest.decided_at.desc(), AllowanceRequest.id.desc())
            .limit(RECENT_DECISIONS)
        )
    )
    return RequestsPage(for_you, for_others, decided, actor.is_admin)
