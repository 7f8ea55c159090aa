"""Booking pages: find a master, book, join, open, move and cancel sessions, see your diary."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from wtforms.fields.choices import SelectChoice

from ..availability.expansion import Month, MonthError, local_time_kind, to_utc
from ..errors import Refusal
from ..extensions import db
from ..inputs import query_int
from ..models import MicroSkill, Person, SessionMode, ShadowingSession
from ..pages import attempt, current_person, show_refusal
from ..security import admin_required
from ..stages.hosting import hosted_skills
from . import actions, offers, rules
from .diary import month_diary, observable_skills, participant_seat, upcoming
from .forms import BookForm, MoveSessionForm, NoticeForm, OpenSessionForm

bp = Blueprint("booking", __name__)


def _month_arg(person: Person) -> Month:
    try:
        return (
            Month.parse(request.args["month"])
            if request.args.get("month")
            else Month.containing(datetime.now(UTC).astimezone(person.zone).date())
        )
    except MonthError:
        abort(404)


def _booking_month(person: Person) -> Month:
    """The month of open times asked for; a month already over shows the current one."""
    return max(_month_arg(person), _this_month(person))


def _this_month(person: Person) -> Month:
    return Month.containing(datetime.now(UTC).astimezone(person.zone).date())


def _session_or_404(session_id: int) -> ShadowingSession:
    """A session the signed-in person hosts or holds a live seat in; anyone else gets 404."""
    session = db.session.get(ShadowingSession, session_id)
    if session is None:
        abort(404)
    me = current_person()
    # A cancelled seat leaves the session: its page (and video call) goes, as its .ics does.
    if session.master_id != me.id and participant_seat(me, session) is None:
        abort(404)
    return session


def _local_instant(person: Person, day: date, quarter: int) -> datetime:
    """The UTC instant of a local day and quarter-hour, refusing a time the clocks skip."""
    at = time(quarter // 4, (quarter % 4) * 15)
    if local_time_kind(day, at, person.zone) == "missing":
        raise Refusal(
            f"{at:%H:%M} does not exist on {day:%d %b %Y} in {person.timezone} "
            "(the clocks change); choose another time."
        )
    return to_utc(day, at, person.zone)


# Diary --------------------------------------------------------------------------------------


@bp.route("/sessions")
@login_required
def diary():
    """Upcoming sessions as a list, or a month calendar with ?view=month."""
    me = current_person()
    if request.args.get("view") == "month":
        month = _month_arg(me)
        return render_template("booking/month.html", month=month, diary=month_diary(me, month))
    return render_template(
        "booking/diary.html", items=upcoming(me), open_to_bookings=me.open_to_bookings
    )


@bp.route("/sessions/<int:session_id>")
@login_required
def session(session_id: int):
    """A session's page: when and where, its observers or your seat, and what came after."""
    session = _session_or_404(session_id)
    me = current_person()
    from ..calendars.services import video_url
    from ..tracking.services import after_session

    after = after_session(me, session)
    return render_template(
        "booking/session.html",
        session=session,
        seat=participant_seat(me, session),
        hosting=session.master_id == me.id,
        video_url=video_url(session),
        notice_hours=rules.booking_settings().notice_hours,
        after=after,
        skill_choices=observable_skills() if after.seat else [],
    )


@bp.post("/sessions/<int:session_id>/cancel")
@login_required
def cancel(session_id: int):
    """The host cancels the whole session; an observer gives up their seat."""
    session = _session_or_404(session_id)
    me = current_person()
    try:
        if session.master_id == me.id:
            told = actions.cancel_session(me, session)
            flash(
                f"Session cancelled; {told} observer{'s were' if told != 1 else ' was'} told.",
                "success",
            )
        else:
            seat = participant_seat(me, session)
            if seat is None:
                raise Refusal("You have no seat in this session.")
            actions.cancel_seat(me, seat)
            flash("Your seat is cancelled and the master was told.", "success")
    except Refusal as refusal:
        show_refusal(refusal)
        return redirect(url_for("booking.session", session_id=session_id))
    return redirect(url_for("booking.diary"))


@bp.route("/sessions/<int:session_id>/move", methods=["GET", "POST"])
@login_required
def move(session_id: int):
    """The master moves the whole session; an apprentice moves their seat to another slot."""
    session = _session_or_404(session_id)
    me = current_person()
    if session.master_id == me.id:
        return _move_session(me, session)
    seat = participant_seat(me, session)
    if seat is None:
        abort(404)
    # Open on the month of the seat, where its current time is marked.
    month = (
        _booking_month(me)
        if request.args.get("month")
        else max(rules.local_month(session.starts_at, me), _this_month(me))
    )
    form = BookForm()
    if form.validate_on_submit():
        starts_at = form.starts_at.instant
        moved = attempt(
            lambda: actions.reschedule_seat(
                me,
                seat,
                starts_at,
                starts_at + timedelta(hours=form.hours.data),
                SessionMode(form.mode.data),
            ),
            success="Moved: the master was told.",
        )
        if moved:
            return redirect(url_for("booking.session", session_id=moved.result.session_id))
    return render_template(
        "booking/slots.html",
        master=session.master,
        month=month,
        first_month=_this_month(me),
        form=form,
        moving=session,
        days=offers.slots_by_day(
            offers.open_slots(session.master, me, month, exclude_seat=seat.id), me
        ),
        lengths=rules.grid_between(session.master, me, month).lengths(rules.MAX_SESSION_HOURS),
    )


