"""A round's life: create, open for confirmation, run, review, publish, accept or decline."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

from flask import current_app
from sqlalchemy import Select, and_, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from ..availability.expansion import Month, MonthError
from ..extensions import db
from ..inputs import JSONInputError, parse_json
from ..links import absolute_url
from ..models import (
    MonthPlan,
    Pairing,
    Person,
    Response,
    Round,
    RoundExclusion,
    RoundRun,
    RoundStatus,
    RunKind,
    RunStatus,
    SessionObserver,
    ShadowingSession,
    utcnow,
)
from ..optimizer.check import check_solution
from ..optimizer.solve import Cancelled, Progress, solve
from ..zones import zone_or_utc
from .encoder import encode_fill, encode_round
from .notices import notify, notify_many
from .review import session_hours

log = logging.getLogger(__name__)

MIN_TIME_LIMIT, MAX_TIME_LIMIT = 5, 600


class RoundRefusal(Exception):
    """Something an admin or a person asked for that cannot be done, said so they can act."""


# Creating and opening ---------------------------------------------------------------------


def all_rounds() -> list[Round]:
    return list(db.session.scalars(select(Round).order_by(Round.month.desc())))


def round_for(month: str) -> Round | None:
    return db.session.scalar(select(Round).where(Round.month == month))


def create_round(month_text: str, confirm_by: date, today: date | None = None) -> Round:
    """A draft round for a month that has not started, with a confirmation deadline before it."""
    try:
        month = Month.parse(month_text)
    except MonthError as error:
        raise RoundRefusal(str(error)) from None
    today = today or datetime.now(UTC).date()
    if month.first_day <= today:
        raise RoundRefusal(f"{month.label} has already started; create a round for a later month.")
    if not today <= confirm_by < month.first_day:
        raise RoundRefusal(
            f"Choose a confirmation deadline from today up to the day before {month.label} starts."
        )
    round_ = Round(month=str(month), confirm_by=datetime.combine(confirm_by, time(23, 59), UTC))
    db.session.add(round_)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise RoundRefusal(f"There is already a round for {month.label}.") from None
    return round_


def open_round(round_: Round) -> int:
    """Open the round and ask every master and apprentice to confirm; returns how many were asked."""
    opened = db.session.execute(
        update(Round)
        .where(Round.id == round_.id, Round.status == RoundStatus.DRAFT)
        .values(status=RoundStatus.OPEN, opened_at=utcnow())
    ).rowcount
    if not opened:
        db.session.rollback()
        raise RoundRefusal("This round is already open.")
    month = Month.parse(round_.month)
    link = absolute_url("availability.plan", month=round_.month)
    people = db.session.execute(
        select(Person.id, Person.name, Person.timezone).where(
            Person.active, Person.is_master | Person.is_apprentice
        )
    ).all()
    notices = []
    for person_id, name, zone in people:
        deadline = round_.confirm_by.astimezone(zone_or_utc(zone)).strftime("%d %b %Y %H:%M")
        text = (
            f"The {month.label} matching round is open: confirm your availability, hours and "
            f"seats by {deadline} to be included."
        )
        body = (
            f"Hello {name},\n\n{text}\n\nPeople who have not confirmed by then are left out of "
            f"this month's pairings.\n\nConfirm here: {link}\n"
        )
        notices.append(
            {
                "person_id": person_id,
                "text": text,
                "link": link,
                "mail_subject": f"Confirm your availability for {month.label}",
                "mail_body": body,
            }
        )
    notify_many(notices)
    db.session.commit()
    return len(notices)


# Confirmation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Confirmations:
    confirmed: list[tuple[int, str, datetime]]
    waiting: list[tuple[int, str]]


def confirmations(round_: Round) -> Confirmations:
    """Who has confirmed their plan for the round's month, and who is still to."""
    confirmed = db.session.execute(
        select(Person.id, Person.name, MonthPlan.confirmed_at)
        .join(MonthPlan, MonthPlan.person_id == Person.id)
        .where(
            MonthPlan.month == round_.month,
            MonthPlan.confirmed_at.is_not(None),
            Person.active,
            Person.is_master | Person.is_apprentice,
        )
        .order_by(Person.name)
    ).all()
    done = {row[0] for row in confirmed}
    everyone = db.session.execute(
        select(Person.id, Person.name)
        .where(Person.active, Person.is_master | Person.is_apprentice)
        .order_by(Person.name)
    ).all()
    return Confirmations(
        [tuple(row) for row in confirmed], [tuple(row) for row in everyone if row[0] not in done]
    )


