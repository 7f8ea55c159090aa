"""Pages after a session: confirm attendance, dispute, observe, rate, practise, settle."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from ..extensions import db
from ..models import Attendance, PracticeAttempt, SessionObserver
from ..pages import attempt, current_person, flash_form_errors
from ..security import admin_required
from . import services
from .forms import (
    AttendanceForm,
    DisputeForm,
    ObservationForm,
    PracticeForm,
    RatingForm,
    ResolveForm,
)

bp = Blueprint("tracking", __name__)


@dataclass(frozen=True)
class RejectedMinutes:
    """Minutes typed into one row's form and refused: the row shows them again, as typed,
    with the reason (a row's form holds one number, so there is no other field to keep)."""

    row_id: int
    typed: str
    problem: str

    @classmethod
    def of(cls, row_id: int, form: AttendanceForm | ResolveForm) -> RejectedMinutes | None:
        """The refusal of the form's minutes, or None when the fault lies elsewhere."""
        if not form.minutes.errors:
            return None
        problems = dict.fromkeys(form.minutes.errors)  # "not a number" and "out of range" agree
        return cls(row_id, (form.minutes.raw_data or [""])[0], " ".join(problems))


def _hosted_seat(seat_id: int) -> SessionObserver:
    seat = db.session.get(SessionObserver, seat_id)
    if seat is None or seat.session.master_id != current_user.id:
        abort(404)
    return seat


def _own_seat(seat_id: int) -> SessionObserver:
    seat = db.session.get(SessionObserver, seat_id)
    if seat is None or seat.apprentice_id != current_user.id:
        abort(404)
    return seat


def _back_to(seat: SessionObserver):
    return redirect(url_for("booking.session", session_id=seat.session_id))


# The master confirms ---------------------------------------------------------------------------


@bp.route("/sessions/to-confirm")
@login_required
def to_confirm():
    """Finished sessions whose observers the master has not confirmed: hours wait for this."""
    if not current_user.is_master:
        abort(403)
    return _to_confirm_page()


def _to_confirm_page(rejected: RejectedMinutes | None = None):
    return render_template(
        "tracking/to_confirm.html",
        seats=services.seats_to_confirm(current_person()),
        form=AttendanceForm(),
        rejected=rejected,
    )


@bp.post("/seats/<int:seat_id>/attendance")
@login_required
def confirm_attendance(seat_id: int):
    seat = _hosted_seat(seat_id)
    form = AttendanceForm()
    if not form.validate_on_submit():
        rejected = RejectedMinutes.of(seat.id, form)
        if rejected is not None:
            return _to_confirm_page(rejected)
        flash_form_errors(form)
    else:
        attempt(
            lambda: services.confirm_attendance(current_person(), seat, form.minutes.data),
            success=f"Confirmed {form.minutes.data} minutes for {seat.apprentice.name}.",
        )
    return redirect(url_for("tracking.to_confirm"))


# The apprentice records -----------------------------------------------------------------------


@bp.post("/seats/<int:seat_id>/dispute")
@login_required
def dispute(seat_id: int):
    seat = _own_seat(seat_id)
    form = DisputeForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
    else:
        attempt(
            lambda: services.dispute(current_person(), seat, form.reason.data),
            success="Disputed: an admin will look at it and tell you both.",
        )
    return _back_to(seat)


@bp.post("/seats/<int:seat_id>/observation")
@login_required
def observation(seat_id: int):
    seat = _own_seat(seat_id)
    form = ObservationForm()
    form.micro_skills.choices = _skill_choices()
    if not form.validate_on_submit():
        flash_form_errors(form)
    else:
        attempt(
            lambda: services.save_observation(
                current_person(), seat, form.notes.data or "", form.micro_skills.data or []
            ),
            success="Your observation notes are saved.",
        )
    return _back_to(seat)


def _skill_choices() -> list[SelectChoice]:
    return [SelectChoice(skill.id, skill.full_name) for skill in services.micro_skills()]


@bp.post("/seats/<int:seat_id>/rating")
@login_required
def rate_session(seat_id: int):
    seat = _own_seat(seat_id)
    form = RatingForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
    else:
        attempt(
            lambda: services.rate_session(
                current_person(), seat, form.rating.data, form.note.data or ""
            ),
            success="Thank you: the master sees your rating; nobody else does.",
        )
    return _back_to(seat)


# Practice ---------------------------------------------------------------------------------------


@bp.route("/practice", methods=["GET", "POST"])
@login_required
def practice():
    """Log a practice attempt for a master to rate, and see the ratings you got."""
    me = current_person()
    skills = services.developing_skills(me)
    form = PracticeForm()
    form.micro_skill_id.choices = [SelectChoice(s.id, s.full_name) for s in skills]
    masters = {m.id: m for s in skills for m in services.masters_for(s.id, me)}
    form.master_id.choices = [
        SelectChoice(m.id, m.name) for m in sorted(masters.values(), key=lambda m: m.name)
    ]
    if (
        skills
        and form.validate_on_submit()
        and attempt(
            lambda: services.log_practice(
                me,
                form.micro_skill_id.data,
                form.master_id.data,
                form.practised_on.data,
                form.description.data,
            ),
            success="Logged: the master has been asked to rate it.",
        )
    ):
        return redirect(url_for("tracking.practice"))
    return render_template(
        "tracking/practice.html", form=form, skills=skills, attempts=services.attempts_of(me)
    )


@bp.route("/practice/to-rate")
@login_required
def to_rate():
    if not current_user.is_master:
        abort(403)
    return _to_rate_page()


def _to_rate_page(refused: PracticeAttempt | None = None, form: RatingForm | None = None):
    """The practice a master is asked to rate; a refused form shows its errors at its attempt."""
    return render_template(
        "tracking/to_rate.html",
        attempts=services.attempts_to_rate(current_person()),
        refused=refused,
        form=form or RatingForm(),
    )


@bp.post("/practice/<int:attempt_id>/feedback")
@login_required
def rate_practice(attempt_id: int):
    practice_attempt = db.session.get(PracticeAttempt, attempt_id)
    if practice_attempt is None or practice_attempt.master_id != current_user.id:
        abort(404)
    form = RatingForm()
    if not form.validate_on_submit():
        # Beside the field it is about, on the attempt it is for, with the note kept.
        return _to_rate_page(practice_attempt, form)
    attempt(
        lambda: services.rate_practice(
            current_person(), practice_attempt, form.rating.data, form.note.data or ""
        ),
        success=f"Your feedback is with {practice_attempt.apprentice.name}.",
    )
    return redirect(url_for("tracking.to_rate"))


# Admin: disputes --------------------------------------------------------------------------------


@bp.route("/admin/disputes")
@admin_required
def disputes():
    return _disputes_page()


def _disputes_page(rejected: RejectedMinutes | None = None):
    return render_template(
        "tracking/disputes.html",
        disputes=services.open_disputes(),
        form=ResolveForm(),
        rejected=rejected,
    )


@bp.post("/admin/disputes/<int:attendance_id>")
@admin_required
def resolve(attendance_id: int):
    attendance = db.session.get(Attendance, attendance_id)
    if attendance is None:
        abort(404)
    form = ResolveForm()
    if not form.validate_on_submit():
        rejected = RejectedMinutes.of(attendance.id, form)
        if rejected is not None:
            return _disputes_page(rejected)
        flash_form_errors(form)
    else:
        attempt(
            lambda: services.resolve_dispute(current_person(), attendance, form.minutes.data),
            success="Settled; both sides were told.",
        )
    return redirect(url_for("tracking.disputes"))
