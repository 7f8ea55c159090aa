"""What a person should see first when they sign in: what to do next, most pressing first."""

import enum
from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import Select, bindparam, exists, false, func, literal, null, select, true

from ..allowances.protected import LearningTime, learning_time
from ..booking.diary import Appointment, live_hosting, live_seats, upcoming
from ..extensions import db
from ..models import (
    Feedback,
    OrganisationSettings,
    Pairing,
    Person,
    PersonSkill,
    PracticeAttempt,
    Response,
    Round,
    RoundStatus,
    SessionObserver,
    ShadowingSession,
    Site,
    Stage,
    StageSource,
    WeeklyWindow,
    utcnow,
)
from ..rounds.calls import RoundCall, round_call_from, round_call_query
from ..tracking.services import count_seats_to_confirm
from .left_out import LeftOut, left_out_of

NEXT_SESSIONS = 3


class NextStep(enum.StrEnum):
    """A card of the dashboard. They show in this order: what others wait for first (hours
    to confirm, practice to rate, a pairing to answer), then what has a deadline, then what
    is coming, then what went wrong and how to mend it, and the setup left to finish last."""

    CONFIRM_ATTENDANCE = "confirm_attendance"
    RATE_PRACTICE = "rate_practice"
    ANSWER_PAIRINGS = "answer_pairings"
    CONFIRM_MONTH = "confirm_month"
    UPCOMING_SESSIONS = "upcoming_sessions"
    LEFT_OUT = "left_out"
    ROUND_CONFIRMED = "round_confirmed"  # an open round they confirmed, or whose deadline passed
    FINISH_SETUP = "finish_setup"


@dataclass
class Dashboard:
    """A signed-in person's next steps, and the checklist of what is set up and what is not."""

    person: Person
    steps: list[tuple[str, str, bool]] = field(default_factory=list)  # (label, endpoint, done)
    round_call: RoundCall | None = None
    pairings_to_answer: int = 0
    next_sessions: list[Appointment] = field(default_factory=list)
    seats_to_confirm: int = 0
    practice_to_rate: int = 0
    left_out: LeftOut | None = None
    # The next sessions within the person's granted learning time, by session id.
    learning_time: dict[int, LearningTime] = field(default_factory=dict)
    site_name: str | None = None  # None: the person works remotely

    @property
    def steps_left(self) -> int:
        """How many setup steps are not done."""
        return sum(not done for _, _, done in self.steps)

    @property
    def set_up(self) -> bool:
        """Every setup step is done."""
        return self.steps_left == 0

    @property
    def next_steps(self) -> list[NextStep]:
        """The cards to show, in NextStep's order."""
        call = self.round_call
        month_to_confirm = (
            call is not None and call.confirmed_at is None and not call.deadline_passed
        )
        shown = {
            NextStep.CONFIRM_ATTENDANCE: self.seats_to_confirm > 0,
            NextStep.RATE_PRACTICE: self.practice_to_rate > 0,
            NextStep.ANSWER_PAIRINGS: self.pairings_to_answer > 0,
            NextStep.CONFIRM_MONTH: month_to_confirm,
            NextStep.UPCOMING_SESSIONS: bool(self.next_sessions),
            NextStep.LEFT_OUT: self.left_out is not None,
            NextStep.ROUND_CONFIRMED: call is not None and not month_to_confirm,
            NextStep.FINISH_SETUP: not self.set_up,
        }
        return [step for step in NextStep if shown[step]]