def _move_session(me: Person, session: ShadowingSession):
    """The host's side of `move`: a new local day and time for the whole session."""
    local = session.starts_at.astimezone(me.zone)
    form = MoveSessionForm(
        data={
            "day": local.date(),
            "start": local.hour * 4 + local.minute // 15,
            "hours": session.hours,
        }
        if request.method == "GET"
        else None
    )

    def move_it() -> None:
        starts_at = _local_instant(me, form.day.data, form.start.data)
        actions.reschedule_session(
            me, session, starts_at, starts_at + timedelta(hours=form.hours.data)
        )

    if form.validate_on_submit() and attempt(
        move_it, success="Session moved; every observer was told."
    ):
        return redirect(url_for("booking.session", session_id=session.id))
    return render_template("booking/move_session.html", session=session, form=form)


# Booking ------------------------------------------------------------------------------------


@bp.route("/book")
@login_required
def book():
    """Masters the apprentice may book, and sessions masters opened to join."""
    me = current_person()
    return render_template(
        "booking/book.html",
        choices=offers.bookable_masters(me),
        open_sessions=offers.open_sessions_to_join(me),
    )


@bp.route("/book/<int:master_id>", methods=["GET", "POST"])
@login_required
def book_master(master_id: int):
    """A master's open times this month in your zone, with seats in the room and on video."""
    me = current_person()
    master = offers.master_to_book(master_id)
    if master is None or not master.active or not master.is_master:
        abort(404)
    month = _booking_month(me)
    form = BookForm()
    page = {"master": master, "month": month, "first_month": _this_month(me), "form": form}
    try:
        skills = rules.skills_to_watch(me, master)
    except Refusal as refusal:
        # Not a matter of access: the page says why and what to do about it.
        return render_template(
            "booking/slots.html", **page, refusal=str(refusal), days=[], skills=[], moving=None
        )
    skill = _chosen_skill(skills, form)
    if form.validate_on_submit():
        starts_at = form.starts_at.instant
        try:
            if skill is None:
                raise Refusal("Choose which micro skill the session is for.")
            seat = actions.book(
                me,
                master,
                starts_at,
                starts_at + timedelta(hours=form.hours.data),
                SessionMode(form.mode.data),
                micro_skill_id=skill.id,
            )
        except Refusal as refusal:
            show_refusal(refusal)
        else:
            flash(f"Booked: {master.name} has been told.", "success")
            return redirect(url_for("booking.session", session_id=seat.session_id))
    return render_template(
        "booking/slots.html",
        **page,
        skills=skills,
        skill=skill,
        moving=None,
        # Times are offered once the session's micro skill is known.
        days=offers.slots_by_day(offers.open_slots(master, me, month), me) if skill else [],
        lengths=rules.grid_between(master, me, month).lengths(rules.MAX_SESSION_HOURS),
    )


def _chosen_skill(skills: list[MicroSkill], form: BookForm) -> MicroSkill | None:
    """The micro skill the session is for: the only one the pair shares, else the one chosen
    (?skill= on the page, micro_skill_id in a booking); None until one is."""
    if len(skills) == 1:
        return skills[0]
    chosen = form.micro_skill_id.data if request.method == "POST" else query_int("skill", None)
    return next((skill for skill in skills if skill.id == chosen), None)


@bp.post("/sessions/<int:session_id>/join")
@login_required
def join(session_id: int):
    """Take a seat in a session a master opened."""
    session = db.session.get(ShadowingSession, session_id)
    if session is None or session.cancelled_at is not None:
        abort(404)
    if attempt(
        lambda: actions.join(current_person(), session),
        success=f"You have a seat in {session.master.name}'s session.",
    ):
        return redirect(url_for("booking.session", session_id=session.id))
    return redirect(url_for("booking.book"))


@bp.route("/sessions/open", methods=["GET", "POST"])
@login_required
def open_session():
    """A master opens a session of their own for observers to join."""
    me = current_person()
    if not me.is_master:
        abort(403)
    form = OpenSessionForm()
    form.micro_skill_id.choices = [
        SelectChoice(ps.micro_skill_id, ps.micro_skill.full_name) for ps in hosted_skills(me)
    ]
    if not form.micro_skill_id.choices:
        flash(rules.NOTHING_HOSTED, "error")
        return redirect(url_for("profiles.skills"))
    if form.validate_on_submit():
        try:
            starts_at = _local_instant(me, form.day.data, form.start.data)
            session = actions.open_session(
                me,
                starts_at,
                starts_at + timedelta(hours=form.hours.data),
                SessionMode(form.mode.data),
                form.seats.data,
                form.micro_skill_id.data,
                form.note.data or "",
            )
        except Refusal as refusal:
            show_refusal(refusal)
        else:
            flash("Session opened: apprentices who can learn from you can now join it.", "success")
            return redirect(url_for("booking.session", session_id=session.id))
    return render_template("booking/open.html", form=form)


@bp.post("/sessions/open-to-bookings")
@login_required
def toggle_open_to_bookings():
    """A master lets any apprentice who can learn from them book, or only those paired."""
    me = current_person()
    if not me.is_master:
        abort(403)
    rules.set_open_to_bookings(me, open_to_bookings=request.form.get("open") == "1")
    flash(
        "Any apprentice who can learn from you may now book you."
        if me.open_to_bookings
        else "Only apprentices you are paired with may book you now.",
        "success",
    )
    return redirect(url_for("booking.diary"))


# Admin --------------------------------------------------------------------------------------


@bp.route("/admin/booking", methods=["GET", "POST"])
@admin_required
def settings():
    """The organisation's notice period for cancelling or moving a session."""
    form = NoticeForm(
        data={"notice_hours": rules.booking_settings().notice_hours}
        if request.method == "GET"
        else None
    )
    if form.validate_on_submit() and attempt(
        lambda: rules.save_notice_hours(form.notice_hours.data), success="Notice period saved."
    ):
        return redirect(url_for("booking.settings"))
    return render_template("booking/settings.html", form=form)
