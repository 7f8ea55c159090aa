"""The granted figure: an approved request, else the person's own allowance, else the
organisation's, else none. Every reader of learning time goes through it."""

from mentor_match.allowances.figures import Source, granted, granted_for
from mentor_match.availability.expansion import Month
from mentor_match.extensions import db
from mentor_match.models import (
    AllowanceKind,
    AllowanceRequest,
    LearningAllowance,
    OrganisationSettings,
    RequestState,
)
from tests.factories import make_apprentice, make_master

DECEMBER = Month(2026, 12)
OBSERVING = AllowanceKind.OBSERVING


def _organisation(*, observing=None, hosting=None):
    db.session.add(
        OrganisationSettings(
            id=1, observing_allowance_hours=observing, hosting_allowance_hours=hosting
        )
    )


def _request(person, hours, state, *, month="2026-12", kind=OBSERVING, allowance=6):
    db.session.add(
        AllowanceRequest(
            person=person,
            month=month,
            kind=kind,
            hours=hours,
            allowance_hours=allowance,
            state=state,
        )
    )


def test_with_no_allowance_set_nothing_is_limited(app):
    tom = make_apprentice("Tom")
    db.session.commit()
    figure = granted(tom, DECEMBER, OBSERVING)
    assert (figure.allowance, figure.hours, figure.source) == (None, None, Source.NONE)
    assert figure.within(400) and figure.cap(12) == 12


def test_the_organisation_default_then_the_persons_own_then_an_approval(app):
    _organisation(observing=6, hosting=8)
    tom, ana, lee = make_apprentice("Tom"), make_apprentice("Ana"), make_master("Lee")
    db.session.flush()
    db.session.add(LearningAllowance(person=ana, observing_hours=4))
    _request(tom, 10, RequestState.APPROVED)
    _request(tom, 12, RequestState.DECLINED)
    _request(tom, 14, RequestState.WAITING)
    _request(ana, 9, RequestState.APPROVED, month="2027-01", allowance=4)
    db.session.commit()

    figures = granted_for([tom.id, ana.id, lee.id], DECEMBER, OBSERVING)
    assert (figures[tom.id].hours, figures[tom.id].source) == (10, Source.APPROVED)
    assert figures[tom.id].allowance == 6
    assert (figures[ana.id].hours, figures[ana.id].source) == (4, Source.OWN)
    assert (figures[lee.id].hours, figures[lee.id].source) == (6, Source.ORGANISATION)
    assert granted(lee, DECEMBER, AllowanceKind.HOSTING).hours == 8
    assert granted(ana, Month(2027, 1), OBSERVING).hours == 9
    assert figures[tom.id].cap(12) == 10 and not figures[tom.id].within(10.5)


def test_an_approval_below_a_raised_allowance_does_not_lower_it(app):
    _organisation(observing=6)
    tom = make_apprentice("Tom")
    db.session.flush()
    _request(tom, 8, RequestState.APPROVED)
    db.session.add(LearningAllowance(person=tom, observing_hours=10))
    db.session.commit()
    assert granted(tom, DECEMBER, OBSERVING).hours == 10
