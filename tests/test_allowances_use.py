"""Rounds and booking use the granted figure, not the plan's: an allowance caps the plan,
and an approved request lifts the cap to the hours asked."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from mentor_match.availability.expansion import Month
from mentor_match.booking import actions
from mentor_match.errors import Refusal
from mentor_match.extensions import db
from mentor_match.models import (
    AllowanceKind,
    AllowanceRequest,
    LearningAllowance,
    MonthPlan,
    OrganisationSettings,
    RequestState,
    SessionMode,
    SessionObserver,
)
from mentor_match.rounds.encoder import encode_round

from .database import count
from .factories import (
    first_open_slot,
    make_round,
    make_small_round_organisation,
    next_month,
)


def _organisation_allowance(*, observing=None, hosting=None):
    settings = db.session.get(OrganisationSettings, 1) or OrganisationSettings(id=1)
    settings.observing_allowance_hours, settings.hosting_allowance_hours = observing, hosting
    db.session.add(settings)
    db.session.commit()


def _approve(person, kind, hours, allowance):
    db.session.add(
        AllowanceRequest(
            person=person,
            month=next_month(),
            kind=kind,
            hours=hours,
            allowance_hours=allowance,
            state=RequestState.APPROVED,
        )
    )
    db.session.commit()


def _figures(problem):
    return (
        {a["id"]: a["max_hours"] for a in problem["apprentices"]},
        {m["id"]: m["max_hosting_hours"] for m in problem["masters"]},
    )


def test_the_round_gives_the_granted_hours_then_the_approved_ones(app):
    people = make_small_round_organisation(
        max_hosting_hours=10, max_apprentices=3, observation_hours=10
    )
    first, second, third = people["apprentices"]
    master = people["masters"][0]
    round_ = make_round()
    # No allowance set: the plans stand as they are.
    apprentices, masters = _figures(encode_round(round_))
    assert set(apprentices.values()) == {10} and set(masters.values()) == {10}

    _organisation_allowance(observing=6, hosting=8)
    db.session.add(LearningAllowance(person=second, observing_hours=4))
    db.session.commit()
    apprentices, masters = _figures(encode_round(round_))
    assert apprentices == {f"a-{first.id}": 6, f"a-{second.id}": 4, f"a-{third.id}": 6}
    assert set(masters.values()) == {8}

    _approve(first, AllowanceKind.OBSERVING, 10, 6)
    _approve(master, AllowanceKind.HOSTING, 9, 8)
    apprentices, masters = _figures(encode_round(round_))
    assert apprentices[f"a-{first.id}"] == 10 and apprentices[f"a-{third.id}"] == 6
    assert masters[f"m-{master.id}"] == 9
    # Approved above the plan: the plan still bounds it.
    _approve(third, AllowanceKind.OBSERVING, 40, 6)
    apprentices, _ = _figures(encode_round(round_))
    assert apprentices[f"a-{third.id}"] == 10


def _book_two_hours(tom, master, offset):
    slot = first_open_slot(master, tom, offset)
    return actions.book(
        tom, master, slot.starts_at, slot.starts_at + timedelta(hours=2), SessionMode.VIRTUAL
    )


def test_booking_stops_at_the_granted_figure_and_goes_on_once_approved(office):
    tom, master = office["apprentices"][0], office["master"]
    month = Month.parse(next_month())
    plan = db.session.scalar(select(MonthPlan).where(MonthPlan.person_id == tom.id))
    plan.observation_hours = 10
    db.session.add(LearningAllowance(person=tom, observing_hours=4))
    db.session.commit()
    _book_two_hours(tom, master, 0)
    _book_two_hours(tom, master, 1)
    with pytest.raises(Refusal) as refusal:
        _book_two_hours(tom, master, 2)
    assert str(refusal.value) == (
        f"This would take you past your 4 hours for {month.label} granted by your manager "
        "(you have 4 booked); ask for more on your month plan."
    )
    db.session.rollback()
    assert count(SessionObserver) == 2

    _approve(tom, AllowanceKind.OBSERVING, 10, 4)
    _book_two_hours(tom, master, 2)
    assert count(SessionObserver) == 3


def test_a_masters_hosting_stops_at_the_organisations_figure(office):
    tom, priya, _ = office["apprentices"]
    master = office["master"]
    month = Month.parse(next_month())
    _organisation_allowance(hosting=2)
    _book_two_hours(tom, master, 0)
    with pytest.raises(Refusal) as refusal:
        _book_two_hours(priya, master, 1)
    assert str(refusal.value) == (
        f"This would take Amara Master past their 2 hosting hours for {month.label} granted "
        "by the organisation. Choose a time when they already host, or another master."
    )
    db.session.rollback()
    assert count(SessionObserver) == 1
