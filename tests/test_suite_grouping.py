"""`make test` keeps a module's tests in one xdist worker when they share a module-scoped set-up
(tests/conftest.py groups them for --dist loadgroup). When grouping silently stopped, as with
pytest 9.2 and pytest-xdist 3.8, every worker started the scale-out and production stacks
again. This runs a small module of that kind in two workers and checks one ran it all."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.database_independent

REPO_ROOT = Path(__file__).resolve().parent.parent
# Most of its tests share a solved round, a module-scoped fixture; the others go anywhere.
GROUPED_MODULE = "tests/test_round_check.py"


def test_a_module_sharing_its_set_up_runs_in_one_worker(tmp_path):
    # The inner run is not a worker of this one, and its workers must not take this run's
    # databases: SQLite files of their own, and Redis databases no other run of the suite
    # uses (the inner workers touch none anyway). On PostgreSQL, its workers would drop the
    # schema of this run's own (test_gw0, test_gw1).
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("PYTEST_") and name != "TEST_DATABASE_URL"
    }
    environment["TEST_REDIS_URL"] = "redis://127.0.0.1:6379/14"
    finished = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2"]
        + ["--dist", "loadgroup", "-v", "--basetemp", str(tmp_path), GROUPED_MODULE],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stdout[-3000:]
    # xdist names a grouped test with its group after an @.
    grouped = re.findall(
        rf"^\[(gw\d+)\] .* PASSED {GROUPED_MODULE}::\S+@{GROUPED_MODULE}",
        finished.stdout,
        re.MULTILINE,
    )
    assert len(grouped) >= 2, f"no test ran as one of a group:\n{finished.stdout[-3000:]}"
    assert set(grouped) == {grouped[0]}, f"the module's tests ran in {sorted(set(grouped))}"
