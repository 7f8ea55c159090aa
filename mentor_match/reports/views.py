"""Admin reports: every table for a period on one page, and each as a CSV download."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, abort, render_template, request

from ..pages import current_person
from ..security import admin_required
from . import services
from .learning_time import learning_time_report, learning_time_table
from .period import PeriodChoice, choose_period
from .tables import csv_bytes, csv_filename

bp = Blueprint("reports", __name__)


def _period_asked() -> PeriodChoice:
    """The period in ``?from=&to=``, read in the admin's own months."""
    today = datetime.now(current_person().zone).date()
    return choose_period(request.args.get("from"), request.args.get("to"), today)


@bp.get("/admin/reports")
@admin_required
def index():
    """Every report for the chosen period (the last 12 months by default)."""
    choice = _period_asked()
    return render_template(
        "reports/index.html",
        period=choice.period,
        problem=choice.problem,
        tables=services.all_tables(choice.period, current_person().zone),
    )


@bp.get("/admin/reports/<table>.csv", endpoint="csv")
@admin_required
def download_csv(table: str):
    """One report as a CSV file for a spreadsheet, for the same period as the page."""
    period = _period_asked().period
    report = services.one_table(table, period, current_person().zone)
    if report is None:
        abort(404)
    filename = csv_filename(report, period)
    return Response(
        csv_bytes(report),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/admin/reports/learning-time")
@admin_required
def learning_time():
    """Learning time granted, planned and used by team, site and month, and where it runs out."""
    choice = _period_asked()
    today = datetime.now(current_person().zone).date()
    return render_template(
        "reports/learning_time.html",
        period=choice.period,
        problem=choice.problem,
        report=learning_time_report(choice.period, today),
    )


@bp.get("/admin/reports/learning-time/<table>.csv", endpoint="learning_time_csv")
@admin_required
def learning_time_download(table: str):
    """One learning-time table as a CSV file, for the same period as the page."""
    period = _period_asked().period
    today = datetime.now(current_person().zone).date()
    report = learning_time_table(table, period, today)
    if report is None:
        abort(404)
    return Response(
        csv_bytes(report),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{csv_filename(report, period)}"'},
    )
