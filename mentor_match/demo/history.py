"""The demo's last three months: sessions watched, hours confirmed, practice rated, so that
progress charts, reports and mastery records have something to show; and the last few days,
whose hours and practice still wait for the featured masters, so that confirming attendance
and rating practice can be tried at once."""

import random
from datetime import UTC, date, datetime, time, timedelta

from ..extensions import db
from ..models import (
    Attendance,
    Feedback,
    FeedbackKind,
    Person,
    PersonSkill,
    PracticeAttempt,
    SessionMode,
    SessionObserver,
    ShadowingSession,
)

PRACTICE_NOTES = (
    "Tried it in Tuesday's client call and wrote down what happened straight after.",
    "Ran the technique with my team in our weekly meeting; two things went wrong.",
    "Practised with a colleague playing the other side, three rounds.",
)
# How long after an apprentice asks (at 18:00 their time) the master rates their practice.
RATED_AFTER = timedelta(hours=15)
FEEDBACK_NOTES = {
    2: "You rushed it and lost the room. Slow down, and prepare the first sentence word for word.",
    3: "The structure was right but you gave way too early. Hold the silence longer next time.",
    4: "Solid: clear and calm. Next, adapt it when they push back instead of repeating yourself.",
    5: "That was the real thing. Teach it to someone else next month to make it stick.",
}


def past_months(people: dict[str, Person], today: date, rng: random.Random) -> None:
    """Three months of history, so progress charts, reports and records have something to show.

    Each apprentice watched a master who hosts one of the micro skills they develop a few
    times; the master confirmed the hours (one absence here and there), and some practice
    was rated. Tom Gallagher, the featured apprentice, has the fullest history.
    """
    hosts = [
        (person, held)
        for person in people.values()
        if person.is_master
        for held in person.skills
        if held.hosts
    ]
    day_zero = today - timedelta(days=90)
    for name, apprentice in people.items():
        wants = [held for held in apprentice.skills if held.develops]
        if not wants or (name != "Tom Gallagher" and rng.random() < 0.4):
            continue
        for _ in range(8 if name == "Tom Gallagher" else rng.randint(1, 4)):
            held = rng.choice(wants)
            teachers = [
                (master, hosted)
                for master, hosted in hosts
                if hosted.micro_skill_id == held.micro_skill_id
                and hosted.stage.rank > held.stage.rank
                and master is not apprentice
            ] or [
                (m, h)
                for m, h in hosts
                if h.micro_skill is held.micro_skill and m is not apprentice
            ]
            if not teachers:
                continue
            master, _ = rng.choice(teachers)
            day = day_zero + timedelta(days=rng.randint(0, 85))
            while day.weekday() > 4:
                day += timedelta(days=1)
            starts_at = datetime.combine(
                day, time(rng.choice((9, 10, 14))), master.zone
            ).astimezone(UTC)
            hours = rng.choice((1, 2, 2, 3))
            session = ShadowingSession(
                master=master,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=hours),
                mode=SessionMode.VIRTUAL,
                seats=4,
                micro_skill=held.micro_skill,
            )
            seat = SessionObserver(
                session=session,
                apprentice=apprentice,
                starts_at=session.starts_at,
                ends_at=session.ends_at,
            )
            minutes = 0 if rng.random() < 0.08 else hours * 60
            seat.attendance = Attendance(
                minutes=minutes,
                confirmed_by=master,
                confirmed_at=session.ends_at + timedelta(hours=3),
            )
            db.session.add_all([session, seat])
            if minutes and rng.random() < 0.6:
                # Practised a few days after watching, asked for a rating that evening, and
                # rated by the master the next morning: dated then, not when the demo is seeded.
                practised_on = min(day + timedelta(days=3), today - timedelta(days=1))
                asked_at = _at(practised_on, time(18), apprentice)
                attempt = PracticeAttempt(
                    apprentice=apprentice,
                    master=master,
                    micro_skill=held.micro_skill,
                    practised_on=practised_on,
                    description=rng.choice(PRACTICE_NOTES),
                    created_at=asked_at,
                )
                rated_at = _not_after_now(asked_at + RATED_AFTER)
                rating = rng.choice((2, 3, 3, 4, 4, 5))
                db.session.add_all(
                    [
                        attempt,
                        Feedback(
                            kind=FeedbackKind.PRACTICE,
                            giver=master,
                            receiver=apprentice,
                            micro_skill=held.micro_skill,
                            attempt=attempt,
                            rating=rating,
                            note=FEEDBACK_NOTES[rating],
                            created_at=rated_at,
                            updated_at=rated_at,
                        ),
                    ]
                )


