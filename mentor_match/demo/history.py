"""The demo's last three months: sessions watched, hours confirmed, practice rated, so that
progress charts, reports and mastery records have something to show."""

import random
from datetime import UTC, date, datetime, time, timedelta

from ..extensions import db
from ..models import (
    Attendance,
    Feedback,
    FeedbackKind,
    Person,
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
                attempt = PracticeAttempt(
                    apprentice=apprentice,
                    master=master,
                    micro_skill=held.micro_skill,
                    practised_on=day + timedelta(days=3),
                    description=rng.choice(PRACTICE_NOTES),
                )
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
                        ),
                    ]
                )
