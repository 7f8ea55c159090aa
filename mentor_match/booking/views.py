"""Booking pages: find a master, book, join, open, move and cancel sessions, see your diary."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from ..availability.expansion import Month, MonthError, local_time_kind, to_utc
from ..extensions import db
from ..models import Person, SessionMode, ShadowingSession
from ..security import admin_required
from ..stages.hosting import hosted_skills
from . import services
from .forms import BookForm, MoveSessionForm, NoticeForm, OpenSessionForm

bp = Blueprint("booking", __name__)


def _me() -> Person:
    return current_user._get_current_object()


def _month_arg(person: Person) -> Month:
    try:
        return (
            Month.parse(request.args["month"])
            if request.args.get("month")
            else Month.containing(datetime.now(UTC).astimezone(person.zone).date())
        )
    except MonthError:
        abort(404)


def _refused(refusal: services.BookingRefusal) -> None:
    db.session.rollback()
    flash(str(refusal), "error")


def _session_or_404(session_id: int) -> ShadowingSession:
    """A session the signed-in person hosts or holds a live seat in; anyone else gets 404."""
    session = db.session.get(ShadowingSession, session_id)
    if session is None:
        abort(404)
    me = _me()
    # A cancelled seat leaves the session: its page (and video call) goes, as its .ics does.
    if session.master_id != me.id and services.participant_seat(me, session) is None:
        abort(404)
    return session


def _local_instant(person: Person, day, quarter: int) -> datetime:
    """The UTC instant of a local day and quarter-hour, refusing a time the clocks skip."""
    at = time(quarter // 4, (quarter % 4) * 15)
    if local_time_kind(day, at, person.zone) == "missing":
        raise services.BookingRefusal(
            f"{at:%H:%M} does not exist on {day:%d %b %Y} in {person.timezone} (the clocks change); "
            "choose another time."
        )
    return to_utc(day, at, person.zone)


# Diary --------------------------------------------------------------------------------------


@bp.route("/sessions")
@login_required
def diary():
    """Upcoming sessions as a list, or a month calendar with ?view=month."""
    me = _me()
    if request.args.get("view") == "month":
        month = _month_arg(me)
        return render_template(
            "booking/month.html",
            month=month,
            by_day=services.month_diary(me, month),
            weeks=_weeks(month),
        )
    return render_template(
        "booking/diary.html", items=services.upcoming(me), open_to_bookings=me.open_to_bookings
    )


def _weeks(month: Month) -> list[list]:
    """The month's days in weeks from Monday, with None for days outside it."""
    days = month.days
    lead = [None] * days[0].weekday()
    cells = lead + list(days)
    cells += [None] * (-len(cells) % 7)
    return [cells[i : i + 7] for i in range(0, len(cells), 7)]


@bp.route("/sessions/<int:session_id>")
@login_required
def session(session_id: int):
    session = _session_or_404(session_id)
    me = _me()
    from ..calendars.services import video_url
    from ..tracking.services import after_session

    after = after_session(me, session)
    return render_template(
        "booking/session.html",
        session=session,
        seat=services.participant_seat(me, session),
        hosting=session.master_id == me.id,
        video_url=video_url(session),
        notice_hours=services.booking_settings().notice_hours,
        after=after,
        skill_choices=_skills() if after.seat else [],
    )


def _skills():
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from ..models import MicroSkill

    return sorted(
        db.session.scalars(select(MicroSkill).options(selectinload(MicroSkill.area))),
        key=lambda skill: skill.full_name,
    )


@bp.post("/sessions/<int:session_id>/cancel")
@login_required
def cancel(session_id: int):
    session = _session_or_404(session_id)
    me = _me()
    try:
        if session.master_id == me.id:
            told = services.cancel_session(me, session)
            flash(
                f"Session cancelled; {told} observer{'s were' if told != 1 else ' was'} told.",
                "success",
            )
        else:
            seat = services.participant_seat(me, session)
            if seat is None:
                raise services.BookingRefusal("You have no seat in this session.")
            services.cancel_seat(me, seat)
            flash("Your seat is cancelled and the master was told.", "success")
    except services.BookingRefusal as refusal:
        _refused(refusal)
        return redirect(url_for("booking.session", session_id=session_id))
    return redirect(url_for("booking.diary"))


@bp.route("/sessions/<int:session_id>/move", methods=["GET", "POST"])
@login_required
def move(session_id: int):
    """The master moves the whole session; an apprentice moves their seat to another slot."""
    session = _session_or_404(session_id)
    me = _me()
    if session.master_id == me.id:
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
        if form.validate_on_submit():
            try:
                starts_at = _local_instant(me, form.day.data, form.start.data)
                services.reschedule_session(
                    me, session, starts_at, starts_at + timedelta(hours=form.hours.data)
                )
            except services.BookingRefusal as refusal:
                _refused(refusal)
            else:
                flash("Session moved; every observer was told.", "success")
                return redirect(url_for("booking.session", session_id=session.id))
        return render_template("booking/move_session.html", session=session, form=form)
    seat = services.participant_seat(me, session)
    if seat is None:
        abort(404)
    month = _month_arg(me)
    form = BookForm()
    if form.validate_on_submit():
        starts_at = form.starts_at.instant
        try:
            moved = services.reschedule_seat(
                me,
                seat,
                starts_at,
                starts_at + timedelta(hours=form.hours.data),
                SessionMode(form.mode.data),
            )
        except services.BookingRefusal as refusal:
            _refused(refusal)
        else:
            flash("Moved: the master was told.", "success")
            return redirect(url_for("booking.session", session_id=moved.session_id))
    return render_template(
        "booking/slots.html",
        master=session.master,
        month=month,
        form=form,
        moving=session,
        days=_slots_by_day(
            services.open_slots(session.master, me, month, exclude_seat=seat.id), me
        ),
        lengths=services.grid_between(session.master, me, month).lengths(
            services.MAX_SESSION_HOURS
        ),
    )