# The masters whose dashboards a demo visitor opens first, and the apprentice who is asked
# first to watch and to be rated.
WAITING_MASTERS = ("Amara Okafor", "James Whitfield")
FIRST_LEARNER = "Tom Gallagher"
RECENT_PRACTICE = (
    "Asked for a 15% discount first on a supplier renewal and waited; they came back at 9%.",
    "Opened the budget talk with our number before they could give theirs.",
)


def _not_after_now(moment: datetime) -> datetime:
    """The moment, or a little before now if it has not come yet: the demo seeds no future."""
    return min(moment, datetime.now(UTC) - timedelta(minutes=5))


def _at(day: date, clock: time, person: Person) -> datetime:
    """That day and time where the person is, in UTC, and never later than now."""
    return _not_after_now(datetime.combine(day, clock, person.zone).astimezone(UTC))


def _weekdays_before(today: date, count: int) -> list[date]:
    """The last `count` weekdays before today, latest first."""
    days, day = [], today
    while len(days) < count:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return days


def _learners(people: dict[str, Person], master: Person, hosted: PersonSkill) -> list[Person]:
    """People who develop the micro skill at a stage below the master's: who may watch and
    be rated by them. The first learner first, then by name."""
    found = [
        person
        for person in people.values()
        if person is not master
        and any(
            held.develops
            and held.micro_skill is hosted.micro_skill
            and held.stage.rank < hosted.stage.rank
            for held in person.skills
        )
    ]
    return sorted(found, key=lambda person: (person.name != FIRST_LEARNER, person.name))


def waiting_for_the_masters(people: dict[str, Person], today: date) -> None:
    """The last few days, still open: each featured master hosted two early sessions whose
    observers' hours they have not confirmed, and has two practice attempts to rate.

    Each master gets learners of their own, so nobody watches two of these sessions at once;
    the first learner watches and practises with the first master.
    """
    yesterday, earlier = _weekdays_before(today, 3)[::2]
    taken: set[str] = set()
    for name in WAITING_MASTERS:
        master = people[name]
        choices = [
            (held, [p for p in _learners(people, master, held) if p.name not in taken])
            for held in master.skills
            if held.hosts
        ]
        hosted, learners = max(
            choices,
            key=lambda choice: (
                any(p.name == FIRST_LEARNER for p in choice[1]),
                len(choice[1]),
                choice[0].micro_skill.name,
            ),
            default=(None, []),
        )
        if hosted is None or not learners:
            continue
        taken.update(p.name for p in learners[:3])
        # Early calls, before the three months of history start their days at 09:00.
        for day, observers in ((yesterday, learners[:2]), (earlier, learners[2:3])):
            if not observers:
                continue
            starts_at = _at(day, time(8), master)
            session = ShadowingSession(
                master=master,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=1),
                mode=SessionMode.VIRTUAL,
                seats=4,
                micro_skill=hosted.micro_skill,
            )
            db.session.add(session)
            db.session.add_all(
                SessionObserver(
                    session=session,
                    apprentice=observer,
                    starts_at=session.starts_at,
                    ends_at=session.ends_at,
                )
                for observer in observers
            )
        for apprentice, description in zip(learners[:2], RECENT_PRACTICE, strict=False):
            db.session.add(
                PracticeAttempt(
                    apprentice=apprentice,
                    master=master,
                    micro_skill=hosted.micro_skill,
                    practised_on=yesterday,
                    description=description,
                    created_at=_at(yesterday, time(18), apprentice),
                )
            )