@dataclass(frozen=True)
class RoundCall:
    """An open round asking this person to confirm, and whether they have."""

    month: str
    confirm_by: datetime
    confirmed_at: datetime | None

    @property
    def deadline_passed(self) -> bool:
        return utcnow() > self.confirm_by


@cache
def round_call_query(of_month: bool) -> Select:
    """The first open round (of :month) with :person_id's confirmation, built once per shape.

    The dashboard asks this on every visit, and building the statement costs more than
    running it. The person's plan for the round's month (one a month) comes in the same row.
    """
    query = (
        select(Round, MonthPlan.confirmed_at)
        .outerjoin(
            MonthPlan,
            and_(MonthPlan.person_id == bindparam("person_id"), MonthPlan.month == Round.month),
        )
        .where(Round.status == RoundStatus.OPEN)
    )
    if of_month:
        query = query.where(Round.month == bindparam("month"))
    return query.order_by(Round.month).limit(1)


def round_call_for(person: Person, month: str | None = None) -> RoundCall | None:
    """The open round (of that month, or the next one open) a master or apprentice is asked to join."""
    if not (person.is_master or person.is_apprentice):
        return None
    params = {"person_id": person.id} if month is None else {"person_id": person.id, "month": month}
    row = db.session.execute(round_call_query(month is not None), params).first()
    if row is None:
        return None
    return RoundCall(row.Round.month, row.Round.confirm_by, row.confirmed_at)


def confirm_month(person: Person, month: str) -> MonthPlan:
    """Confirm the person's plan and availability for the round of that month."""
    from ..availability.services import month_plan_for, save_month_plan

    round_ = round_for(month)
    if round_ is None or round_.status is RoundStatus.DRAFT:
        raise RoundRefusal(f"The round for {Month.parse(month).label} is not open yet.")
    if round_.status is RoundStatus.PUBLISHED:
        raise RoundRefusal(
            f"The {Month.parse(month).label} round has been published; confirmations are closed."
        )
    if utcnow() > round_.confirm_by:
        raise RoundRefusal("The deadline to confirm for this round has passed; ask an admin.")
    plan = db.session.scalar(
        select(MonthPlan).where(MonthPlan.person_id == person.id, MonthPlan.month == month)
    )
    if plan is None:
        draft = month_plan_for(person, Month.parse(month))
        plan = save_month_plan(person, Month.parse(month), draft.values)
    plan.confirmed_at = utcnow()
    db.session.commit()
    return plan


# Runs -------------------------------------------------------------------------------------


def start_run(
    round_: Round,
    requested_by: Person | None,
    kind: RunKind = RunKind.FULL,
    time_limit: float | None = None,
) -> RoundRun:
    """Queue a run; refused while another run of this round is under way."""
    reap_stale_runs()
    if kind is RunKind.FULL and round_.status is not RoundStatus.OPEN:
        raise RoundRefusal(
            "Open the round before running it."
            if round_.status is RoundStatus.DRAFT
            else "This round is published; run a fill to use capacity freed by declines."
        )
    if kind is RunKind.FILL and round_.status is not RoundStatus.PUBLISHED:
        raise RoundRefusal("A fill run re-uses freed capacity after publication; publish first.")
    limit = float(time_limit or current_app.config["ROUND_TIME_LIMIT"])
    if not MIN_TIME_LIMIT <= limit <= MAX_TIME_LIMIT:
        raise RoundRefusal(
            f"Choose a time limit from {MIN_TIME_LIMIT} to {MAX_TIME_LIMIT} seconds."
        )
    run = RoundRun(
        round_id=round_.id,
        kind=kind,
        time_limit=limit,
        requested_by_id=requested_by.id if requested_by else None,
    )
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError:
        # The partial unique index: another admin's run of this round got in first.
        db.session.rollback()
        raise RoundRefusal(
            "A run of this round is already under way; watch it or cancel it."
        ) from None
    return run