@cache
def _setup_facts_query(*, master: bool, apprentice: bool) -> Select:
    """Everything the dashboard needs but the person and their sessions, in one statement.

    Built once per shape (master or not, apprentice or not) and run with :person_id,
    :site_id, :now and :this_month (the person's own, "YYYY-MM") bound:
    the dashboard is the most visited page, building the statement costs more CPU than
    running it, and another statement's round trip costs more than another subquery.
    The row also says whether the person hosts or observes anything ahead, so the dashboard
    asks for the halves of the diary that have sessions and skips the others, and brings the
    first open round with the person's confirmation of it, and for an apprentice the latest
    published round of this month or later with whether it paired them.
    """
    person_id, now = bindparam("person_id"), bindparam("now")
    skills = select(PersonSkill.micro_skill_id).where(PersonSkill.person_id == person_id)
    pending_pairings = select(func.count(Pairing.id)).where(
        ((Pairing.apprentice_id == person_id) & (Pairing.apprentice_response == Response.PENDING))
        | ((Pairing.master_id == person_id) & (Pairing.master_response == Response.PENDING))
    )
    seats_to_confirm = count_seats_to_confirm(person_id, now) if master else literal(0)
    # Practice the person was asked to rate and has not: the master's own list, unrated.
    practice_to_rate = (
        select(func.count(PracticeAttempt.id))
        .where(
            PracticeAttempt.master_id == person_id,
            ~exists(select(Feedback.id).where(Feedback.attempt_id == PracticeAttempt.id)),
        )
        .scalar_subquery()
        if master
        else literal(0)
    )
    windows = select(WeeklyWindow.id).where(WeeklyWindow.person_id == person_id)
    site_name = select(Site.name).where(Site.id == bindparam("site_id"))
    # The same live sessions booking.upcoming lists, from :now on.
    hosting_ahead = select(ShadowingSession.id).where(*live_hosting(person_id, now))
    observing_ahead = select(SessionObserver.id).where(*live_seats(person_id, now))
    # The round call rounds.round_call_for finds: the first open round, with :person_id's
    # confirmation of it.
    call = round_call_query(of_month=False).subquery("round_call")
    # The latest published round not over yet: if it paired an apprentice with nobody, the
    # dashboard says why. A round for a month before :this_month is history.
    published = (
        select(Round.id, Round.month, Round.confirm_by)
        .where(Round.status == RoundStatus.PUBLISHED, Round.month >= bindparam("this_month"))
        .order_by(Round.month.desc())
        .limit(1)
        .subquery("published")
    )
    paired = select(Pairing.id).where(
        Pairing.round_id == published.c.id, Pairing.apprentice_id == person_id
    )
    published_columns = (
        (
            published.c.id.label("published_round_id"),
            published.c.month.label("published_month"),
            published.c.confirm_by.label("published_confirm_by"),
            exists(paired).label("paired_in_published"),
        )
        if apprentice
        else (
            null().label("published_round_id"),
            null().label("published_month"),
            null().label("published_confirm_by"),
            false().label("paired_in_published"),
        )
    )
    query = (
        select(
            exists(skills).label("has_skills"),
            exists(skills.where(PersonSkill.hosts)).label("hosts"),
            exists(
                skills.where(
                    PersonSkill.hosts,
                    PersonSkill.stage != Stage.APPRENTICE,
                    PersonSkill.stage_source != StageSource.SELF_DECLARED,
                )
            ).label("hosts_verified"),
            # The organisation's rule, read in the same statement (a fresh site: true).
            func.coalesce(
                select(OrganisationSettings.only_verified_hosts)
                .where(OrganisationSettings.id == 1)
                .scalar_subquery(),
                true(),
            ).label("only_verified_hosts"),
            exists(skills.where(PersonSkill.develops)).label("develops"),
            exists(windows).label("has_windows"),
            pending_pairings.scalar_subquery().label("pairings_to_answer"),
            seats_to_confirm.label("seats_to_confirm"),
            site_name.scalar_subquery().label("site_name"),
            exists(hosting_ahead).label("hosting_ahead"),
            exists(observing_ahead).label("observing_ahead"),
            call.c.month.label("round_month"),
            call.c.confirm_by.label("round_confirm_by"),
            call.c.confirmed_at,
            practice_to_rate.label("practice_to_rate"),
            *published_columns,
        )
        .select_from(Person)
        .outerjoin(call, true())
    )
    if apprentice:
        query = query.outerjoin(published, true())
    return query.where(Person.id == person_id)


def dashboard_for(person: Person) -> Dashboard:
    """Build the checklist of next steps for a person."""
    now = utcnow()
    facts = db.session.execute(
        _setup_facts_query(master=person.is_master, apprentice=person.is_apprentice),
        {
            "person_id": person.id,
            "site_id": person.site_id,
            "now": now,
            "this_month": now.astimezone(person.zone).strftime("%Y-%m"),
        },
    ).one()
    board = Dashboard(person=person, site_name=facts.site_name)
    board.steps.append(("Add your micro skills and stages", "profiles.skills", facts.has_skills))
    if person.is_master:
        board.steps.append(
            ("Choose the micro skills you can be observed doing", "profiles.skills", facts.hosts)
        )
        if facts.hosts and facts.only_verified_hosts:
            board.steps.append(
                (
                    "Have a stage you host verified by an admin or a verified master in the skill",
                    "profiles.skills",
                    facts.hosts_verified,
                )
            )
    if person.is_apprentice:
        board.steps.append(
            ("Choose the micro skills you want to develop", "profiles.skills", facts.develops)
        )
    board.steps.append(("Set your weekly availability", "availability.weekly", facts.has_windows))
    board.steps.append(("Write a short bio", "profiles.edit", bool(person.bio.strip())))
    board.round_call = round_call_from(
        person, facts.round_month, facts.round_confirm_by, facts.confirmed_at
    )
    if facts.hosting_ahead or facts.observing_ahead:
        board.next_sessions = upcoming(
            person,
            start=now,
            limit=NEXT_SESSIONS,
            hosting=facts.hosting_ahead,
            observing=facts.observing_ahead,
        )
        board.learning_time = learning_time(
            person, [appointment.session for appointment in board.next_sessions]
        )
    board.seats_to_confirm = facts.seats_to_confirm
    board.practice_to_rate = facts.practice_to_rate
    board.pairings_to_answer = facts.pairings_to_answer
    if facts.published_round_id is not None and not facts.paired_in_published:
        board.left_out = left_out_of(
            person, facts.published_round_id, facts.published_month, facts.published_confirm_by
        )
    return board