# Booking ------------------------------------------------------------------------------------


@bp.route("/book")
@login_required
def book():
    """Masters the apprentice may book, and sessions masters opened to join."""
    me = _me()
    return render_template(
        "booking/book.html",
        choices=services.bookable_masters(me),
        open_sessions=services.open_sessions_to_join(me),
    )


def _slots_by_day(slots, person: Person) -> list[tuple]:
    days: dict = {}
    for slot in slots:
        days.setdefault(slot.starts_at.astimezone(person.zone).date(), []).append(slot)
    return sorted(days.items())


@bp.route("/book/<int:master_id>", methods=["GET", "POST"])
@login_required
def book_master(master_id: int):
    """A master's open times this month in your zone, with seats in the room and on video."""
    me = _me()
    master = services.master_to_book(master_id)
    if master is None or not master.active or not master.is_master:
        abort(404)
    month = _month_arg(me)
    form = BookForm()
    if form.validate_on_submit():
        starts_at = form.starts_at.instant
        try:
            seat = services.book(
                me,
                master,
                starts_at,
                starts_at + timedelta(hours=form.hours.data),
                SessionMode(form.mode.data),
            )
        except services.BookingRefusal as refusal:
            _refused(refusal)
        else:
            flash(f"Booked: {master.name} has been told.", "success")
            return redirect(url_for("booking.session", session_id=seat.session_id))
    try:
        skills = services._may_book(me, master, joining_open_session=False)
    except services.BookingRefusal as refusal:
        # Not a matter of access: the page says why and what to do about it.
        return render_template(
            "booking/slots.html",
            master=master,
            month=month,
            form=form,
            refusal=str(refusal),
            days=[],
            skills=[],
            moving=None,
            lengths=[],
        )
    return render_template(
        "booking/slots.html",
        master=master,
        month=month,
        form=form,
        skills=skills,
        moving=None,
        days=_slots_by_day(services.open_slots(master, me, month), me),
        lengths=services.grid_between(master, me, month).lengths(services.MAX_SESSION_HOURS),
    )


@bp.post("/sessions/<int:session_id>/join")
@login_required
def join(session_id: int):
    session = db.session.get(ShadowingSession, session_id)
    if session is None or session.cancelled_at is not None:
        abort(404)
    try:
        services.join(_me(), session)
    except services.BookingRefusal as refusal:
        _refused(refusal)
        return redirect(url_for("booking.book"))
    flash(f"You have a seat in {session.master.name}'s session.", "success")
    return redirect(url_for("booking.session", session_id=session.id))


@bp.route("/sessions/open", methods=["GET", "POST"])
@login_required
def open_session():
    """A master opens a session of their own for observers to join."""
    me = _me()
    if not me.is_master:
        abort(403)
    form = OpenSessionForm()
    form.micro_skill_id.choices = [
        SelectChoice(ps.micro_skill_id, ps.micro_skill.full_name) for ps in hosted_skills(me)
    ]
    if not form.micro_skill_id.choices:
        flash(services.NOTHING_HOSTED, "error")
        return redirect(url_for("profiles.skills"))
    if form.validate_on_submit():
        try:
            starts_at = _local_instant(me, form.day.data, form.start.data)
            session = services.open_session(
                me,
                starts_at,
                starts_at + timedelta(hours=form.hours.data),
                SessionMode(form.mode.data),
                form.seats.data,
                form.micro_skill_id.data,
                form.note.data or "",
            )
        except services.BookingRefusal as refusal:
            _refused(refusal)
        else:
            flash("Session opened: apprentices who can learn from you can now join it.", "success")
            return redirect(url_for("booking.session", session_id=session.id))
    return render_template("booking/open.html", form=form)


@bp.post("/sessions/open-to-bookings")
@login_required
def toggle_open_to_bookings():
    me = _me()
    if not me.is_master:
        abort(403)
    me.open_to_bookings = request.form.get("open") == "1"
    db.session.commit()
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
    form = NoticeForm(
        data={"notice_hours": services.booking_settings().notice_hours}
        if request.method == "GET"
        else None
    )
    if form.validate_on_submit():
        try:
            services.save_notice_hours(form.notice_hours.data)
        except services.BookingRefusal as refusal:
            _refused(refusal)
        else:
            flash("Notice period saved.", "success")
            return redirect(url_for("booking.settings"))
    return render_template("booking/settings.html", form=form)