def cancel_run(run: RoundRun) -> None:
    """Stop a queued run at once, or ask a running one to stop (it does within seconds)."""
    stopped = db.session.execute(
        update(RoundRun)
        .where(RoundRun.id == run.id, RoundRun.status == RunStatus.QUEUED)
        .values(
            status=RunStatus.CANCELLED, finished_at=utcnow(), error="Cancelled before it started."
        )
    ).rowcount
    if not stopped:
        asked = db.session.execute(
            update(RoundRun)
            .where(RoundRun.id == run.id, RoundRun.status == RunStatus.RUNNING)
            .values(cancel_requested=True)
        ).rowcount
        if not asked:
            db.session.rollback()
            raise RoundRefusal("This run has already finished.")
    db.session.commit()


# A run that can no longer finish: pages show it failed at once, the reaper records it.
SILENT_WORKER = "The worker running this stopped responding; nothing was published. Run it again."
LOST_JOB = "This run never reached a worker (its job was lost). Run it again."


@dataclass(frozen=True)
class RunState:
    """A run as pages show it: failed once its worker or job is gone, written or not yet."""

    run: RoundRun
    status: RunStatus
    error: str


def _stale_after() -> timedelta:
    return timedelta(seconds=current_app.config["ROUND_RUN_STALE_SECONDS"])


def _job_lost(run_id: int) -> bool:
    """Whether a queued run's job can no longer reach a worker."""
    from . import jobs

    # With a thread, a run is claimed within moments; still queued means its process
    # went away. With Redis, it may be waiting its turn: only a lost job counts.
    return jobs.run_job_is_lost(run_id) if current_app.config.get("REDIS_URL") else True


def run_state(run: RoundRun, now: datetime | None = None) -> RunState:
    """How the run stands, read only: GET pages must not write, and still tell the truth."""
    now = now or utcnow()
    stale_since = now - _stale_after()
    if (
        run.status is RunStatus.RUNNING
        and run.heartbeat_at is not None
        and run.heartbeat_at < stale_since
    ):
        return RunState(run, RunStatus.FAILED, SILENT_WORKER)
    if run.status is RunStatus.QUEUED and run.created_at < stale_since and _job_lost(run.id):
        return RunState(run, RunStatus.FAILED, LOST_JOB)
    return RunState(run, run.status, run.error)


def run_states(round_: Round) -> list[RunState]:
    """The round's runs, newest first, as pages show them."""
    now = utcnow()
    return [run_state(run, now) for run in round_.runs]


def reap_stale_runs() -> int:
    """Record as failed the runs that can no longer finish, so the round can be run again.

    A running run whose worker stopped sending heartbeats, and a queued run whose job
    was lost (Redis flushed, a thread's process restarted) before any worker claimed it.
    Called before a run starts, by the worker's maintenance and by `flask rounds reap`;
    never on a GET, where `run_state` shows the same verdict without writing it.
    """
    now = utcnow()
    stale_since = now - _stale_after()
    reaped = db.session.execute(
        update(RoundRun)
        .where(RoundRun.status == RunStatus.RUNNING, RoundRun.heartbeat_at < stale_since)
        .values(status=RunStatus.FAILED, finished_at=now, error=SILENT_WORKER)
    ).rowcount
    waiting = db.session.scalars(
        select(RoundRun.id).where(
            RoundRun.status == RunStatus.QUEUED, RoundRun.created_at < stale_since
        )
    ).all()
    for run_id in waiting:
        if _job_lost(run_id):
            reaped += db.session.execute(
                update(RoundRun)
                .where(RoundRun.id == run_id, RoundRun.status == RunStatus.QUEUED)
                .values(status=RunStatus.FAILED, finished_at=now, error=LOST_JOB)
            ).rowcount
    db.session.commit()
    if reaped:
        log.warning("marked %d round runs as failed: their workers or jobs are gone", reaped)
    return reaped


