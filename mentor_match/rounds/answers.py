"""People answering their pairings: accept or decline, and the seats a decline frees."""

from __future__ import annotations

from sqlalchemy import func, select, update

from ..availability.expansion import Month
from ..errors import Refusal
from ..extensions import db
from ..links import absolute_url
from ..models import (
    Pairing,
    Person,
    Response,
    Round,
    RoundStatus,
    SessionObserver,
    ShadowingSession,
    utcnow,
)
from .notices import notify


def pairings_of(person: Person) -> list[Pairing]:
    return list(
        db.session.scalars(
            select(Pairing)
            .where((Pairing.apprentice_id == person.id) | (Pairing.master_id == person.id))
            .order_by(Pairing.created_at.desc(), Pairing.id)
        )
    )


def round_without_me(person: Person) -> Round | None:
    """The latest published round, this month's or later, that paired this apprentice with
    nobody though they were here by its deadline (their dashboard says why)."""
    if not person.is_apprentice:
        return None
    this_month = utcnow().astimezone(person.zone).strftime("%Y-%m")
    round_ = db.session.scalar(
        select(Round)
        .where(Round.status == RoundStatus.PUBLISHED, Round.month >= this_month)
        .order_by(Round.month.desc())
        .limit(1)
    )
    if round_ is None or person.created_at > round_.confirm_by:
        return None
    paired = db.session.scalar(
        select(Pairing.id)
        .where(Pairing.round_id == round_.id, Pairing.apprentice_id == person.id)
        .limit(1)
    )
    return None if paired else round_


def respond(pairing: Pairing, person: Person, *, accept: bool) -> None:
    """Record one side's answer; a decline frees the pairing's sessions for a fill run."""
    answer = Response.ACCEPTED if accept else Response.DECLINED
    column = (
        Pairing.apprentice_response
        if person.id == pairing.apprentice_id
        else Pairing.master_response
        if person.id == pairing.master_id
        else None
    )
    if column is None:
        raise Refusal("This pairing is not yours.")
    answered = db.session.execute(
        update(Pairing)
        .where(Pairing.id == pairing.id, column == Response.PENDING)
        .values({column.key: answer, "responded_at": utcnow()})
    ).rowcount
    if not answered:
        db.session.rollback()
        raise Refusal("You have already answered this pairing.")
    db.session.refresh(pairing)
    other = pairing.master if person.id == pairing.apprentice_id else pairing.apprentice
    if not accept:
        _free_sessions(pairing)
        text = f"{person.name} declined your pairing for {Month.parse(pairing.round.month).label}."
    else:
        text = f"{person.name} accepted your pairing for {Month.parse(pairing.round.month).label}."
    link = absolute_url("rounds.my_pairings")
    notify(
        other,
        text,
        link,
        subject=text,
        body=f"Hello {other.name},\n\n{text}\n\nSee it here: {link}\n",
    )
    db.session.commit()


def _free_sessions(pairing: Pairing) -> None:
    """Give up the pairing's seats and drop sessions nobody observes any more."""
    session_ids = list(
        db.session.scalars(
            select(SessionObserver.session_id).where(SessionObserver.pairing_id == pairing.id)
        )
    )
    db.session.execute(
        SessionObserver.__table__.delete().where(SessionObserver.pairing_id == pairing.id)
    )
    if session_ids:
        observed = select(SessionObserver.session_id).where(
            SessionObserver.session_id.in_(session_ids)
        )
        db.session.execute(
            ShadowingSession.__table__.delete().where(
                ShadowingSession.id.in_(session_ids), ShadowingSession.id.not_in(observed)
            )
        )


def declined_count(round_: Round) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Pairing)
            .where(
                Pairing.round_id == round_.id,
                (Pairing.apprentice_response == Response.DECLINED)
                | (Pairing.master_response == Response.DECLINED),
            )
        )
        or 0
    )
