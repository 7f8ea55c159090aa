"""A run's live progress in a real browser (issue 24): the elapsed time moves at least once a
second while the run goes on, even when the server is slow to answer, and a run proven
optimal ends at once, long before its time limit."""

import re
import threading
import time

import pytest

from mentor_match.rounds import runs, solving
from mentor_match.rounds.queue import wait_for_background_jobs

from .browser import (
    PHONE,
    log_in,
    new_page,
    overflows_sideways,
    phone_menu_problems,
    serious_accessibility_faults,
)
from .factories import make_admin, make_round, make_small_round_organisation

# It times the page against the server (a change each second): run alone, not beside the
# parallel run on a shared processor.
pytestmark = [pytest.mark.browser, pytest.mark.wall_clock]

# How long the server takes to answer each poll, as on a machine busy solving.
SLOW_ANSWER_SECONDS = 0.4
WATCH_MS = 3_500
TIME_LIMIT = 60

# Records, in the page, when the shown elapsed time changes while the run is running.
WATCH_ELAPSED = """ms => new Promise(resolve => {
  const panel = document.querySelector("#run-progress");
  const elapsed = panel.querySelector("[data-field='elapsed']");
  const status = panel.querySelector("[data-field='status']");
  const changes = [];
  const started = performance.now();
  const observer = new MutationObserver(() => {
    if (status.textContent === "running")
      changes.push([performance.now() - started, elapsed.textContent]);
  });
  observer.observe(elapsed, { childList: true, characterData: true, subtree: true });
  setTimeout(() => { observer.disconnect(); resolve(changes); }, ms);
})"""


@pytest.fixture
def held_solver(monkeypatch):
    """Each run's solver waits at its start until the test sets this event (at most 90 s)."""
    release = threading.Event()
    solve = solving.solve

    def held(*args, **kwargs):
        release.wait(90)
        return solve(*args, **kwargs)

    monkeypatch.setattr(solving, "solve", held)
    yield release
    release.set()
    wait_for_background_jobs(timeout=30)


@pytest.fixture
def slow_answers(monkeypatch):
    """Every look at a run's state takes SLOW_ANSWER_SECONDS longer."""
    run_state = runs.run_state

    def slow(*args, **kwargs):
        time.sleep(SLOW_ANSWER_SECONDS)
        return run_state(*args, **kwargs)

    monkeypatch.setattr(runs, "run_state", slow)


def test_elapsed_moves_at_least_once_a_second_and_a_proven_run_ends_at_once(
    chromium, live_server, held_solver, slow_answers
):
    """The admin runs the round from its page and watches; while the solver is held the run
    stays under way, as a long one would."""
    make_small_round_organisation("Progress HQ")
    admin = make_admin("Ada Admin")
    round_ = make_round()
    context, page = new_page(chromium)
    try:
        log_in(page, live_server, admin)
        page.goto(f"{live_server}/admin/rounds/{round_.month}")
        page.get_by_label("Time limit (seconds)").fill(str(TIME_LIMIT))
        page.get_by_role("button", name="Run round").click()
        status = page.locator("#run-progress [data-field='status']")
        page.wait_for_function(
            "() => document.querySelector(\"#run-progress [data-field='status']\")"
            '.textContent === "running"'
        )

        changes = page.evaluate(WATCH_ELAPSED, WATCH_MS)
        assert status.inner_text() == "running"
        moments = [0.0, *(at for at, _ in changes), WATCH_MS]
        gaps = [later - earlier for earlier, later in zip(moments, moments[1:], strict=False)]
        assert max(gaps) < 1_000, changes
        shown = [float(text) for _, text in changes]
        assert shown == sorted(shown), changes
        # It moved with the clock: about the 3.5 s watched, never past the time limit.
        assert 2.5 <= shown[-1] - shown[0] <= 4.5, changes
        assert shown[-1] < TIME_LIMIT
        assert serious_accessibility_faults(page) == []
        _check_the_panel_on_a_phone(chromium, live_server, admin, round_.month)

        # Released, the solver proves this small round optimal in moments: the run ends and
        # the page shows its review long before the 60 s limit.
        released = time.monotonic()
        held_solver.set()
        page.wait_for_url(re.compile(rf"/admin/rounds/{round_.month}/runs/\d+$"), timeout=20_000)
        assert time.monotonic() - released < 20
        figures = page.locator(".figures").first.inner_text()
        assert "Gap\n0.0%" in figures, figures
    finally:
        context.close()


def _check_the_panel_on_a_phone(chromium, live_server, admin, month):
    """The round page with the run under way, at 375 px: axe finds nothing serious, and
    nothing scrolls sideways."""
    context, page = new_page(chromium, PHONE)
    try:
        log_in(page, live_server, admin)
        page.goto(f"{live_server}/admin/rounds/{month}")
        assert page.locator("#run-progress [data-field='status']").inner_text() == "running"
        assert not overflows_sideways(page)
        assert phone_menu_problems(page) == []
        assert serious_accessibility_faults(page) == []
    finally:
        context.close()