def perform_run(run_id: int, on_progress: Callable[[Progress], None] | None = None) -> bool:
    """Snapshot and solve a queued run; False when another delivery of the job already took it.

    Claiming the run is one conditional update, so a job delivered twice runs once. The
    solution is saved in one transaction at the end, only if the run is still ours: a
    worker killed at any point leaves at most a run that the heartbeat check fails.
    """
    now = utcnow()
    claimed = db.session.execute(
        update(RoundRun)
        .where(RoundRun.id == run_id, RoundRun.status == RunStatus.QUEUED)
        .values(status=RunStatus.RUNNING, started_at=now, heartbeat_at=now, phase="snapshot")
    ).rowcount
    db.session.commit()
    if not claimed:
        log.info("round run %s was already taken or stopped; this delivery does nothing", run_id)
        return False
    run = db.session.get(RoundRun, run_id)
    heartbeat = _Heartbeat(run_id, current_app.config["ROUND_HEARTBEAT_SECONDS"], on_progress)
    heartbeat.start()
    try:
        problem = encode_fill(run.round) if run.kind is RunKind.FILL else encode_round(run.round)
        _save_if_running(run_id, problem_json=json.dumps(problem), phase="solving")
        solution = solve(
            problem,
            time_limit=run.time_limit,
            on_progress=heartbeat.record,
            cancel=heartbeat.cancel,
        )
    except Cancelled:
        _finish(run_id, RunStatus.CANCELLED, error="Cancelled by an admin; nothing was published.")
    except Exception as failure:
        log.exception("round run %s failed", run_id)
        db.session.rollback()
        _finish(run_id, RunStatus.FAILED, error=f"The run failed: {failure}")
    else:
        _finish(
            run_id,
            RunStatus.SUCCEEDED,
            solution_json=json.dumps(solution),
            observation_hours=solution["observation_hours"],
            upper_bound=solution["upper_bound"],
            best_hours=solution["observation_hours"],
            bound=solution["upper_bound"],
        )
    finally:
        heartbeat.stop()
    return True


def _save_if_running(run_id: int, **values) -> bool:
    saved = db.session.execute(
        update(RoundRun)
        .where(RoundRun.id == run_id, RoundRun.status == RunStatus.RUNNING)
        .values(**values)
    ).rowcount
    db.session.commit()
    return bool(saved)


def _finish(run_id: int, status: RunStatus, **values) -> None:
    if not _save_if_running(run_id, status=status, finished_at=utcnow(), phase="", **values):
        log.warning("round run %s was stopped elsewhere; its result is discarded", run_id)


class _Heartbeat(threading.Thread):
    """Writes the run's progress and heartbeat every few seconds and watches for Cancel.

    It uses its own connection from the engine's pool, never the job's session, and
    stops the solver when the run is cancelled or has been failed by the stale check.
    """

    def __init__(self, run_id: int, every: float, on_progress) -> None:
        super().__init__(name=f"round-run-{run_id}-heartbeat", daemon=True)
        self.run_id = run_id
        self.every = every
        self.engine = db.engine
        self.cancel = threading.Event()
        self._halt = threading.Event()
        self._latest: Progress | None = None
        self._forward = on_progress
        self._started_at = datetime.now(UTC)

    def record(self, progress: Progress) -> None:
        self._latest = progress
        if self._forward is not None:
            self._forward(progress)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)

    def run(self) -> None:
        while not self._halt.wait(self.every):
            self.beat()

    def beat(self) -> None:
        progress = self._latest
        values = {"heartbeat_at": utcnow()}
        if progress is not None:
            values |= {
                "phase": progress.phase[:40],
                "elapsed": progress.elapsed,
                "best_hours": progress.observation_hours,
                "bound": progress.upper_bound,
            }
        else:
            values["elapsed"] = (datetime.now(UTC) - self._started_at).total_seconds()
        try:
            with self.engine.begin() as connection:
                alive = connection.execute(
                    update(RoundRun)
                    .where(RoundRun.id == self.run_id, RoundRun.status == RunStatus.RUNNING)
                    .values(**values)
                ).rowcount
                wanted_stop = connection.scalar(
                    select(RoundRun.cancel_requested).where(RoundRun.id == self.run_id)
                )
        except Exception:
            log.exception("heartbeat of round run %s failed", self.run_id)
            return
        if not alive or wanted_stop:
            self.cancel.set()


def active_run(round_: Round) -> RoundRun | None:
    """The round's queued or running run, unless its worker or job is gone."""
    run = db.session.scalar(
        select(RoundRun).where(
            RoundRun.round_id == round_.id,
            RoundRun.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]),
        )
    )
    return run if run is not None and run_state(run).status.is_active else None


def latest_result(round_: Round, kind: RunKind | None = None) -> RoundRun | None:
    """The newest run with a solution, to review or publish."""
    query = select(RoundRun).where(
        RoundRun.round_id == round_.id, RoundRun.status == RunStatus.SUCCEEDED
    )
    if kind is not None:
        query = query.where(RoundRun.kind == kind)
    return db.session.scalar(query.order_by(RoundRun.id.desc()).limit(1))


def fail_undispatched(run: RoundRun, reason: str) -> None:
    """A run that never reached a worker: failed at once, so Run can be pressed again."""
    db.session.execute(
        update(RoundRun)
        .where(RoundRun.id == run.id, RoundRun.status == RunStatus.QUEUED)
        .values(status=RunStatus.FAILED, finished_at=utcnow(), error=reason)
    )
    db.session.commit()


def can_publish(run: RoundRun) -> bool:
    if run.status is not RunStatus.SUCCEEDED or run.published_at is not None:
        return False
    if run.kind is RunKind.FULL:
        return run.round.status is RoundStatus.OPEN
    return run.round.status is RoundStatus.PUBLISHED


def previous_summary(round_: Round):
    """The published result of the month before, summarised, for a side-by-side."""
    from .review import summarise

    month = Month.parse(round_.month).previous
    previous = round_for(str(month))
    if previous is None:
        return None
    run = db.session.scalar(
        select(RoundRun).where(
            RoundRun.round_id == previous.id,
            RoundRun.kind == RunKind.FULL,
            RoundRun.published_at.is_not(None),
        )
    )
    if run is None:
        return None
    return summarise(json.loads(run.problem_json), json.loads(run.solution_json))


def skill_names() -> dict[str, str]:
    """Micro skill keys of round files ("negotiation/anchoring") to names people read."""
    from ..models import MicroSkill
    from ..models.skills import Area

    return {
        skill.key: skill.full_name
        for skill in db.session.scalars(
            select(MicroSkill).join(Area).options(contains_eager(MicroSkill.area))
        )
    }


def names_for_refs(refs: list[str]) -> dict[str, str]:
    """Names for problem ids such as `a-12` and `m-7`, in one query."""
    from .encoder import person_id_of

    ids = {ref: person_id_of(ref) for ref in set(refs)}
    names = (
        dict(
            db.session.execute(
                select(Person.id, Person.name).where(Person.id.in_(set(ids.values())))
            ).all()
        )
        if ids
        else {}
    )
    return {ref: names.get(pid, ref) for ref, pid in ids.items()}


# Uploads and edits in review --------------------------------------------------------------


MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def upload_solution(run: RoundRun, data: bytes, requested_by: Person | None) -> RoundRun:
    """A solution produced elsewhere for this run's problem, kept as a new run once it checks out."""
    if run.problem_json is None:
        raise RoundRefusal("This run has no problem snapshot to check a solution against.")
    if (
        run.published_at is not None
        or run.round.status is RoundStatus.PUBLISHED
        and run.kind is RunKind.FULL
    ):
        raise RoundRefusal(
            "This round is already published; upload a solution to a fill run instead."
        )
    if len(data) > MAX_UPLOAD_BYTES:
        raise RoundRefusal("The file is larger than 50 MB.")
    try:
        solution = parse_json(data)
    except JSONInputError as error:
        raise RoundRefusal(f"The file is not JSON: {error}.") from None
    problems = check_solution(json.loads(run.problem_json), solution)
    if problems:
        raise RoundRefusal("The solution breaks the round's rules:\n" + "\n".join(problems))
    uploaded = RoundRun(
        round_id=run.round_id,
        kind=run.kind,
        status=RunStatus.SUCCEEDED,
        source="upload",
        time_limit=0,
        requested_by_id=requested_by.id if requested_by else None,
        started_at=utcnow(),
        finished_at=utcnow(),
        problem_json=run.problem_json,
        solution_json=json.dumps(solution),
        observation_hours=solution["observation_hours"],
        upper_bound=solution["upper_bound"],
        best_hours=solution["observation_hours"],
        bound=solution["upper_bound"],
    )
    db.session.add(uploaded)
    db.session.commit()
    return uploaded


def remove_pairing(run: RoundRun, apprentice: str, master: str) -> None:
    """Drop one pairing from a run under review; the apprentice is listed as left out."""
    if run.published_at is not None or run.status is not RunStatus.SUCCEEDED:
        raise RoundRefusal("Only a finished run that is not yet published can be edited.")
    solution = json.loads(run.solution_json)
    kept = [
        p for p in solution["pairings"] if (p["apprentice"], p["master"]) != (apprentice, master)
    ]
    if len(kept) == len(solution["pairings"]):
        raise RoundRefusal("That pairing is not in this run.")
    solution["pairings"] = kept
    hours = sum(session_hours(session) for p in kept for session in p["sessions"])
    solution["observation_hours"] = hours
    if not any(p["apprentice"] == apprentice for p in kept):
        solution.setdefault("unmatched", []).append(
            {
                "apprentice": apprentice,
                "reason": "removed",
                "detail": "An admin removed your pairing in review; you are favoured next month.",
            }
        )
    run.solution_json = json.dumps(solution)
    run.observation_hours = hours
    run.best_hours = hours
    db.session.commit()


def exclude_pair(round_: Round, apprentice_id: int, master_id: int) -> None:
    """Keep this apprentice and master apart in the round's next runs."""
    if apprentice_id == master_id:
        raise RoundRefusal("A person is never paired with themself.")
    for person_id in (apprentice_id, master_id):
        if db.session.get(Person, person_id) is None:
            raise RoundRefusal("No such person.")
    db.session.add(
        RoundExclusion(round_id=round_.id, apprentice_id=apprentice_id, master_id=master_id)
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise RoundRefusal("That pair is already excluded from this round.") from None


def remove_exclusion(round_: Round, exclusion_id: int) -> None:
    exclusion = db.session.get(RoundExclusion, exclusion_id)
    if exclusion is None or exclusion.round_id != round_.id:
        raise RoundRefusal("That exclusion is not part of this round.")
    db.session.delete(exclusion)
    db.session.commit()


# Accepting and declining ------------------------------------------------------------------


def pairings_of(person: Person) -> list[Pairing]:
    return list(
        db.session.scalars(
            select(Pairing)
            .where((Pairing.apprentice_id == person.id) | (Pairing.master_id == person.id))
            .order_by(Pairing.created_at.desc(), Pairing.id)
        )
    )


def respond(pairing: Pairing, person: Person, accept: bool) -> None:
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
        raise RoundRefusal("This pairing is not yours.")
    answered = db.session.execute(
        update(Pairing)
        .where(Pairing.id == pairing.id, column == Response.PENDING)
        .values({column.key: answer, "responded_at": utcnow()})
    ).rowcount
    if not answered:
        db.session.rollback()
        raise RoundRefusal("You have already answered this pairing.")
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
